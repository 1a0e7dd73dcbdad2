"""Which files go first, and in what batches: the change's files ranked by priority
(``reviewer.prepare.priority``) from their listing alone, then cut into waves that are read,
prepared and sent one after the other.

The first wave is small (``FIRST_WAVE_LINES`` changed lines), so the first request leaves
while the rest is still being read; later waves grow to ``WAVE_LINES`` (at most
``WAVE_FILES`` files) so preparing them costs little per file. A change of up to
``FIRST_WAVE_LINES`` changed lines is one wave: its chunks are packed exactly as if there were
no waves (the cache keeps working as before). Chunks are packed within a wave, and a wave's
files are the next ones in priority order: a re-run of the same change makes the same waves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import FileDiff, FileEntry, RepoRules, added_sample
from reviewer.prepare.priority import FileFacts, PriorityRules, Ranked, rank

FIRST_WAVE_LINES = 4_000
WAVE_LINES = 16_000
WAVE_FILES = 200


@dataclass(frozen=True, slots=True)
class Wave:
    number: int
    paths: tuple[str, ...]  # in priority order


def priority_rules(settings: Settings, rules: RepoRules) -> PriorityRules:
    named = [glob for f in rules.instructions for glob in f.globs]
    named += [pi.glob for pi in settings.path_instructions]
    return PriorityRules(
        priority=settings.priority,
        deprioritize=settings.deprioritize,
        named=tuple(dict.fromkeys(named)),
    )


def rank_entries(entries: Sequence[FileEntry], rules: PriorityRules) -> list[Ranked]:
    facts = [
        FileFacts(
            path=e.path,
            changed_lines=e.changed_lines,
            added_text=e.sample,
            sensitive=e.sensitive,
        )
        for e in entries
    ]
    return rank(facts, rules)


def rescore(
    files: Sequence[FileDiff], entries: Mapping[str, FileEntry], rules: PriorityRules
) -> dict[str, float]:
    """A loaded wave's scores, now with what its added lines say (a lazy listing has only the
    paths, the counts and git's search)."""
    facts = []
    for f in files:
        entry = entries.get(f.path)
        facts.append(
            FileFacts(
                path=f.path,
                changed_lines=f.added_lines + f.removed_lines,
                added_text=added_sample(f),
                sensitive=entry.sensitive if entry is not None else None,
            )
        )
    return {r.path: r.score for r in rank(facts, rules)}


def waves(ranked: Sequence[Ranked], entries: Sequence[FileEntry]) -> Iterator[Wave]:
    lines = {e.path: e.changed_lines for e in entries}
    limit, number = FIRST_WAVE_LINES, 0
    batch: list[str] = []
    size = 0
    for item in ranked:
        batch.append(item.path)
        size += lines.get(item.path, 0)
        if size >= limit or len(batch) >= WAVE_FILES:
            yield Wave(number, tuple(batch))
            number += 1
            batch, size, limit = [], 0, WAVE_LINES
    if batch:
        yield Wave(number, tuple(batch))
