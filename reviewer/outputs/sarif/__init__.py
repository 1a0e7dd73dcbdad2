"""SARIF 2.1.0 output, shaped for GitHub code scanning.

One run per file (GitHub rejects two runs with the same category in one upload), one rule per
finding category, one location per result. GitHub's upload limits are enforced here rather than
discovered at upload time (``reporter``). The parts: ``rules`` (rule texts as data, their
descriptors), ``results`` (a finding as a result), ``locations``, ``text`` (message text),
``notifications`` (what was not reviewed, failed or left out), ``log`` (the run around them).
"""

from reviewer.outputs.sarif.notifications import MAX_NOT_REVIEWED_NOTIFICATIONS
from reviewer.outputs.sarif.reporter import (
    GITHUB_MAX_GZIP_BYTES,
    GITHUB_MAX_RESULTS,
    SarifReporter,
    render_sarif,
    to_sarif,
)
from reviewer.outputs.sarif.results import FINGERPRINT_KEY
from reviewer.outputs.sarif.text import MAX_MESSAGE_CHARS

__all__ = [
    "FINGERPRINT_KEY",
    "GITHUB_MAX_GZIP_BYTES",
    "GITHUB_MAX_RESULTS",
    "MAX_MESSAGE_CHARS",
    "MAX_NOT_REVIEWED_NOTIFICATIONS",
    "SarifReporter",
    "render_sarif",
    "to_sarif",
]
