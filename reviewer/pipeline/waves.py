"""Which files go first, and in what batches: the change's files ranked by priority
(``reviewer.prepare.priority``) from their listing alone, then cut into waves that are read,
prepared and sent one after the other.

A change of up to ``ONE_WAVE_LINES`` changed lines is one wave: its chunks are packed exactly
as if there were no waves. A larger change starts with a small wave (``FIRST_WAVE_LINES``), so
the first request leaves while the rest is still being read; later waves grow four-fold up to
``WAVE_LINES`` (at most ``WAVE_FILES`` files), so preparing them costs little per file. Chunks
are packed within a wave, and a wave's files are the next ones in priority order: a re-run of
the same change makes the same waves (and hits the cache).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import FileDiff, FileEntry, RepoRules, added_sample
from reviewer.prepare.priority import FileFacts, PriorityRules, Ranked, rank

ONE_WAVE_LINES = 1_500
FIRST_WAVE_LINES = 200
WAVE_LINES = 8_000
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


class Waves:
    """The change's files in waves of growing size, highest priority first. A large change's
    ranking can be refined while it is reviewed (``rerank``, once git's search for sensitive
    lines is done): the files not yet taken are ranked again."""

    def __init__(self, entries: Sequence[FileEntry], rules: PriorityRules) -> None:
        self._entries = {e.path: e for e in entries}
        self._rules = rules
        self._remaining = [r.path for r in rank_entries(entries, rules)]
        self.whole = sum(e.changed_lines for e in entries) <= ONE_WAVE_LINES
        self._limit = ONE_WAVE_LINES if self.whole else FIRST_WAVE_LINES
        self._number = 0

    def __iter__(self) -> Iterator[Wave]:
        return self

    def __next__(self) -> Wave:
        if not self._remaining:
            raise StopIteration
        if self.whole:
            batch, self._remaining = self._remaining, []
        else:
            size, taken = 0, 0
            for path in self._remaining:
                taken += 1
                size += self._entries[path].changed_lines
                if size >= self._limit or taken >= WAVE_FILES:
                    break
            batch, self._remaining = self._remaining[:taken], self._remaining[taken:]
            self._limit = min(WAVE_LINES, 4 * self._limit)
        wave = Wave(self._number, tuple(batch))
        self._number += 1
        return wave

    def rerank(self, sensitive: frozenset[str]) -> None:
        marked = [
            e.model_copy(update={"sensitive": "changed lines"}) if e.path in sensitive else e
            for e in (self._entries[p] for p in self._remaining)
        ]
        self._remaining = [r.path for r in rank_entries(marked, self._rules)]
