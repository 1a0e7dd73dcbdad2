"""What may be sent at all: the filters' verdicts, secret-by-nature files, then redaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import FileDiff, NotReviewed, RedactionSite
from reviewer.prepare.filters import select_files
from reviewer.prepare.redact.files import is_secret_file


@dataclass(frozen=True, slots=True)
class Screened:
    """The files that may go to the model (redacted), every other one with its reason, and
    where values were redacted (path, line, family, kind; never the value)."""

    files: tuple[FileDiff, ...]
    not_reviewed: tuple[NotReviewed, ...]
    redactions: int = 0  # secrets and personal data
    sites: tuple[RedactionSite, ...] = ()

    @property
    def redactions_pii(self) -> int:
        return sum(1 for s in self.sites if s.kind == "pii")

    @property
    def redactions_by_family(self) -> dict[str, int]:
        return dict(sorted(Counter(s.family for s in self.sites).items()))


def screen_files(files: Sequence[FileDiff], settings: Settings) -> Screened:
    kept_by_filters, skipped = select_files(files, settings)
    kept: list[FileDiff] = []
    not_reviewed = list(skipped)
    for fd in kept_by_filters:
        if is_secret_file(fd.path):
            not_reviewed.append(
                NotReviewed(path=fd.path, reason="secret-file", detail="never sent to the model")
            )
        else:
            kept.append(fd)
    if not settings.redact or not kept:
        return Screened(tuple(kept), tuple(not_reviewed))
    # Loaded here: a run with nothing to send never compiles the rules.
    from reviewer.prepare.redact.diffs import redact_changes

    redacted = redact_changes(kept, pii=settings.redact_pii)
    return Screened(redacted.files, tuple(not_reviewed), len(redacted.sites), redacted.sites)
