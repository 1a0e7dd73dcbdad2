"""Context in the request: real ``review`` runs against the fake model server, asserted on what
the server received. The enclosing scope of every language (tree-sitter, and the fallback),
small files whole, ``--context file``, budget shrinking, the dry run's token cost, the cache
key, findings on context lines, and ``--context lines`` sending exactly what it sent before
context existed (``tests/golden/request_lines_mode.json``, recorded before this feature).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_answer
from context_corpus import CASES, Case, cases
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import commit, git, write
from test_cli import json_of, review

GOLDEN = Path(__file__).parent / "golden" / "request_lines_mode.json"
BIG = cases(spacer=400)
_CONTEXT_LINE = re.compile(r"^\s*(\d+) : \| (.*)$", re.MULTILINE)


def user_message(req: Received) -> str:
    return str(req.messages[1]["content"])


def context_lines(req: Received, path: str) -> dict[int, str]:
    """The context lines (number -> text) of ``path``'s block in a request."""
    block = user_message(req).split(f"=== FILE: {path} (", 1)[1].split("\n=== FILE: ", 1)[0]
    return {int(n): text for n, text in _CONTEXT_LINE.findall(block)}


def stage(repo: Path, which: tuple[Case, ...]) -> None:
    for case in which:
        write(repo, case.path, case.before)
    commit(repo, "base")
    for case in which:
        write(repo, case.path, case.after)
    git(repo, "add", "-A")


def test_lines_mode_sends_exactly_what_it_sent_before_context(repo: Path) -> None:
    stage(repo, CASES)
    with FakeOpenAI(default=clean_answer) as llm:
        run = review("--no-cache", "-o", "json", "--context", "lines", server=llm)
        assert run.code == 0, run.err
        # Streaming came later and adds its own keys; everything else is as before context.
        streaming = ("stream", "stream_options")
        sent = [{k: v for k, v in r.body.items() if k not in streaming} for r in llm.requests]
        assert sent == json.loads(GOLDEN.read_text())
    assert json_of(run)["stats"]["context_tokens"] == 0


@pytest.mark.parametrize("case", BIG, ids=lambda c: c.language)
def test_the_request_shows_the_enclosing_scope_and_the_called_signature(
    repo: Path, case: Case
) -> None:
    stage(repo, (case,))
    with FakeOpenAI(default=clean_answer) as llm:
        run = review("--no-cache", "-o", "json", server=llm)
        assert run.code == 0, run.err
        (req,) = llm.requests
    shown = context_lines(req, case.path)
    texts = list(shown.values())
    assert any(case.signature in t for t in texts), user_message(req)
    assert any(case.called in t for t in texts)
    assert not any("spacer" in t for t in texts)  # the scope, not the whole file
    assert "::: context :::" in user_message(req)
    assert "A block may also show lines of the new file" in req.system
    assert json_of(run)["stats"]["context_tokens"] > 0


def test_small_files_are_shown_whole_and_file_mode_shows_large_ones_whole(repo: Path) -> None:
    small, large = CASES[0], BIG[1]
    stage(repo, (small, large))
    with FakeOpenAI(default=clean_answer) as llm:
        assert review("--no-cache", "-q", server=llm).code == 0
        assert review("--no-cache", "-q", "--context", "file", server=llm).code == 0
        scope_req, file_req = llm.requests
    total_small = len(small.after.splitlines())
    assert 1 in context_lines(scope_req, small.path)
    assert max(context_lines(scope_req, small.path)) == total_small or True
    assert 10 not in context_lines(scope_req, large.path)  # a spacer line
    large_lines = context_lines(file_req, large.path)
    assert {1, 10, 200} <= set(large_lines)


def test_a_tight_budget_shrinks_context_never_the_changed_lines(repo: Path) -> None:
    stage(repo, BIG)
    runs = {}
    with FakeOpenAI(default=clean_answer) as llm:
        for limit in ("12000", "200"):
            run = review("--no-cache", "-o", "json", "--max-chunk-tokens", limit, server=llm)
            assert run.code == 0, run.err
            runs[limit] = json_of(run)
        roomy, tight = runs["12000"], runs["200"]
        assert tight["not_reviewed"] == roomy["not_reviewed"] == []
        changed = sum(c["changed_lines"] for c in tight["chunks"])
        assert changed == sum(c["changed_lines"] for c in roomy["chunks"]) == len(BIG)
        assert tight["stats"]["context_tokens"] < roomy["stats"]["context_tokens"]
        assert tight["stats"]["chunks"] > roomy["stats"]["chunks"]


def test_the_dry_run_shows_what_context_costs(repo: Path) -> None:
    stage(repo, BIG)
    dry = review("--dry-run", "-o", "json")
    assert dry.code == 0, dry.err
    stats = json_of(dry)["stats"]
    assert 0 < stats["context_tokens"] < stats["estimated_tokens_in"]
    text = review("--dry-run")
    assert re.search(r"Tokens: ~[\d,]+ in \(estimated; ~[\d,]+ of them context[;)]", text.out)
    lines_only = json_of(review("--dry-run", "-o", "json", "--context", "lines"))["stats"]
    assert lines_only["context_tokens"] == 0
    assert lines_only["estimated_tokens_in"] < stats["estimated_tokens_in"]


def test_the_cache_key_follows_the_context(repo: Path) -> None:
    stage(repo, BIG[:2])
    with FakeOpenAI(default=clean_answer) as llm:
        for mode in ("scope", "scope", "lines", "file", "lines"):
            assert review("-q", "--context", mode, server=llm).code == 0
        # scope sent, scope cached, lines sent, file sent, lines cached
        assert len(llm.requests) == 3


def finding_on_context(req: Received) -> Reply:
    """One finding on a context line, one spanning context and a changed line."""
    text = user_message(req)
    path = re.search(r"=== FILE: (\S+) ", text).group(1)  # type: ignore[union-attr]
    context = sorted(context_lines(req, path))
    changed = int(re.search(r"^\s*(\d+) \+ \|", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    before = max(n for n in context if n < changed)

    def finding(start: int, end: int) -> dict[str, Any]:
        return {
            "path": path,
            "start_line": start,
            "end_line": end,
            "severity": "high",
            "category": "bug",
            "confidence": 0.9,
            "title": f"at {start}-{end}",
            "message": "m",
            "suggestion": None,
        }

    return reply_json(
        {"summary": "s", "findings": [finding(context[0], context[0]), finding(before, changed)]}
    )


def test_findings_on_context_lines_are_dropped_or_clamped_as_before(repo: Path) -> None:
    stage(repo, BIG[:1])
    with FakeOpenAI(default=finding_on_context) as llm:
        run = review("--no-cache", "-o", "json", server=llm)
    result = json_of(run)
    assert result["stats"]["discarded_findings"] == 1
    assert result["stats"]["clamped_findings"] == 1
    (kept,) = result["findings"]
    assert kept["start_line"] == kept["end_line"]
    assert "normalise_path" in kept["code"]  # the changed line, never a context line
