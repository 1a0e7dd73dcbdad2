"""GitLab's rows, positions and note bodies: pure pieces, table-driven."""

from __future__ import annotations

import hashlib

import pytest
from fake_github import make_finding, make_result

from reviewer.outputs.github.markdown import ZWSP
from reviewer.outputs.gitlab.markdown import inert, suggestion_fits, thread_body
from reviewer.outputs.gitlab.plan import plan_threads, regions_of
from reviewer.outputs.gitlab.positions import parse_version_diffs, position
from reviewer.outputs.gitlab.wire import Discussion, Version, VersionDiff

VERSION = Version(
    id=1, head_commit_sha="h" * 40, base_commit_sha="b" * 40, start_commit_sha="s" * 40
)
SHA1 = hashlib.sha1(b"a.py").hexdigest()
# old 1-2 removed, new 1 added, 3-5 unchanged (new 2-4), a second hunk further down
DIFF = "@@ -1,5 +1,4 @@\n-one\n-two\n+ONE\n three\n four\n five\n@@ -20,2 +19,3 @@\n x\n+y\n z\n"


def files() -> dict:
    return parse_version_diffs([VersionDiff(old_path="a.py", new_path="a.py", diff=DIFF)])


def test_rows_carry_gitlabs_numbers_and_line_codes() -> None:
    f = files()["a.py"]
    assert {n: (r.kind, r.old_line, r.new_line, r.line_code) for n, r in f.rows_by_new.items()} == {
        1: ("add", None, 1, f"{SHA1}_3_1"),  # the old counter after two removed rows
        2: ("ctx", 3, 2, f"{SHA1}_3_2"),
        3: ("ctx", 4, 3, f"{SHA1}_4_3"),
        4: ("ctx", 5, 4, f"{SHA1}_5_4"),
        19: ("ctx", 20, 19, f"{SHA1}_20_19"),
        20: ("add", None, 20, f"{SHA1}_21_20"),
        21: ("ctx", 21, 21, f"{SHA1}_21_21"),
    }
    assert regions_of(f) == ((1, 4), (19, 21))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (1, 1, {"new_line": 1}),  # added: new_line only
        (3, 3, {"old_line": 4, "new_line": 3}),  # unchanged: both, they differ
        (
            1,
            3,
            {
                "old_line": 4,
                "new_line": 3,
                "line_range": {
                    "start": {"line_code": f"{SHA1}_3_1", "type": "new", "new_line": 1},
                    "end": {
                        "line_code": f"{SHA1}_4_3",
                        "type": "old",
                        "old_line": 4,
                        "new_line": 3,
                    },
                },
            },
        ),
    ],
)
def test_positions(start: int, end: int, expected: dict) -> None:
    pos = dict(position(files()["a.py"], VERSION, start, end))
    shas = {k: pos.pop(k) for k in ("base_sha", "start_sha", "head_sha")}
    assert shas == {"base_sha": "b" * 40, "start_sha": "s" * 40, "head_sha": "h" * 40}
    assert pos == {"position_type": "text", "old_path": "a.py", "new_path": "a.py", **expected}


def test_a_finding_off_gitlabs_hunks_moves_and_an_overlapping_one_is_narrowed() -> None:
    result = make_result(
        [make_finding("a.py", 10), make_finding("a.py", 3, 8), make_finding("b.py", 1)]
    )

    plan = plan_threads(result, files(), VERSION, [], own_id=1, reviewed_paths={"a.py"})

    assert [(t.start_line, t.line) for t in plan.new] == [(3, 4)]
    assert "_Applies to lines 3-8; shown on 3-4" in plan.new[0].body
    assert [(m.finding.path, m.finding.start_line, m.reason) for m in plan.moved] == [
        ("a.py", 10, "outside-diff"),
        ("b.py", 1, "outside-diff"),
    ]


def test_a_removed_row_is_named_by_its_old_line_only() -> None:
    # the fake checks the rule the other way round; here: what our rows say about one
    from reviewer.outputs.gitlab.positions import Row, row_position

    row = Row(kind="del", old_line=2, new_line=None, line_code=f"{SHA1}_2_1")
    assert row_position(row) == {"line_code": f"{SHA1}_2_1", "type": "old", "old_line": 2}


def test_threads_we_resolved_come_back_those_people_resolved_do_not() -> None:
    ours = make_finding("a.py", 1, fingerprint="ours0000")
    theirs = make_finding("a.py", 3, fingerprint="theirs00")

    def thread(fp: str, resolved_by: int) -> Discussion:
        return Discussion.model_validate(
            {
                "id": fp,
                "notes": [
                    {
                        "id": 1,
                        "body": f"<!-- reviewer:fp={fp} -->\nx",
                        "author": {"id": 1},
                        "resolvable": True,
                        "resolved": True,
                        "resolved_by": {"id": resolved_by},
                        "position": {"new_path": "a.py", "new_line": 1},
                    }
                ],
            }
        )

    plan = plan_threads(
        make_result([ours, theirs]),
        files(),
        VERSION,
        [thread("ours0000", 1), thread("theirs00", 17)],
        own_id=1,
        reviewed_paths={"a.py"},
    )

    assert plan.new == ()
    assert [r.discussion_id for r in plan.reopen] == ["ours0000"]
    assert plan.resolved_by_people == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/merge\nplease", f"{ZWSP}/merge\nplease"),
        ("fine\n  /approve now", f"fine\n{ZWSP}  /approve now"),
        ("see /usr/bin/env", "see /usr/bin/env"),
        ("/usr/bin/env is a path", "/usr/bin/env is a path"),
        ("see !12, &3, $4, %5 and ~6", f"see !{ZWSP}12, &{ZWSP}3, ${ZWSP}4, %{ZWSP}5 and ~{ZWSP}6"),
        ("50 % off, a!b", "50 % off, a!b"),
    ],
)
def test_inert_text(text: str, expected: str) -> None:
    assert inert(text) == expected


def test_a_thread_body_uses_gitlabs_suggestion_syntax_and_no_quick_actions() -> None:
    finding = make_finding(
        "a.py", 2, 4, message="Fix it.\n/merge", suggestion="a = 1\nb = 2\nc = 3\n"
    )

    body = thread_body(finding, shown=(2, 4), exact=True)

    assert body.startswith(f"<!-- reviewer:fp={finding.fingerprint} -->")
    assert "```suggestion:-2+0\na = 1\nb = 2\nc = 3\n```" in body
    assert f"\n{ZWSP}/merge" in body and "\n/merge" not in body


@pytest.mark.parametrize(
    ("suggestion", "fits"),
    [
        ("x = 1\n", True),
        ("/* c comment */\n", True),
        ("/approve\n", False),
        ("s = '```'\n", False),
        (None, False),
    ],
)
def test_which_suggestions_gitlab_gets(suggestion: str | None, fits: bool) -> None:
    assert suggestion_fits(suggestion) is fits
