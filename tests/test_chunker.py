from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.core.values import Chunk, ChunkFile, DiffLine, FileDiff, Hunk, NotReviewed
from reviewer.prepare.chunker import make_chunks
from reviewer.prepare.render import render_chunk
from reviewer.prepare.tokens import ApproxTokenizer, Tokenizer, load_tokenizer

APPROX = ApproxTokenizer()


class ConvexTokenizer:
    """A fake whose counts grow faster than the text (count(a + b) > count(a) + count(b)), so
    every per-file, per-hunk and per-line sum the chunker takes falls short of the real
    count: only the final verification and the re-splitting keep chunks under budget."""

    def count(self, text: str) -> int:
        return math.ceil(math.pow(len(text), 1.15) / 4)


def real() -> Tokenizer:
    return load_tokenizer("gpt-4o")


# --------------------------------------------------------------------------- building diffs


def hunk_of(
    kinds: str, texts: Sequence[str], old_start: int, new_start: int, header: str = ""
) -> Hunk:
    """``kinds`` is one of '+', '-', ' ' per line, like a unified diff body."""
    lines: list[DiffLine] = []
    old_no, new_no = old_start, new_start
    for kind, text in zip(kinds, texts, strict=True):
        if kind == "+":
            lines.append(DiffLine(kind="add", text=text, new_no=new_no))
            new_no += 1
        elif kind == "-":
            lines.append(DiffLine(kind="del", text=text, old_no=old_no))
            old_no += 1
        else:
            lines.append(DiffLine(kind="ctx", text=text, old_no=old_no, new_no=new_no))
            old_no += 1
            new_no += 1
    return Hunk(
        old_start=old_start,
        old_len=old_no - old_start,
        new_start=new_start,
        new_len=new_no - new_start,
        header=header,
        lines=tuple(lines),
    )


def code_file(
    path: str, hunks: int = 1, adds: int = 5, start: int = 10, seed: int = 0, **kw: object
) -> FileDiff:
    rnd = random.Random(f"{path}/{seed}")
    out = []
    old, new = start, start
    for _ in range(hunks):
        kinds = "   " + "+" * adds + "-" + "   "
        texts = [
            f"    value_{rnd.randrange(10**6)} = compute({rnd.randrange(1000)})" for _ in kinds
        ]
        h = hunk_of(kinds, texts, old, new, header="def handler(request):")
        out.append(h)
        old += h.old_len + 20
        new += h.new_len + 20
    return FileDiff(path=path, hunks=tuple(out), **kw)


def expected_lines(file: FileDiff) -> set[int]:
    return {
        ln.new_no
        for h in file.hunks
        for ln in h.lines
        if ln.new_no is not None and (file.whole_file or ln.kind == "add")
    }


def reviewed(chunks: Sequence[Chunk]) -> Counter[tuple[str, int]]:
    return Counter((f.path, n) for c in chunks for f in c.files for n in f.changed_lines)


def detail_lines(item: NotReviewed) -> set[int]:
    found: set[int] = set()
    for a, b in re.findall(r"(\d+)(?:-(\d+))?", re.split(r" is | are | and ", item.detail)[0]):
        found.update(range(int(a), int(b or a) + 1))
    return found


def check_invariants(
    files: Sequence[FileDiff],
    budget: int,
    tokenizer: Tokenizer,
    chunks: Sequence[Chunk],
    not_reviewed: Sequence[NotReviewed],
) -> None:
    # (b) the real render fits; ids, indexes and token counts are what they say
    for index, chunk in enumerate(chunks):
        text = render_chunk(chunk.files)
        assert chunk.index == index
        assert chunk.tokens == tokenizer.count(text) <= budget
        assert chunk.id == hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    # (a) every reviewable line is reviewed exactly once, or named in its file's over-budget entry
    seen = reviewed(chunks)
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]
    over = {n.path: n for n in not_reviewed}
    assert len(over) == len(not_reviewed)
    assert all(n.reason == "over-budget" for n in not_reviewed)
    for file in files:
        want = expected_lines(file)
        got = {n for (path, n) in seen if path == file.path}
        assert got <= want
        missing = want - got
        if missing:
            assert file.path in over, (file.path, sorted(missing))
            named = detail_lines(over[file.path])
            assert named == missing or ("more ranges" in over[file.path].detail and named < missing)
        else:
            assert file.path not in over
    assert len({c.id for c in chunks}) == len(chunks)


# --------------------------------------------------------------------------- table tests


def test_nothing_in_nothing_out() -> None:
    assert make_chunks([], 1000, APPROX) == ((), ())
    empty = FileDiff(path="empty.txt", status="added")
    assert make_chunks([empty], 1000, APPROX) == ((), ())


def test_small_files_share_one_chunk_in_path_order() -> None:
    files = [code_file("b.py"), code_file("a.py"), code_file("c/d.py", status="added")]
    chunks, skipped = make_chunks(files, 4000, APPROX)
    assert skipped == ()
    assert len(chunks) == 1
    assert chunks[0].paths == ("a.py", "b.py", "c/d.py")
    assert [f.hunks for f in chunks[0].files] == [files[1].hunks, files[0].hunks, files[2].hunks]
    assert chunks[0].files[2].status == "added"
    assert all(f.parts == 1 for f in chunks[0].files)
    check_invariants(files, 4000, APPROX, chunks, skipped)


def test_output_does_not_depend_on_input_order() -> None:
    files = [code_file(f"pkg/m{i:02d}.py", adds=i % 7 + 1) for i in range(30)]
    shuffled = list(files)
    random.Random(1).shuffle(shuffled)
    assert make_chunks(files, 600, APPROX) == make_chunks(shuffled, 600, APPROX)


def test_files_that_do_not_fit_together_are_packed_into_several_chunks() -> None:
    files = [code_file(f"m{i}.py", adds=8) for i in range(12)]
    chunks, skipped = make_chunks(files, 800, APPROX)
    assert 2 < len(chunks) < 12
    assert [p for c in chunks for p in c.paths] == sorted(f.path for f in files)
    assert all(f.parts == 1 for c in chunks for f in c.files)
    check_invariants(files, 800, APPROX, chunks, skipped)


def test_oversized_file_is_split_by_hunks_into_parts() -> None:
    big = code_file("big.py", hunks=6, adds=6)
    small = code_file("small.py")
    chunks, skipped = make_chunks([big, small], 450, APPROX)
    parts = [f for c in chunks for f in c.files if f.path == "big.py"]
    assert len(parts) > 1
    assert [(p.part, p.parts) for p in parts] == [(k, len(parts)) for k in range(1, len(parts) + 1)]
    # whole hunks, in order, each exactly once
    assert [h for p in parts for h in p.hunks] == list(big.hunks)
    # a part of an oversized file is a chunk of its own
    assert all(len(c.files) == 1 for c in chunks if "big.py" in c.paths)
    assert "=== FILE: big.py (modified, part 1/" in render_chunk(
        next(c for c in chunks if "big.py" in c.paths).files
    )
    check_invariants([big, small], 450, APPROX, chunks, skipped)


def test_oversized_hunk_is_split_at_lines_with_overlap_as_context() -> None:
    texts = [f"    total += weight_{i} * value_{i}  # step {i}" for i in range(60)]
    big = FileDiff(path="loop.py", hunks=(hunk_of("+" * 60, texts, 0, 1),), status="added")
    chunks, skipped = make_chunks([big], 300, APPROX, overlap=3)
    assert skipped == ()
    parts = [c.files[0] for c in chunks]
    assert len(parts) > 2
    for prev, part in itertools.pairwise(parts):
        lines = part.hunks[0].lines
        head = lines[:3]
        assert [ln.kind for ln in head] == ["ctx"] * 3
        assert [ln.new_no for ln in head] == [ln.new_no for ln in prev.hunks[0].lines[-3:]]
        assert [ln.text for ln in head] == [ln.text for ln in prev.hunks[0].lines[-3:]]
        assert all(ln.kind == "add" for ln in lines[3:])
        header = part.hunks[0]
        assert header.new_start == lines[0].new_no
        assert header.new_len == len(lines)
        assert (header.old_start, header.old_len) == (0, 0)
    assert sorted(n for p in parts for n in p.changed_lines) == list(range(1, 61))
    check_invariants([big], 300, APPROX, chunks, skipped)


def test_slice_headers_count_old_and_new_lines() -> None:
    kinds = ("+-" * 30) + " " * 4
    texts = [f"line {i} " + "x" * 40 for i in range(len(kinds))]
    big = FileDiff(path="mixed.py", hunks=(hunk_of(kinds, texts, 100, 200, "class A:"),))
    chunks, skipped = make_chunks([big], 250, APPROX, overlap=0)
    assert len(chunks) > 2
    for chunk in chunks:
        h = chunk.files[0].hunks[0]
        assert h.header == "class A:"
        assert h.old_len == sum(1 for ln in h.lines if ln.kind != "add")
        assert h.new_len == sum(1 for ln in h.lines if ln.kind != "del")
        olds = [ln.old_no for ln in h.lines if ln.old_no is not None]
        news = [ln.new_no for ln in h.lines if ln.new_no is not None]
        assert not olds or h.old_start == olds[0]
        assert not news or h.new_start == news[0]
    check_invariants([big], 250, APPROX, chunks, skipped)


def test_overlap_zero_repeats_nothing() -> None:
    texts = [f"    item_{i} = load({i})" for i in range(80)]
    big = FileDiff(path="a.py", hunks=(hunk_of("+" * 80, texts, 0, 1),))
    chunks, _ = make_chunks([big], 200, APPROX, overlap=0)
    assert len(chunks) > 2
    assert all(ln.kind == "add" for c in chunks for h in c.files[0].hunks for ln in h.lines)
    assert sum(len(h.lines) for c in chunks for h in c.files[0].hunks) == 80


def test_whole_file_parts_have_no_overlap() -> None:
    texts = [f"print('line {i}', {i} * {i})" for i in range(90)]
    whole = FileDiff(
        path="script.py", status="added", whole_file=True, hunks=(hunk_of(" " * 90, texts, 1, 1),)
    )
    chunks, skipped = make_chunks([whole], 300, APPROX, overlap=3)
    assert len(chunks) > 2
    assert all(f.whole_file for c in chunks for f in c.files)
    assert sum(len(h.lines) for c in chunks for h in c.files[0].hunks) == 90
    assert "(whole file: every line is reviewable)" in render_chunk(chunks[1].files)
    check_invariants([whole], 300, APPROX, chunks, skipped)


def test_a_line_longer_than_the_budget_is_reported_and_the_rest_reviewed() -> None:
    texts = ["ok = 1", "x = '" + "a" * 4000 + "'", "ok = 2", "y = '" + "b" * 4000 + "'", "z = 3"]
    file = FileDiff(path="blob.py", hunks=(hunk_of(" ++++", texts, 5, 5),))
    other = code_file("other.py")
    chunks, skipped = make_chunks([file, other], 400, APPROX)
    assert skipped == (
        NotReviewed(
            path="blob.py",
            reason="over-budget",
            detail="lines 6, 8 are each too long for the 400-token chunk budget on their "
            "own; not reviewed",
        ),
    )
    assert reviewed(chunks)[("blob.py", 7)] == 1
    assert reviewed(chunks)[("blob.py", 9)] == 1
    check_invariants([file, other], 400, APPROX, chunks, skipped)


def test_consecutive_over_budget_lines_are_described_as_a_range() -> None:
    texts = ["a" * 3000] * 3 + ["fine"]
    file = FileDiff(path="min.js", hunks=(hunk_of("++++", texts, 0, 1),))
    _, skipped = make_chunks([file], 300, APPROX)
    assert skipped[0].detail.startswith("lines 1-3 are each too long for the 300-token")


def test_a_budget_too_small_for_anything_reviews_nothing() -> None:
    files = [code_file("a.py", adds=2), code_file("b.py", adds=1)]
    chunks, skipped = make_chunks(files, 20, APPROX)
    assert chunks == ()
    assert [(n.path, n.reason) for n in skipped] == [
        ("a.py", "over-budget"),
        ("b.py", "over-budget"),
    ]
    assert skipped[1].detail == (
        "line 13 is too long for the 20-token chunk budget on its own; not reviewed"
    )


def test_numbers_padded_wider_in_a_shared_chunk_still_fit() -> None:
    # big.py's six-digit numbers widen every number of its chunk, so the short file's lines
    # render longer together than they were counted alone.
    far = FileDiff(path="big.py", hunks=(hunk_of("+", ["x = 1"], 100000, 100000),))
    texts = [f"n{i}" for i in range(200)]
    near = FileDiff(path="small.py", hunks=(hunk_of("+" * 200, texts, 1, 1),))
    together = render_chunk([ChunkFile(path=f.path, hunks=f.hunks) for f in (far, near)])
    assert "    1 + | n0" in together
    real_size = APPROX.count(together)
    outcomes = set()
    for budget in range(real_size - 150, real_size + 2):
        chunks, skipped = make_chunks([far, near], budget, APPROX)
        check_invariants([far, near], budget, APPROX, chunks, skipped)
        outcomes.add(len(chunks))
    assert {1, 2} <= outcomes


def test_a_tokenizer_that_is_not_additive_still_never_exceeds_the_budget() -> None:
    files = [code_file(f"m{i}.py", hunks=3, adds=9) for i in range(8)]
    files.append(FileDiff(path="one.py", hunks=(hunk_of("+" * 90, ["y = 2"] * 90, 0, 1),)))
    tokenizer = ConvexTokenizer()
    for budget in (150, 400, 900, 3000):
        chunks, skipped = make_chunks(files, budget, tokenizer)
        check_invariants(files, budget, tokenizer, chunks, skipped)
        assert chunks
    # one file, just under its real size, where the sum of its parts still looks like it fits
    big = code_file("big.py", hunks=10, adds=9)
    size = tokenizer.count(render_chunk([ChunkFile(path=big.path, hunks=big.hunks)]))
    for budget in range(size - 40, size + 1, 4):
        chunks, skipped = make_chunks([big], budget, tokenizer)
        check_invariants([big], budget, tokenizer, chunks, skipped)
        assert len(chunks) == (1 if budget == size else 2)


def test_real_tokenizer_budget_is_respected_exactly() -> None:
    files = [code_file(f"src/mod{i}.py", hunks=3, adds=10) for i in range(15)]
    tokenizer = real()
    chunks, skipped = make_chunks(files, 1500, tokenizer)
    assert len(chunks) > 3
    check_invariants(files, 1500, tokenizer, chunks, skipped)


# --------------------------------------------------------------------------- stability


def changed_neighbours(
    before: Sequence[Sequence[str]], after: Sequence[Sequence[str]], path: str
) -> tuple[int, int]:
    """(old chunks without ``path`` that are gone, new chunks without ``path`` that appeared)."""
    old = {tuple(c) for c in before if path not in c}
    new = {tuple(c) for c in after if path not in c}
    return len(old - new), len(new - old)


def next_fit(files: Sequence[FileDiff], budget: int, tokenizer: Tokenizer) -> list[list[str]]:
    """The baseline the split tree improves on: fill a chunk in path order, then start the next."""
    groups: list[list[FileDiff]] = [[]]
    for file in sorted(files, key=lambda f: f.path):
        trial = [*groups[-1], file]
        if groups[-1] and tokenizer.count(render_chunk([_whole(f) for f in trial])) > budget:
            groups.append([file])
        else:
            groups[-1] = trial
    return [[f.path for f in g] for g in groups]


def _whole(file: FileDiff) -> ChunkFile:
    return ChunkFile(path=file.path, status=file.status, hunks=file.hunks)


def test_editing_one_file_of_twenty_moves_few_neighbours() -> None:
    """Every file of twenty grows or shrinks a little in turn.

    An edited file's chunks change, and any old chunk of other files that changed id is a
    neighbour of it: never more than one. Next-fit packing, for comparison, lets one edit
    push files along into every later chunk.
    """
    sizes = [3, 9, 4, 12, 6, 2, 8, 5, 10, 7, 3, 11, 4, 6, 9, 2, 5, 8, 6, 4]
    files = [code_file(f"src/app/module_{i:02d}.py", adds=n) for i, n in enumerate(sizes)]
    tokenizer = real()
    before = [list(c.paths) for c in make_chunks(files, 700, tokenizer)[0]]
    baseline = next_fit(files, 700, tokenizer)
    assert 5 < len(before) < 20
    churn = baseline_churn = 0
    for i, file in enumerate(files):
        for delta in (-2, -1, 1, 3):
            edited = [
                *files[:i],
                code_file(file.path, adds=sizes[i] + delta, seed=1),
                *files[i + 1 :],
            ]
            chunks, skipped = make_chunks(edited, 700, tokenizer)
            assert skipped == ()
            after = [list(c.paths) for c in chunks]
            gone, appeared = changed_neighbours(before, after, file.path)
            assert gone <= 1, (i, delta, before, after)
            assert appeared <= 2, (i, delta, before, after)
            churn += gone + appeared
            baseline_churn += sum(
                changed_neighbours(baseline, next_fit(edited, 700, tokenizer), file.path)
            )
    assert churn * 3 < baseline_churn, (churn, baseline_churn)


def test_unchanged_input_keeps_every_chunk_id() -> None:
    files = [code_file(f"f{i}.py", adds=i % 9 + 1) for i in range(40)]
    first, _ = make_chunks(files, 500, APPROX)
    again, _ = make_chunks([f.model_copy() for f in files], 500, APPROX)
    assert [c.id for c in first] == [c.id for c in again]


# --------------------------------------------------------------------------- properties

PATHS = [f"{d}/{n}.py" for d in ("a", "b/c", "z") for n in ("app", "util", "x", "long_module")]

line_text = st.one_of(
    st.text(
        # below the surrogates, which a diff read as UTF-8 never holds
        alphabet=st.characters(max_codepoint=0xD7FF, blacklist_characters="\n"),
        max_size=60,
    ),
    st.sampled_from(["", "\t", "    return x;\r", "def f(a, b):", "  # é 世界 🚀", "}\r\r"]),
    # sometimes longer than the whole budget
    st.integers(20, 200).map(lambda n: "value = compute(a, b) " * n),
)


@st.composite
def file_diffs(draw: st.DrawFn) -> list[FileDiff]:
    files = []
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=8, unique=True)):
        hunks = []
        old, new = draw(st.integers(0, 20)), draw(st.integers(1, 20))
        for _ in range(draw(st.integers(0, 3))):
            kinds = draw(st.text(alphabet="+- ", max_size=40))
            texts = draw(st.lists(line_text, min_size=len(kinds), max_size=len(kinds)))
            header = draw(st.sampled_from(["", "def f():", "class Thing:"]))
            h = hunk_of(kinds, texts, old, new, header)
            hunks.append(h)
            old += h.old_len + draw(st.integers(1, 30))
            new += h.new_len + draw(st.integers(1, 30))
        files.append(
            FileDiff(
                path=path,
                hunks=tuple(hunks),
                whole_file=draw(st.booleans()),
                status=draw(st.sampled_from(["modified", "added", "renamed"])),
                old_path=draw(st.sampled_from([None, "old/name.py"])),
            )
        )
    return files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=file_diffs(),
    budget=st.one_of(st.integers(20, 200), st.integers(200, 3000)),
    overlap=st.integers(0, 5),
    kind=st.sampled_from(["approx", "real", "convex"]),
)
def test_properties(files: list[FileDiff], budget: int, overlap: int, kind: str) -> None:
    tokenizer = {"approx": APPROX, "real": real(), "convex": ConvexTokenizer()}[kind]
    chunks, skipped = make_chunks(files, budget, tokenizer, overlap)
    check_invariants(files, budget, tokenizer, chunks, skipped)
    # (c) deterministic, whatever the input order
    assert make_chunks(list(reversed(files)), budget, tokenizer, overlap) == (chunks, skipped)


# --------------------------------------------------------------------------- context


@st.composite
def contexts_for(
    draw: st.DrawFn, files: list[FileDiff]
) -> dict[str, tuple[tuple[DiffLine, ...], ...]]:
    """Context levels for some files: lines outside their hunks, richest first."""
    out: dict[str, tuple[tuple[DiffLine, ...], ...]] = {}
    for file in files:
        if file.whole_file or not draw(st.booleans()):
            continue
        shown = {ln.new_no for h in file.hunks for ln in h.lines if ln.new_no is not None}
        top = max(shown, default=0) + draw(st.integers(0, 40))
        free = [n for n in range(1, top + 1) if n not in shown]
        if not free:
            continue
        richest = sorted(draw(st.sets(st.sampled_from(free), min_size=1)))
        levels = [richest]
        while len(levels[-1]) > 1 and draw(st.booleans()):
            levels.append(levels[-1][: len(levels[-1]) // 2])
        out[file.path] = tuple(
            tuple(DiffLine(kind="ctx", text=draw(line_text), new_no=n) for n in level)
            for level in levels
        )
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    files=file_diffs(),
    budget=st.one_of(st.integers(20, 200), st.integers(200, 3000)),
    kind=st.sampled_from(["approx", "real", "convex"]),
)
def test_context_never_overflows_and_never_costs_a_changed_line(
    data: st.DataObject, files: list[FileDiff], budget: int, kind: str
) -> None:
    tokenizer = {"approx": APPROX, "real": real(), "convex": ConvexTokenizer()}[kind]
    contexts = data.draw(contexts_for(files))
    chunks, skipped = make_chunks(files, budget, tokenizer, contexts=contexts)
    check_invariants(files, budget, tokenizer, chunks, skipped)
    for chunk in chunks:
        for part in chunk.files:
            if part.context:
                # one of the file's levels, whole, never over a line the hunks show
                assert part.context in contexts[part.path]
                shown = {ln.new_no for h in part.hunks for ln in h.lines}
                assert not shown & {ln.new_no for ln in part.context}
                assert chunk.context_tokens > 0
    # Context is shrunk to nothing before a changed line is given up.
    bare_chunks, bare_skipped = make_chunks(files, budget, tokenizer)
    assert reviewed(chunks).keys() == reviewed(bare_chunks).keys()
    assert skipped == bare_skipped


def test_a_tight_budget_steps_down_the_context_levels() -> None:
    file = code_file("svc.py", adds=3, start=200)
    body = [
        f"    helper_{n} = prepare(step={n}, retries=3, name='context line {n}')"
        for n in range(1, 150)
    ]
    levels = tuple(
        tuple(DiffLine(kind="ctx", text=body[n - 1], new_no=n) for n in range(1, 150 - cut))
        for cut in (0, 100, 140)
    )
    sizes = []
    for budget in (3500, 1300, 400, 300):
        chunks, skipped = make_chunks([file], budget, APPROX, contexts={"svc.py": levels})
        check_invariants([file], budget, APPROX, chunks, skipped)
        assert len(chunks) == 1 and skipped == ()
        sizes.append(len(chunks[0].files[0].context))
    assert sizes == [149, 49, 9, 0]
