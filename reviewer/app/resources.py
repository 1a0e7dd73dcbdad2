"""The run's longer-lived helpers, built lazily: the store (review cache, shared rate limit,
usage ledger; SQLite, or Redis with ``cache-url``) and the tokenizer (a fully cached review
never loads the encoding; nothing to review opens no store)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reviewer.core.settings import Settings

if TYPE_CHECKING:
    from reviewer.prepare.context.outline import Outliner
    from reviewer.prepare.tokens import Tokenizer
    from reviewer.store.cache import ReviewCache
    from reviewer.store.team import TeamStore


class LazyTokenizer:
    """Loads the encoding on the first count, so runs with nothing to review never pay for it."""

    def __init__(self, model: str, cache_dir: Path | None = None) -> None:
        self._model = model
        self._cache_dir = cache_dir  # where the parsed ranks are kept (skips a ~0.2 s parse)
        self._inner: Any = None
        self._lock = threading.Lock()  # loaded once, also when a warm-up thread gets there first

    def count(self, text: str) -> int:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    from reviewer.prepare.tokens import load_tokenizer

                    self._inner = load_tokenizer(self._model, self._cache_dir)
        return int(self._inner.count(text))

    def count_each(self, texts: Sequence[str]) -> list[int]:
        from reviewer.prepare.measure import count_each

        self.load()
        return count_each(self._inner, texts)

    def load(self) -> None:
        self.count("")

    def estimate(self, text: str) -> int:
        """Exact once the encoding is loaded; until then not worth loading it for."""
        if self._inner is not None:
            return int(self._inner.count(text))
        from reviewer.prepare.measure import approx

        return approx(text)


def cache_dir(settings: Settings) -> Path:
    from reviewer.store.cache import default_cache_dir

    return Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(os.environ)


def warn(message: str) -> None:
    click.echo(f"review: warning: {message}", err=True)


def open_store(settings: Settings, root: Path, environ: Mapping[str, str]) -> TeamStore:
    """The run's store; ``root`` (the repository, or the reviewed directory) names the project
    whose namespace the shared cache uses."""
    from reviewer.source.identity import repository_name
    from reviewer.store.team import TeamStore

    return TeamStore(
        directory=cache_dir(settings),
        url=settings.cache_url,
        namespace=repository_name(root, environ),
        environ=environ,
        warn=warn,
        cache=settings.cache,
    )


def tokenizer_for(model: str, cache: ReviewCache | None) -> Tokenizer:
    """Counts from the cache first: a fully cached review never loads the encoding."""
    if cache is None:
        return LazyTokenizer(model)
    from reviewer.prepare.tokens import encoding_name_for_model
    from reviewer.store.cache import CountingTokenizer

    return CountingTokenizer(
        LazyTokenizer(model, cache.tokenizer_dir), cache, encoding_name_for_model(model)
    )


def outliner_for(cache: ReviewCache | None) -> Outliner | None:
    """Outlines from the cache first: a fully cached review never imports a grammar. None
    without a cache (the pipeline then parses, and a run with nothing to review loads nothing)."""
    if cache is None:
        return None
    from reviewer.prepare.context.outline import ParsingOutliner
    from reviewer.store.cache import CachingOutliner

    return CachingOutliner(ParsingOutliner(), cache)
