from __future__ import annotations

from typing import Any

import pytest
from fake_github import BOT, HUMAN, make_changes, make_finding, make_hunk, make_result

from reviewer.core.values import ChunkFailure, FileDiff, NotReviewed
from reviewer.outputs.github.markdown import fingerprint_marker
from reviewer.outputs.github.plan import commentable_regions, place, plan_review
from reviewer.outputs.github.publish import reviewed_paths
from reviewer.outputs.github.wire import ReviewComment


@pytest.mark.parametrize(
    ("rows", "context", "regions"),
    [
        # 3 context lines each side, as GitHub shows: every new-side line
        ("cccaaaccc", 3, ((10, 18),)),
        # more context than GitHub's: only 3 context lines next to a change count
        ("cccccaacccccc", 3, ((12, 19),)),
        # deleted rows are changes too, and take no new line
        ("cccccdcccccc", 3, ((12, 17),)),
        # two changes 8 context lines apart: GitHub splits them into two hunks
        ("acccccccca", 3, ((10, 13), (16, 19))),
        # 6 apart: one hunk
        ("acccccca", 3, ((10, 17),)),
        ("aaa", 3, ((10, 12),)),
        ("cccaaaccc", 1, ((12, 16),)),
    ],
)
def test_commentable_regions(rows: str, context: int, regions: tuple[Any, ...]) -> None:
    diff = FileDiff(path="a.py", hunks=(make_hunk(10, rows),))
    assert commentable_regions(diff, context=context) == regions


def test_regions_of_several_hunks() -> None:
    diff = FileDiff(path="a.py", hunks=(make_hunk(1, "aac"), make_hunk(40, "cac")))
    assert commentable_regions(diff) == ((1, 3), (40, 42))


@pytest.mark.parametrize(
    ("start", "end", "placed"),
    [
        (5, 5, ((5, 5), True)),
        (3, 8, ((3, 8), True)),
        (8, 12, ((8, 10), False)),  # overlaps the first region only
        (9, 22, ((20, 22), False)),  # the larger overlap wins
        (11, 19, None),  # between hunks
        (100, 100, None),
    ],
)
def test_place(start: int, end: int, placed: Any) -> None:
    assert place(make_finding("a.py", start, end), [(1, 10), (20, 30)]) == placed


def own(fp: str, path: str = "a.py", line: int = 5, **kw: Any) -> ReviewComment:
    data = {
        "id": kw.pop("id", 1),
        "path": path,
        "line": line,
        "body": fingerprint_marker(fp) + "\nold",
        "user": BOT,
        "html_url": f"https://github.com/o/r/pull/7#discussion_r{fp}",
    }
    data.update(kw)
    return ReviewComment.model_validate(data)


CHANGES = make_changes({"a.py": [make_hunk(1, "cccaaaaccc")], "b.py": [make_hunk(20, "aa")]})


def plan(findings: Any, existing: Any = (), **kw: Any) -> Any:
    result = kw.pop("result", None) or make_result(findings)
    kw.setdefault("reviewed_paths", {"a.py", "b.py"})
    kw.setdefault("incremental", False)
    return plan_review(result, CHANGES, existing, **kw)


def test_inline_payloads() -> None:
    single = make_finding("a.py", 5)
    multi = make_finding("a.py", 4, 6, suggestion="x = 1\ny = 2\nz = 3")
    p = plan([single, multi])
    assert p.inline[0].payload() == {
        "path": "a.py",
        "body": p.inline[0].body,
        "line": 5,
        "side": "RIGHT",
    }
    payload = p.inline[1].payload()
    assert (payload["start_line"], payload["line"], payload["start_side"]) == (4, 6, "RIGHT")
    assert "```suggestion\nx = 1\ny = 2\nz = 3\n```" in payload["body"]
    assert p.moved == () and p.duplicates == () and p.stale == ()


def test_off_diff_findings_move_to_the_summary() -> None:
    off = make_finding("a.py", 50)
    unknown_file = make_finding("c.py", 1)
    p = plan([off, unknown_file, make_finding("b.py", 21)])
    assert [(m.finding, m.reason) for m in p.moved] == [
        (off, "outside-diff"),
        (unknown_file, "outside-diff"),
    ]
    assert [c.path for c in p.inline] == ["b.py"]


def test_spanning_range_is_narrowed_without_suggestion() -> None:
    f = make_finding("b.py", 20, 25, suggestion="new")
    (comment,) = plan([f]).inline
    assert (comment.start_line, comment.line) == (20, 21)
    assert "suggestion" not in comment.body


def test_duplicates_are_skipped_by_marker_whatever_the_author() -> None:
    f = make_finding("a.py", 5)
    by_human = own(f.fingerprint, user=HUMAN, html_url="https://github.com/x#r1")
    p = plan([f], [by_human])
    assert p.inline == ()
    assert p.duplicates == ((f, "https://github.com/x#r1"),)


def test_stale_rules() -> None:
    kept = make_finding("a.py", 5)
    existing = [
        own(kept.fingerprint, id=1),  # still found: not stale
        own("gone1", id=2),  # ours, gone: stale
        own("gone2", id=3),  # ours, gone, but replied to: kept
        ReviewComment.model_validate(
            {"id": 4, "path": "a.py", "body": "I disagree", "user": HUMAN, "in_reply_to_id": 3}
        ),
        own("gone3", id=5, user=HUMAN),  # a human quoting our marker: never ours
        ReviewComment.model_validate({"id": 6, "path": "a.py", "body": "nit", "user": HUMAN}),
        own("gone4", id=7, user=None),  # ghost account
    ]
    p = plan([kept], existing)
    assert [c.id for c in p.stale] == [2]
    assert [c.id for c in p.kept_with_replies] == [3]


def test_own_login_for_personal_tokens() -> None:
    pat_user = {"login": "review-bot", "type": "User"}
    existing = [own("gone", id=9, user=pat_user)]
    assert plan([], existing).stale == ()
    assert [c.id for c in plan([], existing, own_login="review-bot").stale] == [9]


def test_incremental_only_touches_re_reviewed_files() -> None:
    existing = [
        own("x", id=1, path="a.py"),
        own("y", id=2, path="b.py"),
        own("z", id=3, path="gone.py"),
    ]
    p = plan([], existing, reviewed_paths={"b.py"}, incremental=True)
    assert [c.id for c in p.stale] == [2]
    # a full review also clears files that left the PR's diff
    p = plan([], existing, reviewed_paths={"b.py"}, incremental=False)
    assert [c.id for c in p.stale] == [2, 3]


def test_files_that_failed_or_were_skipped_keep_their_comments() -> None:
    result = make_result(
        [],
        failures=(
            ChunkFailure(
                chunk_id="c", index=0, paths=("a.py",), lines=3, kind="timeout", message="t"
            ),
        ),
        not_reviewed=(NotReviewed(path="b.py", reason="too-large"),),
    )
    paths = reviewed_paths(result, CHANGES)
    assert paths == frozenset()
    existing = [own("x", id=1, path="a.py"), own("y", id=2, path="b.py")]
    assert plan([], existing, result=result, reviewed_paths=paths).stale == ()


def test_dry_run_deletes_nothing() -> None:
    result = make_result([], dry_run=True)
    assert plan([], [own("x")], result=result).stale == ()


def test_same_fingerprint_twice_is_posted_once() -> None:
    f = make_finding("a.py", 5)
    assert len(plan([f, f]).inline) == 1
