from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.core.values import Category, Chunk, ChunkFile, DiffLine, Hunk, Severity
from reviewer.findings.anchor import AnchorOutcome, anchor_findings, fingerprint, rule_id, sanitize
from reviewer.llm.answer import ModelFinding


@dataclasses.dataclass(frozen=True)
class RawFinding:
    """Satisfies anchor.ModelFindingLike without the validation answer.py does, so the tests
    can hand anchor_findings what a lenient parser might let through (reversed ranges, NaN)."""

    path: str = "src/app.py"
    start_line: int = 11
    end_line: int = 11
    severity: Severity = "high"
    category: Category = "bug"
    confidence: float = 0.9
    title: str = "Off-by-one in loop bound"
    message: str = "The loop reads one element past the end."
    suggestion: str | None = None


def hunk(new_start: int, spec: str) -> Hunk:
    """``spec`` lines start with ' ', '+' or '-' like a unified diff body."""
    lines: list[DiffLine] = []
    new_no, old_no = new_start, new_start
    for raw in spec.splitlines():
        kind, text = raw[0], raw[1:]
        if kind == "+":
            lines.append(DiffLine(kind="add", text=text, new_no=new_no))
            new_no += 1
        elif kind == "-":
            lines.append(DiffLine(kind="del", text=text, old_no=old_no))
            old_no += 1
        else:
            lines.append(DiffLine(kind="ctx", text=text, old_no=old_no, new_no=new_no))
            new_no += 1
            old_no += 1
    return Hunk(old_start=new_start, old_len=0, new_start=new_start, new_len=0, lines=lines)


# src/app.py: 10 ctx, 11-12 added, (removed), 13 ctx, 14 added, 15 ctx
APP = ChunkFile(
    path="src/app.py",
    hunks=(
        hunk(
            10,
            " def total(items):\n"
            "+    s = 0\n"
            "+    for i in range(len(items) + 1):\n"
            "-    for i in range(len(items)):\n"
            "         s += items[i]\n"
            "+    print(s)\n"
            "     return s\n",
        ),
    ),
)
CHUNK = Chunk(id="c1", index=0, files=(APP,), tokens=100)


def anchor_one(raw: RawFinding, chunk: Chunk = CHUNK) -> AnchorOutcome:
    return anchor_findings([raw], chunk)


def test_finding_on_a_changed_line_is_kept_and_filled_in() -> None:
    out = anchor_one(
        RawFinding(start_line=11, end_line=12, suggestion="    s = 0\n    for x in items:\n")
    )
    assert (out.discarded, out.clamped, out.capped) == (0, 0, 0)
    (f,) = out.findings
    assert (f.path, f.start_line, f.end_line) == ("src/app.py", 11, 12)
    assert f.rule_id == "reviewer/bug" == rule_id("bug")
    assert f.code == "    s = 0\n    for i in range(len(items) + 1):"
    assert f.score == 6.3
    assert f.chunk_id == "c1"
    assert f.suggestion == "    s = 0\n    for x in items:\n"
    assert len(f.fingerprint) == 16
    assert int(f.fingerprint, 16) >= 0


def test_real_model_finding_satisfies_the_protocol() -> None:
    mf = ModelFinding(
        path="src/app.py",
        start_line=14,
        end_line=14,
        severity="low",
        category="style",
        confidence=0.5,
        title="Debug print",
        message="Remove the print.",
        suggestion=None,
    )
    (f,) = anchor_findings([mf], CHUNK).findings
    assert (f.start_line, f.code, f.rule_id, f.score) == (14, "    print(s)", "reviewer/style", 1.0)


@pytest.mark.parametrize(
    "path",
    [
        "src/app.py",
        "./src/app.py",
        "././src/app.py",
        "a/src/app.py",
        "b/src/app.py",
        " src/app.py ",
    ],
)
def test_path_normalisation_accepts(path: str) -> None:
    (f,) = anchor_one(RawFinding(path=path)).findings
    assert f.path == "src/app.py"


@pytest.mark.parametrize(
    "path", ["app.py", "c/src/app.py", "src/other.py", "/src/app.py", "SRC/app.py"]
)
def test_unknown_paths_are_discarded(path: str) -> None:
    out = anchor_one(RawFinding(path=path))
    assert out.findings == ()
    assert out.discarded == 1


def test_exact_path_wins_over_prefix_stripping() -> None:
    # A real top-level directory called "b" must not be confused with a diff prefix.
    chunk = Chunk(
        id="c2",
        index=0,
        files=(
            ChunkFile(path="b/x.py", hunks=(hunk(1, "+one\n"),)),
            ChunkFile(path="x.py", hunks=(hunk(1, "+two\n"),)),
        ),
        tokens=1,
    )
    (f,) = anchor_findings([RawFinding(path="b/x.py", start_line=1, end_line=1)], chunk).findings
    assert (f.path, f.code) == ("b/x.py", "one")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (11, 11, (11, 11, False)),
        (12, 11, (11, 12, False)),  # reversed: same lines, not clamped
        (10, 12, (11, 12, True)),  # starts on context
        (9, 20, (11, 14, True)),  # wider than the hunk
        (12, 13, (12, 12, True)),  # ends on context
        (11, 14, (11, 14, False)),  # context line 13 inside the span is fine
        (13, 13, None),  # context only
        (10, 10, None),
        (15, 15, None),
        (1, 9, None),  # not shown at all
        (100, 200, None),
    ],
)
def test_ranges_must_touch_changed_lines_and_are_clamped(
    start: int, end: int, expected: tuple[int, int, bool] | None
) -> None:
    out = anchor_one(RawFinding(start_line=start, end_line=end, suggestion="x = 1\n"))
    if expected is None:
        assert (out.findings, out.discarded) == ((), 1)
        return
    (f,) = out.findings
    lo, hi, clamped = expected
    assert (f.start_line, f.end_line) == (lo, hi)
    assert out.clamped == int(clamped)
    # A suggestion replaces exactly the model's range; after clamping it would land elsewhere.
    assert f.suggestion == (None if clamped else "x = 1\n")


def test_code_skips_removed_lines_and_keeps_context_inside_the_span() -> None:
    (f,) = anchor_one(RawFinding(start_line=11, end_line=14)).findings
    assert f.code.splitlines() == [
        "    s = 0",
        "    for i in range(len(items) + 1):",
        "        s += items[i]",
        "    print(s)",
    ]


def test_a_file_split_over_parts_is_one_file() -> None:
    part1 = ChunkFile(path="big.py", hunks=(hunk(10, "+a\n+b\n c\n"),), part=1, parts=2)
    part2 = ChunkFile(path="big.py", hunks=(hunk(40, " x\n+y\n+z\n"),), part=2, parts=2)
    chunk = Chunk(id="c3", index=1, files=(part1, part2), tokens=1)
    out = anchor_findings(
        [
            RawFinding(path="big.py", start_line=42, end_line=42),
            RawFinding(path="big.py", start_line=11, end_line=45),
            RawFinding(path="big.py", start_line=12, end_line=40),  # context only
        ],
        chunk,
    )
    assert [(f.start_line, f.end_line) for f in out.findings] == [(42, 42), (11, 42)]
    assert out.findings[1].code == "b\nc\nx\ny\nz"  # 13..39 were never shown
    assert (out.discarded, out.clamped) == (1, 1)


def test_whole_file_mode_makes_every_line_reviewable() -> None:
    whole = ChunkFile(
        path="tool.py",
        status="added",
        whole_file=True,
        hunks=(hunk(1, " import os\n print(os.sep)\n"),),
    )
    chunk = Chunk(id="c4", index=0, files=(whole,), tokens=1)
    (f,) = anchor_findings([RawFinding(path="tool.py", start_line=1, end_line=2)], chunk).findings
    assert (f.start_line, f.end_line, f.code) == (1, 2, "import os\nprint(os.sep)")


def shifted_chunk(offset: int, indent: str = "    ") -> Chunk:
    body = f" def f():\n+{indent}return eval(x)\n"
    return Chunk(
        id=f"shift{offset}",
        index=0,
        files=(ChunkFile(path="m.py", hunks=(hunk(5 + offset, body),)),),
        tokens=1,
    )


def test_fingerprint_survives_line_shifts_and_whitespace() -> None:
    def fp(chunk: Chunk, line: int, title: str = "Use of eval") -> str:
        raw = RawFinding(
            path="m.py", start_line=line, end_line=line, title=title, category="security"
        )
        (f,) = anchor_findings([raw], chunk).findings
        return f.fingerprint

    base = fp(shifted_chunk(0), 6)
    assert fp(shifted_chunk(10), 16) == base  # same finding ten lines lower
    assert fp(shifted_chunk(0, indent="\t  "), 6) == base  # re-indented code
    assert fp(shifted_chunk(0), 6, title="  use OF eval!") == base  # case and punctuation
    assert fp(shifted_chunk(0), 6, title="Use of exec") != base
    assert fingerprint("m.py", "reviewer/security", "Use of eval", "return eval(x)") == base
    assert fingerprint("n.py", "reviewer/security", "Use of eval", "return eval(x)") != base
    assert fingerprint("m.py", "reviewer/bug", "Use of eval", "return eval(x)") != base


def test_cap_keeps_the_highest_scored_in_their_original_order() -> None:
    raws = [
        RawFinding(title="info", severity="info", confidence=1.0),
        RawFinding(title="crit", severity="critical", confidence=0.9),
        RawFinding(title="low", severity="low", confidence=0.9),
        RawFinding(title="high", severity="high", confidence=0.8),
        RawFinding(title="med", severity="medium", confidence=1.0),
    ]
    out = anchor_findings(raws, CHUNK, max_per_chunk=3)
    assert [f.title for f in out.findings] == ["crit", "high", "med"]
    assert out.capped == 2
    assert out.discarded == 0


def test_cap_counts_clamped_among_the_kept_only() -> None:
    raws = [
        RawFinding(title="a", start_line=10, end_line=11, severity="info"),  # clamped, capped
        RawFinding(title="b", severity="critical"),
    ]
    out = anchor_findings(raws, CHUNK, max_per_chunk=1)
    assert ([f.title for f in out.findings], out.clamped, out.capped) == (["b"], 0, 1)


def test_max_per_chunk_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_per_chunk"):
        anchor_findings([], CHUNK, max_per_chunk=0)


def test_text_fields_are_sanitised_and_truncated() -> None:
    raw = RawFinding(
        title="Bad\x1b[31m thing\n  here\u202e" + "x" * 300,
        message="line one\r\nline\ttwo\x00\x07" + "y" * 5000,
        suggestion="    s = 1\x1b\n",
    )
    (f,) = anchor_one(raw).findings
    assert f.title.startswith("Bad[31m thing here")
    assert len(f.title) == 200
    assert f.title.endswith("…")
    assert f.message.startswith("line one\nline\ttwo" + "y")
    assert len(f.message) == 4000
    assert f.suggestion == "    s = 1\n"
    assert sanitize("a\x1b\x7f\x85\u2066b\n\tc") == "ab\n\tc"


def test_blank_title_falls_back_to_the_message_and_blank_both_is_discarded() -> None:
    out = anchor_findings(
        [
            RawFinding(title=" \x1b ", message="Loop bound\nis wrong"),
            RawFinding(title="", message="  "),
        ],
        CHUNK,
    )
    assert [f.title for f in out.findings] == ["Loop bound"]
    assert out.discarded == 1


@pytest.mark.parametrize(
    "suggestion", ["", "  \n", "    print(s)", "    print(s)\n", "    print(s)\x1b\n"]
)
def test_useless_suggestions_are_dropped(suggestion: str) -> None:
    (f,) = anchor_one(RawFinding(start_line=14, end_line=14, suggestion=suggestion)).findings
    assert f.suggestion is None


@pytest.mark.parametrize(
    ("confidence", "kept"), [(math.nan, None), (math.inf, None), (1.5, 1.0), (-0.2, 0.0)]
)
def test_confidence_outside_the_unit_interval(confidence: float, kept: float | None) -> None:
    out = anchor_one(RawFinding(confidence=confidence))
    assert [f.confidence for f in out.findings] == ([] if kept is None else [kept])


@settings(max_examples=150, deadline=None)
@given(
    ranges=st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60)), max_size=20),
    cap=st.integers(1, 25),
)
def test_every_kept_finding_sits_on_changed_lines(ranges: list[tuple[int, int]], cap: int) -> None:
    part1 = ChunkFile(path="p.py", hunks=(hunk(3, " a\n+b\n+c\n d\n"),), part=1, parts=2)
    part2 = ChunkFile(path="p.py", hunks=(hunk(30, "+e\n f\n+g\n"),), part=2, parts=2)
    chunk = Chunk(id="h", index=0, files=(part1, part2), tokens=1)
    changed = part1.changed_lines | part2.changed_lines
    raws = [RawFinding(path="p.py", start_line=s, end_line=e) for s, e in ranges]
    out = anchor_findings(raws, chunk, max_per_chunk=cap)
    assert len(out.findings) + out.discarded + out.capped == len(raws)
    assert len(out.findings) <= cap
    assert out.clamped <= len(out.findings)
    for f in out.findings:
        assert f.start_line in changed
        assert f.end_line in changed
        assert f.start_line <= f.end_line
