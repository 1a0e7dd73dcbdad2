"""What may be sent at all: the filters' verdicts, secret-by-nature files, then redaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import FileDiff, NotReviewed
from reviewer.prepare.filters import select_files
from reviewer.prepare.redact import is_secret_file, redact_files


@dataclass(frozen=True, slots=True)
class Screened:
    """The files that may go to the model (redacted), and every other one with its reason."""

    files: tuple[FileDiff, ...]
    not_reviewed: tuple[NotReviewed, ...]
    redactions: int = 0


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
    if not settings.redact:
        return Screened(tuple(kept), tuple(not_reviewed))
    redacted, redactions = redact_files(kept)
    return Screened(tuple(redacted), tuple(not_reviewed), redactions)
