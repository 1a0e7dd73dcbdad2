"""reviewer.prepare.context: outlines (tree-sitter per language, the fallback), the levels
each hunk gets, budgets, redaction, staleness, the renderer's context block, the readers of
the source stage and the outline cache. The requests themselves: tests/test_context_request.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from context_corpus import CASES, Case, cases
from gitrepo import commit, git, make_repo, write

from reviewer.core.values import Chunk, ChunkFile, DiffLine, FileDiff
from reviewer.findings.anchor import anchor_findings
from reviewer.llm.answer import ModelFinding
from reviewer.prepare.context.fallback import fallback_outline
from reviewer.prepare.context.gather import gather_context
from reviewer.prepare.context.languages import language_of
from reviewer.prepare.context.outline import Outline, ParsingOutliner
from reviewer.prepare.context.select import context_levels
from reviewer.prepare.context.treesitter import tree_sitter_outline
from reviewer.prepare.render import render_chunk
from reviewer.prepare.tokens import ApproxTokenizer
from reviewer.source.diffparse import parse_git_diff
from reviewer.source.git import GitContents, open_repo
from reviewer.source.paths import PathContents
from reviewer.store.cache import CachingOutliner, ReviewCache

APPROX = ApproxTokenizer()
BIG = cases(spacer=400)


class Reader:
    """A ContentReader over a dict, counting reads."""

    def __init__(self, contents: dict[str, str]) -> None:
        self.contents = contents
        self.reads: list[str] = []

    def read(self, path: str) -> str | None:
        self.reads.append(path)
        return self.contents.get(path)

    def close(self) -> None:
        pass


def diff_of(case: Case, context_lines: int = 3) -> FileDiff:
    """The real git diff of a case, parsed."""
    import difflib

    text = "".join(
        difflib.unified_diff(
            case.before.splitlines(keepends=True),
            case.after.splitlines(keepends=True),
            f"a/{case.path}",
            f"b/{case.path}",
            n=context_lines,
        )
    )
    header = f"diff --git a/{case.path} b/{case.path}\nindex 1111111..2222222 100644\n"
    return parse_git_diff(header + text).files[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.split("\n"), 1) if needle in ln)


# --------------------------------------------------------------------------- outlines


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.language != "fallback"], ids=lambda c: c.language
)
def test_tree_sitter_finds_the_enclosing_function_and_the_called_helper(case: Case) -> None:
    outline = tree_sitter_outline(language_of(case.path), case.after)
    signature = line_of(case.after, case.signature)
    helper = line_of(case.after, case.called)
    enclosing = [d for d in outline if d.start <= signature <= d.header_end]
    assert enclosing, outline
    assert enclosing[-1].kind == "function"
    assert enclosing[-1].end > signature + 8  # the whole body, not just the signature
    assert [d for d in outline if d.start == helper == d.header_end and d.kind == "function"]


def test_python_signatures_span_decorators_and_long_parameter_lists() -> None:
    text = (
        "@cache\n"
        "@other(1)\n"
        "def load(\n"
        "    name: str,\n"
        "    retries: int = 3,\n"
        ") -> bytes:\n"
        '    """Doc."""\n'
        "    return b''\n"
    )
    (d,) = tree_sitter_outline("python", text)
    assert (d.name, d.start, d.header_end, d.end) == ("load", 1, 6, 8)


def test_brace_signatures_end_on_the_line_that_opens_the_body() -> None:
    text = "int add(\n    int a,\n    int b) {\n  return a + b;\n}\n"
    (d,) = tree_sitter_outline("c", text)
    assert (d.name, d.start, d.header_end, d.end) == ("add", 1, 3, 5)


def test_tsx_and_arrow_functions_are_definitions() -> None:
    text = (
        "export const Button = (props: Props) => {\n"
        "  return <button onClick={props.onClick}>{props.label}</button>;\n"
        "};\n"
    )
    (d,) = tree_sitter_outline("tsx", text)
    assert (d.kind, d.name, d.start, d.end) == ("function", "Button", 1, 3)


def test_a_file_that_does_not_parse_still_gets_what_the_parser_recovers() -> None:
    text = "def ok(a):\n    return a\n\ndef broken(:\n    pass\n"
    names = [d.name for d in tree_sitter_outline("python", text)]
    assert "ok" in names


def test_fallback_outline_of_ruby_kotlin_and_yaml() -> None:
    ruby = next(c for c in CASES if c.language == "fallback").after
    names = {(d.kind, d.name) for d in fallback_outline(ruby)}
    assert {("function", "sanitize"), ("class", "Mailer"), ("function", "deliver")} <= names
    kotlin = (
        "class Cart(val items: List<Item>) {\n"
        "    fun total(tax: Double): Double {\n"
        "        if (items.isEmpty()) {\n"
        "            return 0.0\n"
        "        }\n"
        "        return items.sumOf { it.price } * tax\n"
        "    }\n"
        "}\n"
    )
    outline = fallback_outline(kotlin)
    total = next(d for d in outline if d.name == "total")
    assert (total.kind, total.start, total.end) == ("function", 2, 7)  # the closing brace too
    assert next(d for d in outline if d.name == "Cart").end == 8
    assert any(d.kind == "block" and d.start == 3 and d.end == 5 for d in outline)  # the if
    yaml = "jobs:\n  test:\n    runs-on: ubuntu\n    steps:\n      - run: make\n"
    assert [(d.kind, d.start, d.end) for d in fallback_outline(yaml)] == [
        ("block", 1, 5),
        ("block", 2, 5),
        ("block", 4, 5),
    ]


# --------------------------------------------------------------------------- levels


@pytest.mark.parametrize("case", BIG, ids=lambda c: c.language)
def test_scope_levels_show_the_enclosing_scope_and_the_called_signature(case: Case) -> None:
    diff = diff_of(case)
    total = len(case.after.splitlines())
    outline = ParsingOutliner().outline(language_of(case.path), case.after)
    levels = dict(context_levels(total, diff.hunks, outline))
    assert next(iter(levels)) == "file"
    scope = levels["scope"]
    signature, helper = line_of(case.after, case.signature), line_of(case.after, case.called)
    assert {signature, helper} <= scope
    assert signature in levels["signatures"] and helper in levels["signatures"]
    spacer = line_of(case.after, "spacer") if "spacer" in case.after else None
    if spacer:
        assert spacer not in scope
    shown = {ln.new_no for h in diff.hunks for ln in h.lines}
    sizes = [len(lines) for lines in levels.values()]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert all(not (lines & shown) for lines in levels.values())


def test_a_change_outside_any_definition_gets_only_called_signatures() -> None:
    text = "def helper(x):\n    return x\n\n\n" + "".join(f"v{i} = {i}\n" for i in range(20))
    after = text.replace("v10 = 10\n", "v10 = helper(10)\n")
    case = Case("m.py", text, after, "v10", "def helper(x):", "python")
    levels = context_levels(24, diff_of(case).hunks, tree_sitter_outline("python", after))
    assert [(name, lines) for name, lines in levels[1:]] == [("scope", frozenset({1}))]


# --------------------------------------------------------------------------- gather


def gathered(files: list[FileDiff], contents: dict[str, str], **kw: object):  # type: ignore[no-untyped-def]
    options = {"mode": "scope", "budget": 12000, "redact": True, **kw}
    return gather_context(
        files,
        reader=Reader(contents),
        outliner=ParsingOutliner(),
        tokenizer=APPROX,
        **options,  # type: ignore[arg-type]
    )


def test_small_files_come_whole_and_large_ones_with_their_scope() -> None:
    small, big = CASES[0], BIG[1]
    result = gathered([diff_of(small)], {small.path: small.after})
    (richest, *_) = result.levels[small.path]
    shown = {ln.new_no for h in diff_of(small).hunks for ln in h.lines if ln.new_no}
    assert {ln.new_no for ln in richest} | shown == set(range(1, len(small.after.splitlines()) + 1))
    result = gathered([diff_of(big)], {big.path: big.after})
    richest = result.levels[big.path][0]
    texts = [ln.text for ln in richest]
    assert big.signature in "\n".join(texts) and big.called in texts
    assert len(richest) < 40


def long_function_case() -> Case:
    body = "".join(f"    total += weight_{i} * value_{i}  # step {i}\n" for i in range(200))
    before = "def accumulate(values, weights):\n    total = 0\n" + body + "    return total\n"
    after = before.replace("# step 100\n", "# step 100 (changed)\n")
    return Case("acc.py", before, after, "def accumulate(values, weights):", "", "python")


def test_the_budget_trims_a_long_scope_and_file_mode_takes_more() -> None:
    case = long_function_case()
    diff = diff_of(case)

    def richest(**kw: object) -> frozenset[int]:
        levels = gathered([diff], {case.path: case.after}, **kw).levels.get(case.path, ())
        return frozenset(ln.new_no or 0 for ln in levels[0]) if levels else frozenset()

    whole, scope = richest(mode="file"), richest()
    assert len(whole) == 203 - 7  # every line the hunk does not show
    # the function does not fit the allowance: its signature and 20 lines either side
    assert scope == {1, 203} | set(range(83, 100)) | set(range(107, 124))  # change: 103
    tighter = richest(budget=400)
    assert {1, 203} <= tighter < scope
    assert richest(budget=160) <= {1, 203}


def test_lines_mode_and_whole_file_reviews_read_nothing() -> None:
    case = CASES[0]
    reader = Reader({case.path: case.after})
    for mode, files in (
        ("lines", [diff_of(case)]),
        ("scope", [diff_of(case).model_copy(update={"whole_file": True})]),
    ):
        result = gather_context(
            files,
            mode=mode,  # type: ignore[arg-type]
            reader=reader,
            outliner=ParsingOutliner(),
            tokenizer=APPROX,
            budget=12000,
            redact=True,
        )
        assert result.levels == {}
    assert reader.reads == []


def test_content_that_disagrees_with_the_diff_gets_no_context_and_a_warning() -> None:
    case = BIG[0]
    moved = "# a line added after the diff was taken\n" + case.after
    result = gathered([diff_of(case)], {case.path: moved})
    assert result.levels == {}
    assert "does not match the diff" in result.warnings[0]


def test_secrets_in_context_lines_are_redacted_and_counted() -> None:
    key = "AKIA" + "ZQ3DRXKV7PNM4W2B"
    base = BIG[0]
    before = base.before.replace('"""Read a config file."""', f'aws_key = "{key}"')
    case = Case(
        base.path,
        before,
        before.replace("        path = name\n", "        path = normalise_path(name, self.root)\n"),
        base.signature,
        base.called,
        "python",
    )
    result = gathered([diff_of(case)], {case.path: case.after})
    text = "\n".join(ln.text for ln in result.levels[case.path][0])
    assert key not in text and "[REDACTED:" in text
    assert result.redactions == 1
    plain = gathered([diff_of(case)], {case.path: case.after}, redact=False)
    assert key in "\n".join(ln.text for ln in plain.levels[case.path][0])


# --------------------------------------------------------------------------- render + anchor


def chunk_with_context(case: Case) -> Chunk:
    diff = diff_of(case)
    levels = gathered([diff], {case.path: case.after}).levels[case.path]
    part = ChunkFile(path=case.path, hunks=diff.hunks, context=levels[0])
    return Chunk(id="c1", index=0, files=(part,), tokens=1)


def test_context_runs_and_hunks_are_rendered_in_line_order() -> None:
    chunk = chunk_with_context(BIG[0])
    text = render_chunk(chunk.files)
    numbers = [int(ln.split()[0]) for ln in text.splitlines() if ln[:6].strip().isdigit()]
    assert numbers == sorted(numbers)
    assert "::: context :::\n" in text
    signature = next(ln for ln in text.splitlines() if BIG[0].signature in ln)
    assert signature.split("|")[0].strip().endswith(":")


def test_pure_deletions_split_context_runs_around_them() -> None:
    lines = tuple(DiffLine(kind="ctx", text=f"c{n}", new_no=n) for n in (1, 2, 3, 4, 5, 6))
    from test_chunker import hunk_of

    hunk = hunk_of("-", ["gone"], 4, 3)  # deleted after new line 3
    hunk = hunk.model_copy(update={"new_len": 0})
    text = render_chunk([ChunkFile(path="a.py", hunks=(hunk,), context=lines)])
    body = text.split("\n", 2)[2]
    assert body.index("   3 : | c3") < body.index("- | gone") < body.index("   4 : | c4")
    assert body.count("::: context :::") == 2


def test_findings_on_context_lines_are_discarded_and_spanning_ones_clamped() -> None:
    case = BIG[0]
    chunk = chunk_with_context(case)
    changed = sorted(chunk.files[0].changed_lines)
    signature = line_of(case.after, case.signature)

    def finding(start: int, end: int) -> ModelFinding:
        return ModelFinding(
            path=case.path,
            start_line=start,
            end_line=end,
            severity="high",
            category="bug",
            confidence=0.9,
            title="t",
            message="m",
            suggestion="x = 1",
        )

    outcome = anchor_findings(
        [finding(signature, signature), finding(signature, changed[0])], chunk
    )
    assert outcome.discarded == 1 and outcome.clamped == 1
    (kept,) = outcome.findings
    assert (kept.start_line, kept.end_line, kept.suggestion) == (changed[0], changed[0], None)


# --------------------------------------------------------------------------- readers


def test_git_contents_read_the_index_and_the_head_tree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write(repo, "a.py", "one = 1\n")
    write(repo, "bin.dat", b"\0\1\2" * 10)
    write(repo, "big.txt", "x" * 5000 + "\n")
    first = commit(repo, "base")
    write(repo, "a.py", "one = 2\n")
    git(repo, "add", "a.py")
    write(repo, "a.py", "one = 3  # not staged\n")
    with open_repo(repo) as r:
        staged = r.staged()
        assert staged.content_rev == ""
        ranged = r.range(first, "HEAD")
        assert ranged.content_rev == ranged.head_sha
    index = GitContents(repo, "", max_bytes=1000)
    head = GitContents(repo, first, max_bytes=1000)
    try:
        assert index.read("a.py") == "one = 2\n"
        assert head.read("a.py") == "one = 1\n"
        assert head.read("missing.py") is None
        assert head.read("bin.dat") is None
        assert head.read("big.txt") is None  # over max_bytes, read off the pipe
        assert head.read("a.py") == "one = 1\n"  # the process is still in step
    finally:
        index.close()
        head.close()
    index.close()  # twice is fine


def test_path_contents_read_files_on_disk(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.bin").write_bytes(b"\0abc")
    reader = PathContents(tmp_path, max_bytes=100)
    assert reader.read("a.py") == "x = 1\n"
    assert reader.read("b.bin") is None
    assert reader.read("nope.py") is None


def test_outlines_come_from_the_cache_the_second_time(tmp_path: Path) -> None:
    class Counting(ParsingOutliner):
        calls = 0

        def outline(self, language: str, text: str) -> Outline:
            Counting.calls += 1
            return super().outline(language, text)

    case = BIG[0]
    for _ in range(2):
        cache = ReviewCache(tmp_path, warn=pytest.fail)
        outliner = CachingOutliner(Counting(), cache)
        first = outliner.outline("python", case.after)
        assert outliner.outline("python", case.after) == first
        cache.close()
    assert Counting.calls == 1
    assert "tree_sitter" in sys.modules  # parsed once, in this process


def test_context_redactions_are_sites_with_their_family_and_honour_redact_pii() -> None:
    mail = "jane.doe" + "@corp-mail.de"
    base = BIG[0]
    before = base.before.replace('"""Read a config file."""', f'owner = "{mail}"')
    case = Case(
        base.path,
        before,
        before.replace("        path = name\n", "        path = normalise_path(name, self.root)\n"),
        base.signature,
        base.called,
        "python",
    )
    result = gathered([diff_of(case)], {case.path: case.after})
    assert [(s.path, s.family, s.kind) for s in result.sites] == [(case.path, "email", "pii")]
    assert result.sites[0].line is not None
    kept = gathered([diff_of(case)], {case.path: case.after}, pii=False)
    assert kept.sites == ()
    assert mail in "\n".join(ln.text for ln in kept.levels[case.path][0])
