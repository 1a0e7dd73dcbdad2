from __future__ import annotations

import hashlib
import re

import pytest
from fake_github import make_finding, make_result

from reviewer.core.values import ChunkFailure, NotReviewed
from reviewer.outputs.github.markdown import (
    SUMMARY_MARKER,
    ZWSP,
    code_span,
    fence_for,
    fingerprint_in,
    fingerprint_marker,
    head_in,
    inline_body,
    is_summary,
    safe_fingerprint,
    sanitize,
    table_cell,
)
from reviewer.outputs.github.summary import diff_link, render_summary
from reviewer.outputs.github_summary import GitHubReporter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text stays", "plain text stays"),
        ("ping @octocat now", f"ping @{ZWSP}octocat now"),
        ("team @org/security", f"team @{ZWSP}org/security"),
        ("mail a@b.com", f"mail a@{ZWSP}b.com"),
        ("see #123", f"see #{ZWSP}123"),
        ("C# and # heading", "C# and # heading"),
        ("Vec<String> & co", "Vec&lt;String> &amp; co"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)>"),
        ("<!-- reviewer:fp=deadbeef -->", "&lt;!-- reviewer:fp=deadbeef -->"),
        ("&#64;user", f"&amp;#{ZWSP}64;user"),
        ("go to https://evil.example/x now", "go to `https://evil.example/x` now"),
        ("www.evil.example", "`www.evil.example`"),
        ("(see http://x.example/a_(b).)", "(see `http://x.example/a_(b)`.)"),
        ("[click](https://evil.example)", "\\[click\\](`https://evil.example`)"),
        ("![px](http://t.example/p.png)", "!\\[px\\](`http://t.example/p.png`)"),
        # code spans are verbatim: nothing inside them renders or notifies
        ("call `a<b> @x` here", "call `a<b> @x` here"),
        ("``a ` b`` <i>", "``a ` b`` &lt;i>"),
        # an unmatched backtick is escaped so it cannot pair with a later one of ours
        ("half ` open <b>", "half \\` open &lt;b>"),
        # an escaped backtick opens nothing, so the "span" after it is escaped text
        ("\\`<b>`", "\\`&lt;b>\\`"),
        # a lone backslash cannot escape the backtick of the code span we add for a URL
        ("\\https://x.example", "\\\\`https://x.example`"),
        ("\\@user", f"\\@{ZWSP}user"),
        ("a\\[b", "a\\[b"),
    ],
)
def test_sanitize(text: str, expected: str) -> None:
    assert sanitize(text) == expected


def test_sanitize_keeps_fenced_code_verbatim() -> None:
    text = "Use this:\n```python\nx = a<b> @me\n```\nthen @you"
    assert sanitize(text) == f"Use this:\n```python\nx = a<b> @me\n```\nthen @{ZWSP}you"


def test_sanitize_closes_a_fence_left_open() -> None:
    out = sanitize("look:\n~~~~\ncode <b>")
    assert out == "look:\n~~~~\ncode <b>\n~~~~"


def test_sanitize_fence_info_string_is_cleaned() -> None:
    assert sanitize("```py <script>\nx\n```").splitlines()[0] == "```py"


def test_sanitize_normalises_line_endings() -> None:
    assert sanitize("a\r\nb\rc") == "a\nb\nc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("src/a.py", "`src/a.py`"),
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("two\nlines", "`two lines`"),
    ],
)
def test_code_span(text: str, expected: str) -> None:
    assert code_span(text) == expected


def test_table_cell_escapes_pipes_and_newlines() -> None:
    assert table_cell("a | b\nc") == "a \\| b c"


@pytest.mark.parametrize(
    ("text", "fence"), [("x", "```"), ("a ``` b", "````"), ("``````", "```````")]
)
def test_fence_is_longer_than_any_backtick_run(text: str, fence: str) -> None:
    assert fence_for(text) == fence


def test_markers_round_trip_and_only_at_the_start() -> None:
    body = fingerprint_marker("0123abcd") + "\nhello"
    assert fingerprint_in(body) == "0123abcd"
    assert fingerprint_in("quoted: " + body) is None
    assert safe_fingerprint("ok-fp_1.2") == "ok-fp_1.2"
    weird = safe_fingerprint("x --> <b>")
    assert re.fullmatch(r"h[0-9a-f]{32}", weird)
    assert fingerprint_in(fingerprint_marker("x --> <b>")) == weird


def test_inline_body_with_suggestion() -> None:
    finding = make_finding(
        "a.py",
        3,
        4,
        title="Off by one @admin",
        message="Loop <stops> early",
        suggestion="for i in range(n + 1):\n    ```\n",
    )
    body = inline_body(finding, with_suggestion=True, shown=(3, 4))
    lines = body.splitlines()
    assert fingerprint_in(body) == finding.fingerprint
    assert f"Off by one @{ZWSP}admin" in lines[1]
    assert "Loop &lt;stops> early" in body
    start = lines.index("````suggestion")
    assert lines[start + 1 : start + 4] == ["for i in range(n + 1):", "    ```", "````"]
    assert "Applies to lines" not in body


def test_inline_body_narrowed_has_no_suggestion_and_names_lines() -> None:
    finding = make_finding("a.py", 3, 9, suggestion="x = 1")
    body = inline_body(finding, with_suggestion=False, shown=(3, 5))
    assert "suggestion" not in body
    assert "Applies to lines 3-9; shown on 3-5" in body


def test_summary_content() -> None:
    inline = make_finding("src/a.py", 10, 12, severity="critical", title="SQL | injection")
    moved = make_finding("src/b.py", 99, message="Outside @the diff", suggestion="fixed()")
    result = make_result(
        [inline, moved],
        not_reviewed=(NotReviewed(path="poetry.lock", reason="lockfile"),),
        failures=(
            ChunkFailure(
                chunk_id="c1",
                index=2,
                paths=("src/c.py",),
                lines=40,
                kind="timeout",
                message="took <too> long",
            ),
        ),
    )
    link = diff_link("https://github.com/o/r/pull/7", "src/a.py", 12)
    text = render_summary(
        result,
        inline_links={inline.fingerprint: link},
        head_sha="c" * 40,
        incremental_base="d" * 40,
        notes=["1 new inline comments."],
    )
    assert is_summary(text)
    assert head_in(text) is None  # a failed chunk: no baseline for the next incremental run
    assert head_in(render_summary(make_result([]), inline_links={}, head_sha="c" * 40)) == "c" * 40
    assert "## reviewer: 6/10" in text
    assert "incrementally" in text and "`dddddddddddd`" in text
    # severity counts
    assert "| 1 | 1 | 0 | 0 | 0 |" in text
    # the inline one is linked, with its pipe escaped in the table
    assert f"[`src/a.py:10-12`]({link})" in text
    assert "SQL \\| injection" in text
    # the moved one is written out in full, with its suggestion as a plain block
    assert "### Findings not on the diff" in text
    assert f"Outside @{ZWSP}the diff" in text
    assert "```\nfixed()\n```" in text
    assert "`poetry.lock` | lockfile" in text
    assert "timeout: took &lt;too> long" in text
    assert "1,234 tokens in, 56 out" in text and "$0.0012" in text
    assert "Incomplete review" in text


def test_summary_fits_githubs_limit() -> None:
    findings = [make_finding("a.py", i, message="x" * 3000) for i in range(1, 60)]
    text = render_summary(make_result(findings), inline_links={}, head_sha="c" * 40)
    assert len(text) <= 65_000
    assert "more findings, not shown" in text
    assert text.startswith(SUMMARY_MARKER)


def test_diff_link_is_sha256_of_path() -> None:
    digest = hashlib.sha256(b"src/a.py").hexdigest()
    assert diff_link("https://github.com/o/r/pull/1", "src/a.py", 5) == (
        f"https://github.com/o/r/pull/1/files#diff-{digest}R5"
    )


def test_reporter_renders_every_finding_without_markers() -> None:
    f = make_finding("a.py", 1, title="Bad thing")
    reporter = GitHubReporter()
    assert reporter.name == "github"
    text = reporter.render(make_result([f]), color=True)
    assert "<!--" not in text
    assert "### Details" in text
    assert "Bad thing" in text and "This is wrong because of reasons." in text


def test_reporter_clean_result() -> None:
    text = GitHubReporter().render(make_result([]), color=False)
    assert "## reviewer: 10/10" in text
    assert "### Findings" not in text
