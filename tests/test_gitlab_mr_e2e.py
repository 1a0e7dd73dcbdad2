"""``review --gitlab-mr`` end to end, as a merge-request pipeline runs it, against a fake GitLab
that refuses every position GitLab would refuse (``fake_gitlab``) and a fake model.

One merge request carries every kind of row GitLab is particular about: lines removed above a
finding (old and new numbers differ), an added line, a new file, a renamed file with edits, a
multi-line finding, and a target branch that moved on after the MR branched
(``start_sha != base_sha``). A later push adds a finding on an unchanged row inside a hunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gitlab import BOT, HUMAN, LINE_CODE_400, FakeGitLab
from fake_openai import FakeOpenAI
from gitlab_harness import MergeRequestRepo, Pipeline, marker_findings, numbered

from reviewer.outputs.github.markdown import SUMMARY_MARKER

BASE = {
    "a.py": numbered("a", 30, {17: "a_17 = 'BUG legacy'"}),
    "b.py": numbered("b", 20),
    "r.py": numbered("r", 20),
}
# Push 1: a.py loses lines 2-3 (so new = old - 2 below them), gets a bug on old line 12
# (new 10) and changes old 15 and 17 (new 13 and 15); b.py gets a multi-line problem; c.py is
# new; r.py is renamed to r2.py with a bug on line 9.
A_PUSH_1 = "".join(
    line
    for i, line in enumerate(
        numbered(
            "a",
            30,
            {12: "a_12 = 'BUG twelve'", 15: "a_15 = 'changed'", 17: "a_17 = 'fine'"},
        ).splitlines(keepends=True),
        1,
    )
    if i not in (2, 3)
)
PUSH_1: dict[str, str | None] = {
    "a.py": A_PUSH_1,
    "b.py": numbered("b", 20, {5: "MULTI-START = 5", 6: "b_6 = 'six'", 7: "MULTI-END = 7"}),
    "c.py": "def c():\n    return 'BUG'\n",
    "r2.py": numbered("r", 20, {9: "r_9 = 'BUG nine'"}),
}


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        yield server


@pytest.fixture
def mr(tmp_path: Path) -> MergeRequestRepo:
    repo = MergeRequestRepo.create(tmp_path, BASE)
    return repo


@pytest.fixture
def pipeline(
    mr: MergeRequestRepo, gl: FakeGitLab, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Pipeline:
    llm.default = marker_findings
    return Pipeline(mr=mr, gl=gl, llm=llm, monkeypatch=monkeypatch)


def pushed_mr(mr: MergeRequestRepo) -> None:
    mr.push(PUSH_1, renames={"r.py": "r2.py"})
    mr.push_to_target({"z.py": "Z = 1\n"})  # the target branch moves on


def thread_on(gl: FakeGitLab, path: str) -> dict[str, Any]:
    found = [d for d in gl.threads() if d["notes"][0]["position"]["new_path"] == path]
    assert len(found) == 1, [d["notes"][0]["position"] for d in gl.threads()]
    return found[0]


def positions(gl: FakeGitLab) -> dict[str, dict[str, Any]]:
    return {
        r.body["position"]["new_path"]: r.body["position"]
        for r in gl.calls("POST", r"/discussions$")
        if r.status == 201
    }


def summary(gl: FakeGitLab) -> dict[str, Any]:
    (note,) = [n for n in gl.notes_by(BOT) if n["body"].startswith(SUMMARY_MARKER)]
    return note


# --------------------------------------------------------------------------- runs


def test_first_run_puts_every_finding_inline_where_gitlab_accepts_it(
    pipeline: Pipeline, mr: MergeRequestRepo, gl: FakeGitLab, tmp_path: Path
) -> None:
    pushed_mr(mr)
    report = tmp_path / "gl-code-quality-report.json"

    run = pipeline("-o", f"codequality={report}")

    assert run.code == 0, run.err
    assert gl.count_status(400) == 0
    assert mr.start_sha != mr.base_sha
    placed = positions(gl)
    assert set(placed) == {"a.py", "b.py", "c.py", "r2.py"}
    for pos in placed.values():
        assert (pos["base_sha"], pos["start_sha"], pos["head_sha"]) == (
            mr.base_sha,
            mr.start_sha,
            mr.head_sha,
        )
    # an added line below removed ones: new_line only
    assert {k: placed["a.py"].get(k) for k in ("old_line", "new_line")} == {
        "old_line": None,
        "new_line": 10,
    }
    # a new file: no old_line, its own path as old_path
    assert placed["c.py"]["old_path"] == "c.py" and "old_line" not in placed["c.py"]
    assert placed["c.py"]["new_line"] == 2
    # a renamed file with edits: the old path
    assert (placed["r2.py"]["old_path"], placed["r2.py"]["new_line"]) == ("r.py", 9)
    # a multi-line finding: one thread on its last line with the range of line codes
    multi = placed["b.py"]
    assert multi["new_line"] == 7
    assert multi["line_range"]["start"]["new_line"] == 5
    assert multi["line_range"]["start"]["type"] == "new"
    # GitLab's counters: the three old lines were removed first, so the old counter is 8
    assert multi["line_range"]["start"]["line_code"].endswith("_8_5")
    assert multi["line_range"]["end"]["line_code"].endswith("_8_7")
    (note,) = gl.notes_by(BOT)
    assert note["body"].startswith(SUMMARY_MARKER)
    assert f"<!-- reviewer:head={mr.head_sha} -->" in note["body"]
    assert "4 new threads." in note["body"]
    assert "published on MR !7: 4 thread(s) posted, 0 already there" in run.err
    assert all(r.headers["private-token"] == gl.token for r in gl.requests)
    assert gl.token not in run.run.out + run.err + note["body"]
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert sorted((i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues) == [
        ("a.py", 10),
        ("b.py", 5),
        ("c.py", 2),
        ("r2.py", 9),
    ]


def test_a_rerun_of_the_same_head_posts_nothing_and_edits_the_summary(
    pipeline: Pipeline, mr: MergeRequestRepo, gl: FakeGitLab
) -> None:
    pushed_mr(mr)
    for i in range(120):  # a busy MR: our threads and note are on the second page (X-Next-Page)
        gl.add_note(f"comment {i}", system=i % 2 == 0)
    pipeline()
    note_id = summary(gl)["id"]

    run = pipeline()

    assert run.code == 0, run.err
    assert len(gl.calls("POST", r"/discussions$")) == 4
    assert len(gl.calls("POST", r"/notes$")) == 1
    assert [r.path for r in gl.calls("PUT", r"/notes/")] == [
        f"/api/v4/projects/42/merge_requests/7/notes/{note_id}"
    ]
    assert summary(gl)["id"] == note_id
    assert "4 findings already in a thread; not repeated." in summary(gl)["body"]
    assert "0 thread(s) posted, 4 already there" in run.err
    assert {r.query.get("page") for r in gl.calls("GET", r"/discussions$")} == {"1", "2"}


def test_a_new_push_resolves_fixed_threads_and_leaves_peoples_decisions_alone(
    pipeline: Pipeline, mr: MergeRequestRepo, gl: FakeGitLab
) -> None:
    pushed_mr(mr)
    first_head = mr.head_sha
    pipeline()
    on_a, on_c, on_r = thread_on(gl, "a.py"), thread_on(gl, "c.py"), thread_on(gl, "r2.py")
    gl.resolve(on_r["id"], by=HUMAN)  # "not a bug": a person resolved it
    gl.add_reply(on_a["id"], "Why is this a bug?")
    # c.py's bug is fixed; a.py's old line 17 gets its base text back: unchanged in the MR's
    # diff, but inside a hunk, and new in this push
    mr.push(
        {
            "c.py": "def c():\n    return 'fixed'\n",
            "a.py": A_PUSH_1.replace("'fine'", "'BUG legacy'"),
        }
    )

    run = pipeline()

    assert run.code == 0, run.err
    assert run.reviewed_files() == {"a.py", "c.py"}  # only what changed since the last review
    assert gl.count_status(400) == 0
    assert on_c["notes"][0]["resolved"] and on_c["notes"][0]["resolved_by"] == BOT
    assert on_r["notes"][0]["resolved_by"] == HUMAN  # still resolved, by the person
    assert not on_a["notes"][0]["resolved"]  # its line was not touched: not re-reviewed
    assert [n["body"] for n in on_a["notes"]][1] == "Why is this a bug?"
    # the new finding sits on an unchanged row: old and new line, 2 apart
    new_threads = [d for d in gl.threads() if d["notes"][0]["position"]["head_sha"] == mr.head_sha]
    (unchanged,) = new_threads
    pos = unchanged["notes"][0]["position"]
    assert (pos["new_path"], pos["old_line"], pos["new_line"]) == ("a.py", 17, 15)
    body = summary(gl)["body"]
    assert f"only the changes since `{first_head[:12]}`" in body
    assert "1 earlier thread resolved: the finding is gone." in body
    assert (
        "published on MR !7: 1 thread(s) posted, 0 already there, 0 in the summary, 1 resolved"
        in run.err
    )

    # a full review of the same head: the person's resolved thread is neither reopened nor
    # posted again
    full = pipeline("--full")

    assert full.code == 0, full.err
    assert full.reviewed_files() == {"a.py", "b.py", "c.py", "r2.py"}
    assert len(gl.calls("POST", r"/discussions$")) == 5  # nothing new
    assert not [r for r in gl.calls("PUT", r"/discussions/") if r.body == {"resolved": False}]
    assert on_r["notes"][0]["resolved_by"] == HUMAN
    assert "1 finding in a thread someone resolved; left resolved." in summary(gl)["body"]


def test_a_thread_gitlab_refuses_moves_to_the_summary(
    pipeline: Pipeline, mr: MergeRequestRepo, gl: FakeGitLab
) -> None:
    pushed_mr(mr)
    gl.refuse_line("c.py", 2)  # GitLab disagrees with its own diff about one row

    run = pipeline()

    assert run.code == 0, run.err
    assert gl.count_status(400) == 1
    assert {d["notes"][0]["position"]["new_path"] for d in gl.threads()} == {
        "a.py",
        "b.py",
        "r2.py",
    }
    body = summary(gl)["body"]
    assert "1 thread refused by GitLab, written out below: `c.py:2`" in body
    assert "must be a valid line code" in body
    assert "This is a bug." in body.split("### Findings not on the diff", 1)[1]
    assert "3 thread(s) posted, 0 already there, 1 in the summary" in run.err
    assert LINE_CODE_400.startswith("400 Bad request")


def test_a_finding_we_resolved_is_reopened_when_it_comes_back(
    pipeline: Pipeline, mr: MergeRequestRepo, gl: FakeGitLab
) -> None:
    pushed_mr(mr)
    pipeline()
    on_c = thread_on(gl, "c.py")
    mr.push({"c.py": "def c():\n    return 'fixed'\n"})
    pipeline()
    assert on_c["notes"][0]["resolved_by"] == BOT
    mr.push({"c.py": "def c():\n    return 'BUG'\n"})  # reverted

    run = pipeline()

    assert run.code == 0, run.err
    assert not on_c["notes"][0]["resolved"]
    assert "1 reopened" in run.err
    assert len([d for d in gl.threads() if d["notes"][0]["position"]["new_path"] == "c.py"]) == 1
