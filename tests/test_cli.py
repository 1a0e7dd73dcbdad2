"""Issue 2, end to end through the ``review`` entry point: what is reviewed, what is skipped
and said so, the outputs, the prompt's inputs, and that the API key is never printed.

Real git repositories in temp dirs, the fake OpenAI server on 127.0.0.1 behind the real
``openai`` client, the real entry point (in-process via ``run_cli``; a subprocess only where
the process itself is the subject: ``python -m reviewer``, the console script).

``review()`` below wraps ``run_cli`` and checks every run for the API key (stdout, stderr, and
every file under the working directory and the cache directory); the other CLI-level test
files import it from here.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    TEST_KEY,
    Run,
    chunk_files,
    clean_answer,
    endpoint_env,
    run_cli,
    run_subprocess,
)
from fake_openai import FakeOpenAI
from gitrepo import commit, git, write
from jsonschema import Draft4Validator

from reviewer import __version__

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KEY_BYTES = TEST_KEY.encode()
_KEY_TAIL = TEST_KEY[-12:].encode()


# --------------------------------------------------------------------------- helpers


def _files(*roots: Path) -> dict[Path, tuple[int, int]]:
    """Every file under ``roots`` (outside ``.git``) with its (mtime_ns, size)."""
    found: dict[Path, tuple[int, int]] = {}
    for root in roots:
        if root.is_dir():
            for path in root.rglob("*"):
                if ".git" not in path.relative_to(root).parts and path.is_file():
                    info = path.stat()
                    found[path] = (info.st_mtime_ns, info.st_size)
    return found


def assert_key_not_leaked(
    run: Run, *roots: Path, before: dict[Path, tuple[int, int]] | None = None
) -> None:
    """The API key is in no stream, and in no file under ``roots`` that the run wrote
    (files unchanged since ``before`` are the test's own)."""
    for name, text in (("stdout", run.out), ("stderr", run.err)):
        assert TEST_KEY not in text, f"the API key leaked to {name}"
        # A partial echo ("sk-...456789") would still give the key away.
        assert TEST_KEY[-12:] not in text, f"the API key's tail leaked to {name}"
    for path, signature in _files(*roots).items():
        if before is not None and before.get(path) == signature:
            continue
        data = path.read_bytes()
        assert _KEY_BYTES not in data and _KEY_TAIL not in data, f"the API key leaked to {path}"


def review(*args: str, server: FakeOpenAI | None = None, env: dict[str, str] | None = None) -> Run:
    """``review ARGS`` in-process against ``server`` (key and URL in the environment),
    checked for key leaks in stdout, stderr and the files it wrote (working directory, cache)."""
    full_env = {**(endpoint_env(server) if server else {}), **(env or {})}
    roots = (Path.cwd(), Path(os.environ["XDG_CACHE_HOME"]))
    before = _files(*roots)
    run = run_cli(*args, env=full_env)
    assert_key_not_leaked(run, *roots, before=before)
    return run


def lines(n: int, prefix: str = "x") -> str:
    """``n`` distinct lines of Python."""
    return "".join(f"{prefix}_{i} = {i}\n" for i in range(1, n + 1))


def json_of(run: Run) -> Any:
    assert run.out.lstrip().startswith("{"), run.err or run.out
    return run.json()


def reviewed_paths(server: FakeOpenAI) -> set[str]:
    return {path for req in server.requests for path in chunk_files(req)}


@pytest.fixture
def base(repo: Path) -> Path:
    """``repo`` with one commit of two ten-line files."""
    write(repo, "a.py", lines(10, "a"))
    write(repo, "b.py", lines(10, "b"))
    commit(repo, "base")
    return repo


def change(repo: Path, relpath: str, at: int = 5, text: str = "changed = True\n") -> None:
    """Insert ``text`` after line ``at`` of ``relpath``."""
    path = repo / relpath
    old = path.read_text().splitlines(keepends=True)
    path.write_text("".join(old[:at]) + text + "".join(old[at:]))


# --------------------------------------------------------------------------- what is reviewed


def test_default_reviews_the_staged_changes_only(base: Path, llm: FakeOpenAI) -> None:
    change(base, "a.py")
    git(base, "add", "a.py")
    change(base, "b.py")  # in the work tree, not staged: not part of the review

    for args in ((), ("--staged",)):
        llm.reset().default = clean_answer
        run = review("-o", "json", "--no-cache", *args, server=llm)
        assert run.code == 0, run.err
        result = json_of(run)
        assert result["source"] == "staged changes"
        assert result["reviewed_paths"] == ["a.py"]
        assert [chunk_files(r) for r in llm.requests] == [{"a.py": [6]}]


def test_nothing_staged_says_so_and_exits_0(base: Path, llm: FakeOpenAI) -> None:
    change(base, "a.py")  # unstaged only
    run = review(server=llm)
    assert run.code == 0
    assert "nothing to review in staged changes" in run.err
    assert "Nothing reviewed" in run.out
    assert llm.requests == []


def test_the_first_commit_is_reviewed_against_the_empty_tree(repo: Path, llm: FakeOpenAI) -> None:
    assert review(server=llm).code == 0  # no commit, nothing staged: nothing to review
    assert llm.requests == []
    write(repo, "first.py", lines(3))
    git(repo, "add", "first.py")
    run = review("-o", "json", server=llm)
    assert run.code == 0, run.err
    assert json_of(run)["head_sha"] is None
    assert [chunk_files(r) for r in llm.review_requests] == [{"first.py": [1, 2, 3]}]


def test_base_is_the_merge_base_three_dot_diff(base: Path, llm: FakeOpenAI) -> None:
    git(base, "checkout", "-q", "-b", "feature")
    change(base, "b.py")
    feature = commit(base, "feature work")
    git(base, "checkout", "-q", "main")
    change(base, "a.py")  # main moved on: a two-dot diff would show this (reverted) too
    commit(base, "main work")
    fork_point = git(base, "merge-base", "main", "feature")

    run = review("--base", "main", "--head", "feature", "-o", "json", server=llm)
    assert run.code == 0, run.err
    result = json_of(run)
    assert result["source"] == "main...feature"
    assert (result["base_sha"], result["head_sha"]) == (fork_point, feature)
    assert reviewed_paths(llm) == {"b.py"}
    assert [f["path"] for f in result["findings"]] == ["b.py"]

    # Without --head the head is HEAD.
    git(base, "checkout", "-q", "feature")
    llm.reset().default = clean_answer
    run = review("--base", "main", "-o", "json", "--no-cache", server=llm)
    assert run.code == 0, run.err
    assert json_of(run)["head_sha"] == feature
    assert reviewed_paths(llm) == {"b.py"}


def test_paths_are_reviewed_whole_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI
) -> None:
    plain = tmp_path / "plain"
    write(plain, "x.py", lines(3))
    write(plain, "pkg/y.py", lines(2, "y"))
    monkeypatch.chdir(plain)
    inside = subprocess.run(["git", "rev-parse"], cwd=plain, capture_output=True, check=False)
    assert inside.returncode != 0, "the test needs a directory outside any repository"

    run = review("x.py", "pkg/y.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    result = json_of(run)
    assert result["source"] == "2 files"
    assert [chunk_files(r) for r in llm.review_requests] == [
        {"x.py": [1, 2, 3], "pkg/y.py": [1, 2]}
    ]
    # Every line of a whole file is reviewable: the fake's findings on line 1 are kept.
    assert sorted((f["path"], f["start_line"]) for f in result["findings"]) == [
        ("pkg/y.py", 1),
        ("x.py", 1),
    ]


def test_paths_restrict_staged_and_base_diffs(base: Path, llm: FakeOpenAI) -> None:
    change(base, "a.py")
    change(base, "b.py")
    git(base, "add", "-A")
    llm.default = clean_answer
    run = review("--staged", "b.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    assert json_of(run)["reviewed_paths"] == ["b.py"]
    assert reviewed_paths(llm) == {"b.py"}

    git(base, "checkout", "-q", "-b", "feature")
    commit(base, "both")
    llm.reset().default = clean_answer
    run = review("--base", "main", "a.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    assert json_of(run)["reviewed_paths"] == ["a.py"]
    assert reviewed_paths(llm) == {"a.py"}


# --------------------------------------------------------------------------- skipped files


def _stage_every_kind_of_skip(repo: Path) -> dict[str, str]:
    """Stage one file of each kind the review skips; path -> the expected reason."""
    write(repo, "gone.py", lines(3, "gone"))
    write(repo, "run.sh", "echo hi\n")
    write(repo, "old_name.py", lines(10, "r"))
    write(repo, "keep.py", lines(10, "k"))
    commit(repo, "base")
    sub = commit(repo, "a commit the submodule entry points at")

    git(repo, "rm", "-q", "gone.py")
    (repo / "run.sh").chmod(0o755)
    git(repo, "mv", "old_name.py", "new_name.py")
    change(repo, "new_name.py", at=2, text="renamed_and_changed = 1\n")
    change(repo, "keep.py")
    write(repo, "poetry.lock", "[[package]]\nname = 'x'\n")
    write(repo, "static/app.min.js", "var a=1;\n")
    write(repo, "proto/msg_pb2.py", "x = 1\n")
    write(repo, "vendor/lib.py", "y = 2\n")
    write(repo, "data.bin", b"\x00\x01\x02binary\x00")
    write(repo, "big.py", lines(400, "big"))  # > max-file-bytes below
    write(repo, "docs/notes.py", "z = 3\n")  # excluded by the config's glob
    git(repo, "add", "-A")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub},libs/sub")
    write(repo, ".reviewer.toml", 'exclude = ["docs/**"]\nmax-file-bytes = 2000\n')
    return {
        "gone.py": "deleted",
        "run.sh": "mode-only",
        "poetry.lock": "lockfile",
        "static/app.min.js": "minified",
        "proto/msg_pb2.py": "generated",
        "vendor/lib.py": "vendored",
        "data.bin": "binary",
        "big.py": "too-large",
        "docs/notes.py": "excluded",
        "libs/sub": "submodule",
    }


def test_skipped_files_are_listed_with_their_reason_in_every_output(
    repo: Path, llm: FakeOpenAI
) -> None:
    expected = _stage_every_kind_of_skip(repo)
    run = review("-o", "terminal", "-o", "json=out.json", "-o", "sarif=out.sarif", server=llm)
    assert run.code == 0, run.err

    # Only the two real changes went to the model; the rename under its new path.
    assert [chunk_files(r) for r in llm.review_requests] == [{"new_name.py": [3], "keep.py": [6]}]

    result = json.loads((repo / "out.json").read_text())
    assert {n["path"]: n["reason"] for n in result["not_reviewed"]} == expected
    assert result["reviewed_paths"] == ["keep.py", "new_name.py"]
    assert {f["path"] for f in result["findings"]} == {"keep.py", "new_name.py"}
    assert result["stats"]["files_not_reviewed"] == len(expected)

    listed = run.out.split("Not reviewed (", 1)[1].split("\n\n", 1)[0]
    for path, reason in expected.items():
        assert f"  {path} - {reason}" in listed

    sarif = json.loads((repo / "out.sarif").read_text())
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    in_sarif = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["properties"]["reason"]
        for n in notes
        if n["descriptor"]["id"] == "reviewer/not-reviewed"
    }
    assert in_sarif == expected


def test_include_glob_from_config_leaves_the_rest_not_included(base: Path, llm: FakeOpenAI) -> None:
    write(base, "pyproject.toml", '[tool.reviewer]\ninclude = ["b.py"]\n')
    change(base, "a.py")
    change(base, "b.py")
    git(base, "add", "a.py", "b.py")
    run = review("-o", "json", server=llm)
    assert run.code == 0, run.err
    result = json_of(run)
    assert result["not_reviewed"] == [{"path": "a.py", "reason": "not-included", "detail": ""}]
    assert reviewed_paths(llm) == {"b.py"}


# --------------------------------------------------------------------------- dry run, outputs


def test_dry_run_shows_the_plan_and_sends_nothing(base: Path, llm: FakeOpenAI) -> None:
    change(base, "a.py")
    change(base, "b.py")
    write(base, "yarn.lock", "x\n")
    git(base, "add", "-A")

    run = review("--dry-run", server=llm)
    assert run.code == 0, run.err
    assert "DRY RUN: nothing sent to openai/gpt-4o-mini" in run.out
    assert "Files: 2 to review, 1 not reviewed (3 total)" in run.out
    assert re.search(
        r"^Chunks: 1 \(one request each, and a verification request for each with findings\)$",
        run.out,
        re.M,
    )
    assert re.search(
        r"^Tokens: ~[\d,]+ in \(estimated(; ~[\d,]+ of them context)?; ~[\d,]+ of it for"
        r" verification, assuming half the chunks have findings\)$",
        run.out,
        re.M,
    )
    assert re.search(r"^Estimated cost: \$0\.\d{4}$", run.out, re.M)
    assert re.search(r"^  chunk 0: [\d,]+ tokens, 2 changed lines: a\.py, b\.py$", run.out, re.M)
    assert "  yarn.lock - lockfile" in run.out

    result = json_of(review("--dry-run", "-o", "json", server=llm))
    assert result["dry_run"] is True
    assert result["findings"] == []
    assert [(c["paths"], c["changed_lines"]) for c in result["chunks"]] == [(["a.py", "b.py"], 2)]
    stats = result["stats"]
    assert (
        stats["estimated_tokens_in"]
        == result["chunks"][0]["tokens"] + stats["estimated_verify_tokens_in"]
    )
    assert 0 < stats["estimated_verify_tokens_in"] < result["chunks"][0]["tokens"]
    assert result["stats"]["estimated_cost_usd"] > 0
    assert result["stats"]["requests"] == 0

    # No key needed to look: a dry run never authenticates.
    run = review("--dry-run", env={"REVIEWER_BASE_URL": llm.base_url})
    assert run.code == 0, run.err
    assert llm.requests == []


def test_several_outputs_from_one_model_call_written_atomically(
    base: Path, llm: FakeOpenAI
) -> None:
    change(base, "a.py")
    git(base, "add", "a.py")
    (base / "out.json").write_text("old report\n")
    os.link(base / "out.json", base / "old-link")  # an in-place write would change this too

    run = review(
        "-o", "terminal", "-o", "json=out.json", "-o", "sarif=reports/out.sarif", server=llm
    )
    assert run.code == 0, run.err
    assert len(llm.review_requests) == 1
    assert len(llm.verify_requests) == 1  # its finding, checked

    assert "Review of staged changes by openai/gpt-4o-mini" in run.out
    assert "a.py:6" in run.out
    result = json.loads((base / "out.json").read_text())
    assert [(f["path"], f["start_line"]) for f in result["findings"]] == [("a.py", 6)]
    assert (base / "old-link").read_text() == "old report\n"  # replaced by rename, not rewritten
    sarif = json.loads((base / "reports" / "out.sarif").read_text())
    Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in sarif["runs"][0]["results"]
    ] == [6]
    # No temporary files left next to the reports.
    assert sorted(p.name for p in (base / "reports").iterdir()) == ["out.sarif"]
    assert not [p for p in base.iterdir() if p.name.startswith(".") and p.name != ".git"]


def test_terminal_report_has_a_summary_line_and_no_colour_off_a_tty(
    base: Path, llm: FakeOpenAI
) -> None:
    change(base, "a.py")
    change(base, "b.py")
    write(base, "Cargo.lock", "x\n")
    git(base, "add", "-A")
    run = review(server=llm)
    assert run.code == 0, run.err
    assert not ANSI.search(run.out)
    summary = run.out.rstrip().splitlines()[-1]
    assert re.fullmatch(
        r"3 files \(2 reviewed, 1 not reviewed\) \| 1 chunk \| tokens 200 in / 40 out"
        r" \| cost \$0\.\d{4} \(estimated \$0\.\d{4}\) \| \d+\.\ds \| findings: 2 medium"
        r" \| verified: 2 confirmed",  # the review's request and the verification's
        summary,
    ), summary
    assert "Not reviewed (1)\n  Cargo.lock - lockfile" in run.out
    assert "2 findings: 2 medium" in run.out


class _Terminal(io.StringIO):
    """Captured stdout that says it is a terminal, as a TTY would."""

    def isatty(self) -> bool:
        return True


def _review_on_a_tty(*args: str, env: dict[str, str]) -> str:
    """``review ARGS`` in-process with stdout on a (pretend) terminal; what it printed."""
    from reviewer.cli import main

    out, err = _Terminal(), io.StringIO()
    saved_argv, saved_env = sys.argv, dict(os.environ)
    sys.argv = ["review", *args]
    os.environ.update(env)
    try:
        with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    assert exited.value.code == 0, err.getvalue()
    assert_key_not_leaked(Run(code=0, out=out.getvalue(), err=err.getvalue()))
    return out.getvalue()


def test_colour_only_on_a_tty_and_never_with_no_color(base: Path, llm: FakeOpenAI) -> None:
    change(base, "a.py")
    git(base, "add", "a.py")
    env = {**endpoint_env(llm), "REVIEWER_CACHE": "false"}
    coloured = _review_on_a_tty(env=env)
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured).count("[MEDIUM] a.py:6") == 1
    plain = _review_on_a_tty(env={**env, "NO_COLOR": "1"})
    assert "[MEDIUM] a.py:6" in plain
    assert "\x1b" not in plain
    assert ANSI.sub("", coloured) == plain.replace(_duration(plain), _duration(coloured))


def _duration(report: str) -> str:
    match = re.search(r"\| \d+\.\ds \|", report)
    assert match, report
    return match.group()


def test_help_and_version(tmp_path: Path) -> None:
    helped = run_cli("--help")
    assert helped.code == 0
    assert "--base REF" in helped.out and "Exit codes:" in helped.out
    assert run_cli("--version").out.strip() == f"reviewer, version {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "reviewer", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (module.returncode, module.stdout.strip()) == (0, f"reviewer, version {__version__}")
    # The installed console script (test_exit_codes' interrupt test runs a review with it).
    script = run_subprocess("--version", cwd=tmp_path)
    assert (script.code, script.out.strip()) == (0, f"reviewer, version {__version__}")


# --------------------------------------------------------------------------- the prompt's inputs


def test_path_instructions_reach_the_system_prompt_only_for_matching_paths(
    base: Path, llm: FakeOpenAI
) -> None:
    write(
        base,
        "pyproject.toml",
        "[tool.reviewer]\n"
        'instructions = "EVERYWHERE-MARKER"\n'
        "[[tool.reviewer.path-instructions]]\n"
        'glob = "api/**"\n'
        'instructions = "API-ONLY-MARKER: check authorisation."\n',
    )
    write(base, "api/views.py", lines(3, "v"))
    change(base, "b.py")
    git(base, "add", "-A")
    llm.default = clean_answer

    assert review("--no-cache", "api/views.py", "--staged", server=llm).code == 0
    assert review("--no-cache", "b.py", "--staged", server=llm).code == 0
    api, other = llm.requests
    assert list(chunk_files(api)) == ["api/views.py"]
    assert "For files matching `api/**`: API-ONLY-MARKER: check authorisation." in api.system
    assert list(chunk_files(other)) == ["b.py"]
    assert "API-ONLY-MARKER" not in other.system
    assert "EVERYWHERE-MARKER" in api.system and "EVERYWHERE-MARKER" in other.system


def test_language_reaches_the_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI
) -> None:
    write(tmp_path, "x.py", lines(2))
    monkeypatch.chdir(tmp_path)
    llm.default = clean_answer
    assert review("--no-cache", "x.py", server=llm).code == 0
    assert review("--no-cache", "--language", "zh", "x.py", server=llm).code == 0
    default, chinese = (r.system for r in llm.requests)
    assert "(a name or a language code):\nen." in default
    assert "(a name or a language code):\nzh." in chinese


def test_the_key_is_sent_to_the_endpoint_and_nowhere_else(base: Path, llm: FakeOpenAI) -> None:
    # The key is in the code under review too; redaction keeps it out of the request body,
    # and the reports repeat no code from the request but what the findings quote.
    write(base, "a.py", lines(10, "a") + f'KEY = "{TEST_KEY}"\n')
    git(base, "add", "a.py")
    run = review("-o", "terminal", "-o", "json=out.json", server=llm)
    assert run.code == 0, run.err
    review_request, verification = llm.requests
    assert verification.is_verification
    for request in (review_request, verification):
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
        assert TEST_KEY.encode() not in request.raw
    assert json.loads((base / "out.json").read_text())["stats"]["redactions"] >= 1


def test_the_leak_check_catches_a_leak(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="leaked to stderr"):
        assert_key_not_leaked(Run(code=3, out="", err=f"bad key {TEST_KEY[:4]}...{TEST_KEY[-12:]}"))
    (tmp_path / "report.json").write_text(f'{{"key": "{TEST_KEY}"}}')
    with pytest.raises(AssertionError, match=r"leaked to .*report\.json"):
        assert_key_not_leaked(Run(code=0, out="", err=""), tmp_path, before={})
