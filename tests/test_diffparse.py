from __future__ import annotations

import difflib
import subprocess
import tempfile
from pathlib import Path

import pytest
from gitrepo import git_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.core.errors import GitError
from reviewer.core.values import FileDiff
from reviewer.source.diffparse import c_unquote, parse_git_diff, parse_unified_diff, split_lines

Z40 = "0" * 40
BLOB_A = "a" * 40
BLOB_B = "b" * 40


def one(text: str) -> FileDiff:
    files = parse_unified_diff(text)
    assert len(files) == 1, files
    return files[0]


def numbered(diff: FileDiff) -> list[tuple[str, str, int | None, int | None]]:
    return [(ln.kind, ln.text, ln.old_no, ln.new_no) for h in diff.hunks for ln in h.lines]


# --------------------------------------------------------------------------- shapes of files


def test_modified_file_line_numbers_and_hunk_header() -> None:
    diff = one(
        "diff --git a/src/app.py b/src/app.py\n"
        f"index {BLOB_A}..{BLOB_B} 100644\n"
        "--- a/src/app.py\n"
        "+++ b/src/app.py\n"
        "@@ -10,3 +10,4 @@ def foo():\n"
        "     a = 1\n"
        "+    b = 2\n"
        "-    c = 3\n"
        "+    c = 4\n"
        "     return a\n"
        "@@ -40 +41 @@ class X:\n"
        "-old\n"
        "+new\n"
    )
    assert (diff.path, diff.status, diff.old_path) == ("src/app.py", "modified", None)
    assert diff.old_mode == diff.new_mode == "100644"
    assert [h.header for h in diff.hunks] == ["def foo():", "class X:"]
    assert (diff.hunks[1].old_start, diff.hunks[1].old_len) == (40, 1)
    assert numbered(diff) == [
        ("ctx", "    a = 1", 10, 10),
        ("add", "    b = 2", None, 11),
        ("del", "    c = 3", 11, None),
        ("add", "    c = 4", None, 12),
        ("ctx", "    return a", 12, 13),
        ("del", "old", 40, None),
        ("add", "new", None, 41),
    ]
    assert diff.hunks[0].added_new_lines == (11, 12)
    assert (diff.added_lines, diff.removed_lines) == (3, 2)


def test_new_and_deleted_files() -> None:
    files = parse_git_diff(
        "diff --git a/new.py b/new.py\n"
        "new file mode 100755\n"
        f"index {Z40}..{BLOB_B}\n"
        "--- /dev/null\n"
        "+++ b/new.py\n"
        "@@ -0,0 +1,2 @@\n"
        "+one\n"
        "+two\n"
        "diff --git a/gone.py b/gone.py\n"
        "deleted file mode 100644\n"
        f"index {BLOB_A}..{Z40}\n"
        "--- a/gone.py\n"
        "+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n"
        "-one\n"
        "-two\n"
    )
    new, gone = files.files
    assert (new.path, new.status, new.new_mode) == ("new.py", "added", "100755")
    assert numbered(new) == [("add", "one", None, 1), ("add", "two", None, 2)]
    assert (gone.path, gone.status, gone.old_mode, gone.old_path) == (
        "gone.py",
        "deleted",
        "100644",
        None,
    )
    assert numbered(gone) == [("del", "one", 1, None), ("del", "two", 2, None)]
    assert files.new_blobs == (BLOB_B, None)


def test_empty_new_and_deleted_files_have_no_hunks() -> None:
    files = parse_unified_diff(
        "diff --git a/empty.txt b/empty.txt\n"
        "new file mode 100644\n"
        f"index {Z40}..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n"
        "diff --git a/with space.txt b/with space.txt\n"
        "deleted file mode 100644\n"
        "index e69de29..0000000\n"
    )
    assert [(f.path, f.status, f.hunks) for f in files] == [
        ("empty.txt", "added", ()),
        ("with space.txt", "deleted", ()),
    ]


def test_pure_rename_and_rename_with_edits() -> None:
    files = parse_unified_diff(
        "diff --git a/old name.py b/new name.py\n"
        "similarity index 100%\n"
        "rename from old name.py\n"
        "rename to new name.py\n"
        "diff --git a/lib/a.py b/lib/b.py\n"
        "similarity index 80%\n"
        "rename from lib/a.py\n"
        "rename to lib/b.py\n"
        f"index {BLOB_A}..{BLOB_B} 100644\n"
        "--- a/lib/a.py\n"
        "+++ b/lib/b.py\n"
        "@@ -1,2 +1,2 @@\n"
        " keep\n"
        "-x = 1\n"
        "+x = 2\n"
    )
    pure, edited = files
    assert (pure.path, pure.old_path, pure.status, pure.hunks) == (
        "new name.py",
        "old name.py",
        "renamed",
        (),
    )
    assert not pure.mode_only
    assert (edited.path, edited.old_path, edited.status) == ("lib/b.py", "lib/a.py", "renamed")
    assert numbered(edited)[-1] == ("add", "x = 2", None, 2)


def test_copy_with_and_without_edits() -> None:
    files = parse_unified_diff(
        "diff --git a/a.txt b/b.txt\n"
        "similarity index 100%\n"
        "copy from a.txt\n"
        "copy to b.txt\n"
        "diff --git a/a.txt b/c.txt\n"
        "similarity index 94%\n"
        "copy from a.txt\n"
        "copy to c.txt\n"
        "index 1111111..2222222 100644\n"
        "--- a/a.txt\n"
        "+++ b/c.txt\n"
        "@@ -20 +20,2 @@\n"
        " 20\n"
        "+21\n"
    )
    assert [(f.path, f.old_path, f.status, len(f.hunks)) for f in files] == [
        ("b.txt", "a.txt", "copied", 0),
        ("c.txt", "a.txt", "copied", 1),
    ]
    assert numbered(files[1]) == [("ctx", "20", 20, 20), ("add", "21", None, 21)]


def test_mode_only_and_mode_with_content() -> None:
    files = parse_unified_diff(
        "diff --git a/run.sh b/run.sh\n"
        "old mode 100644\n"
        "new mode 100755\n"
        "diff --git a/tool.sh b/tool.sh\n"
        "old mode 100644\n"
        "new mode 100755\n"
        "index 1111111..2222222\n"
        "--- a/tool.sh\n"
        "+++ b/tool.sh\n"
        "@@ -1 +1 @@\n"
        "-a\n"
        "+b\n"
    )
    mode_only, with_content = files
    assert (mode_only.mode_only, mode_only.old_mode, mode_only.new_mode) == (
        True,
        "100644",
        "100755",
    )
    assert mode_only.status == "modified"
    assert not with_content.mode_only
    assert (with_content.old_mode, with_content.new_mode) == ("100644", "100755")


def test_binary_files_both_forms_and_the_payload_is_skipped() -> None:
    parsed = parse_git_diff(
        "diff --git a/logo.png b/logo.png\n"
        "new file mode 100644\n"
        f"index {Z40}..{BLOB_B}\n"
        "Binary files /dev/null and b/logo.png differ\n"
        "diff --git a/data.bin b/data.bin\n"
        f"index {BLOB_A}..{BLOB_B} 100644\n"
        "GIT binary patch\n"
        "literal 12\n"
        "TcmZQzU|?ooU|?ooU|@g%01f~E\n"
        "\n"
        "literal 3\n"
        "KcmZQzWMTjS00RI3\n"
        "\n"
        "diff --git a/after.txt b/after.txt\n"
        "index 1111111..2222222 100644\n"
        "--- a/after.txt\n"
        "+++ b/after.txt\n"
        "@@ -1 +1 @@\n"
        "-x\n"
        "+y\n"
    )
    logo, data, after = parsed.files
    assert (logo.path, logo.status, logo.binary, logo.hunks) == ("logo.png", "added", True, ())
    assert (data.path, data.binary, data.hunks) == ("data.bin", True, ())
    assert (after.binary, numbered(after)) == (
        False,
        [("del", "x", 1, None), ("add", "y", None, 1)],
    )
    assert parsed.new_blobs[:2] == (BLOB_B, BLOB_B)


def test_submodule_pointers() -> None:
    added, moved = parse_unified_diff(
        "diff --git a/sub b/sub\n"
        "new file mode 160000\n"
        f"index {Z40}..{BLOB_B}\n"
        "--- /dev/null\n"
        "+++ b/sub\n"
        "@@ -0,0 +1 @@\n"
        f"+Subproject commit {BLOB_B}\n"
        "diff --git a/lib/dep b/lib/dep\n"
        f"index {BLOB_A}..{BLOB_B} 160000\n"
        "--- a/lib/dep\n"
        "+++ b/lib/dep\n"
        "@@ -1 +1 @@\n"
        f"-Subproject commit {BLOB_A}\n"
        f"+Subproject commit {BLOB_B}-dirty\n"
    )
    assert (added.path, added.status, added.submodule, added.new_mode) == (
        "sub",
        "added",
        True,
        "160000",
    )
    assert (moved.path, moved.submodule) == ("lib/dep", True)
    # Recognized from the content too, for diffs that lost their mode lines.
    plain = one(
        "--- a/dep\n+++ b/dep\n@@ -1 +1 @@\n"
        f"-Subproject commit {BLOB_A}\n+Subproject commit {BLOB_B}\n"
    )
    assert plain.submodule


def test_no_newline_at_end_of_file_markers_are_dropped() -> None:
    f, g = parse_unified_diff(
        "diff --git a/f b/f\n"
        "index 1111111..2222222 100644\n"
        "--- a/f\n"
        "+++ b/f\n"
        "@@ -1,2 +1,2 @@\n"
        " a\n"
        "-b\n"
        "\\ No newline at end of file\n"
        "+c\n"
        "\\ No newline at end of file\n"
        "diff --git a/g b/g\n"
        "--- a/g\n"
        "+++ b/g\n"
        "@@ -1 +1 @@\n"
        "-x\n"
        "+y\n"
    )
    assert numbered(f) == [("ctx", "a", 1, 1), ("del", "b", 2, None), ("add", "c", None, 2)]
    assert numbered(g) == [("del", "x", 1, None), ("add", "y", None, 1)]


def test_crlf_content_loses_the_carriage_return_but_keeps_numbers() -> None:
    diff = one(
        "diff --git a/w.txt b/w.txt\n"
        "--- a/w.txt\n"
        "+++ b/w.txt\n"
        "@@ -1,3 +1,3 @@\n"
        " one\r\n"
        "-two\r\n"
        "+2\r\n"
        " three\r\n"
    )
    assert numbered(diff) == [
        ("ctx", "one", 1, 1),
        ("del", "two", 2, None),
        ("add", "2", None, 2),
        ("ctx", "three", 3, 3),
    ]


def test_a_whole_crlf_patch_file_parses() -> None:
    text = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@ f\n-a\n+b\n"
    diff = one(text.replace("\n", "\r\n"))
    assert (diff.path, diff.old_mode, diff.hunks[0].header) == ("x", "100644", "f")
    assert numbered(diff) == [("del", "a", 1, None), ("add", "b", None, 1)]


def test_only_newline_splits_lines() -> None:
    # \x0b, \x0c, \x1c and \u2028 are line breaks to str.splitlines, not to git.
    diff = one("--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+a\x0bb\x1cc\u2028d\n+e\x0cf\n")
    assert numbered(diff) == [("add", "a\x0bb\x1cc\u2028d", None, 1), ("add", "e\x0cf", None, 2)]
    assert split_lines("a\r\nb\u2028c\n\n") == ["a", "b\u2028c", ""]
    assert split_lines("x") == ["x"]


# --------------------------------------------------------------------------- paths


def test_quoted_non_ascii_path() -> None:
    diff = one(
        'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\n'
        "new file mode 100644\n"
        f"index {Z40}..{BLOB_B}\n"
        "--- /dev/null\n"
        '+++ "b/caf\\303\\251.py"\n'
        "@@ -0,0 +1 @@\n"
        "+x\n"
    )
    assert diff.path == "café.py"


def test_space_in_path_with_git_trailing_tab() -> None:
    diff = one(
        "diff --git a/sp ace.py b/sp ace.py\n"
        "--- a/sp ace.py\t\n"
        "+++ b/sp ace.py\t\n"
        "@@ -1 +1 @@\n"
        "-a\n"
        "+b\n"
    )
    assert diff.path == "sp ace.py"


def test_mixed_quoting_in_a_rename() -> None:
    diff = one(
        'diff --git a/sp ace.py "b/sp \\"q\\".py"\n'
        "similarity index 100%\n"
        "rename from sp ace.py\n"
        'rename to "sp \\"q\\".py"\n'
    )
    assert (diff.path, diff.old_path) == ('sp "q".py', "sp ace.py")


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("diff --git a/x b/y b/x b/y", "x b/y"),  # halves agree: the only reading
        ('diff --git "a/t\\tab" "b/t\\tab"', "t\tab"),
        ('diff --git a/plain "b/new\\nline"', "new\nline"),
        ('diff --git "a/\\346\\227\\245\\346\\234\\254" b/x', "x"),
    ],
)
def test_path_from_the_diff_git_line_alone(line: str, path: str) -> None:
    assert one(f"{line}\nnew file mode 100644\nindex 0000000..e69de29\n").path == path


def test_c_unquote_escapes_and_invalid_utf8() -> None:
    assert c_unquote('"a\\"b\\\\c\\td\\303\\251" rest') == ('a"b\\c\td\u00e9', " rest")
    assert c_unquote('"\\377x"')[0] == "\ufffdx"
    with pytest.raises(GitError, match="unterminated"):
        c_unquote('"never closed')


# --------------------------------------------------------------------------- odd input


def test_unmerged_paths_and_combined_diffs_are_not_files() -> None:
    parsed = parse_git_diff(
        "* Unmerged path conflict.txt\n"
        '* Unmerged path "caf\\303\\251.txt"\n'
        "diff --cc both.txt\n"
        "index 1111111,2222222..0000000\n"
        "--- a/both.txt\n"
        "+++ b/both.txt\n"
        "@@@ -1,1 -1,1 +1,5 @@@\n"
        "++<<<<<<< HEAD\n"
        "diff --git a/ok.txt b/ok.txt\n"
        "new file mode 100644\n"
        "index 0000000..1111111\n"
        "--- /dev/null\n"
        "+++ b/ok.txt\n"
        "@@ -0,0 +1 @@\n"
        "+ok\n"
    )
    assert parsed.unmerged == ("conflict.txt", "café.txt")
    assert [f.path for f in parsed.files] == ["ok.txt"]


def test_plain_unified_diff_with_several_files_and_timestamps() -> None:
    files = parse_unified_diff(
        "Some mail preamble\n"
        "--- a/one.py\t2024-01-01 00:00:00\n"
        "+++ b/one.py\t2024-01-02 00:00:00\n"
        "@@ -1 +1,2 @@\n"
        " a\n"
        "+b\n"
        "--- /dev/null\n"
        "+++ b/two.py\n"
        "@@ -0,0 +1 @@\n"
        "+new\n"
        "-- \n"
        "2.39.0\n"
    )
    assert [(f.path, f.status) for f in files] == [("one.py", "modified"), ("two.py", "added")]
    assert numbered(files[0]) == [("ctx", "a", 1, 1), ("add", "b", None, 2)]


def test_blank_context_lines_without_their_space_are_tolerated() -> None:
    diff = one("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n")
    assert numbered(diff) == [
        ("ctx", "a", 1, 1),
        ("ctx", "", 2, 2),
        ("del", "b", 3, None),
        ("add", "c", None, 3),
    ]


def test_empty_input_is_no_files() -> None:
    assert parse_unified_diff("") == []
    assert parse_unified_diff("\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--- a/f\n+++ b/f\n@@ -1,x +1 @@\n-a\n", "bad hunk header"),
        ("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n", "cut short"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n?b\n", "unexpected line"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n-b\n", "unexpected line"),
        ("@@ -1 +1 @@\n-a\n+b\n", "hunk before any file header"),
        ("diff --git a/ b/\n--- a/\n+++ b/\n", "names no path"),
        ('diff --git "a/open b/x\n', "unterminated"),
        ("--- a/f\n+++ b/f\n@@ -1 +1" + "9" * 5000 + " @@\n", "bad hunk header"),
    ],
)
def test_malformed_input_raises_a_one_line_git_error(text: str, message: str) -> None:
    with pytest.raises(GitError, match=message) as info:
        parse_unified_diff(text)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- properties


def apply(old: list[str], new: list[str], diff: FileDiff) -> list[str]:
    """Rebuild the new file from the old one and the hunks, checking every number."""
    out: list[str] = []
    pos = 0  # next old line (0-based) not yet copied
    for hunk in diff.hunks:
        start = hunk.old_start - 1 if hunk.old_len else hunk.old_start
        out.extend(old[pos:start])
        pos = start
        for ln in hunk.lines:
            if ln.kind in ("ctx", "del"):
                assert ln.old_no is not None and old[ln.old_no - 1] == ln.text
                pos = ln.old_no
            if ln.kind in ("ctx", "add"):
                assert ln.new_no is not None and new[ln.new_no - 1] == ln.text
                assert ln.new_no == len(out) + 1
                out.append(ln.text)
    out.extend(old[pos:])
    return out


LINES = st.lists(st.sampled_from(["a", "b", "c", "", " x", "-y", "+z", "\\w", "@@"]), max_size=25)


@given(old=LINES, new=LINES, context=st.integers(min_value=0, max_value=4))
def test_difflib_diffs_rebuild_the_new_file(old: list[str], new: list[str], context: int) -> None:
    text = "".join(
        difflib.unified_diff(
            [f"{s}\n" for s in old], [f"{s}\n" for s in new], "a/f.txt", "b/f.txt", n=context
        )
    )
    files = parse_unified_diff(text)
    assert apply(old, new, files[0]) == new if files else old == new


NO_INDEX_DIFF = ("git", "diff", "--no-index", "--no-color", "--no-ext-diff")
NO_INDEX_DIFF += ("--src-prefix=a/", "--dst-prefix=b/")
RAW_LINES = st.lists(
    st.sampled_from(["a", "b", "", "a\r", "x\x0by", "\u2028", "é", "\x1c", "-", "+"]),
    max_size=15,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=RAW_LINES,
    new=RAW_LINES,
    old_eol=st.booleans(),
    new_eol=st.booleans(),
    context=st.integers(min_value=0, max_value=3),
)
def test_real_git_diffs_rebuild_the_new_file(
    old: list[str], new: list[str], old_eol: bool, new_eol: bool, context: int
) -> None:
    old_text = "\n".join(old) + ("\n" if old_eol and old else "")
    new_text = "\n".join(new) + ("\n" if new_eol and new else "")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "old").write_bytes(old_text.encode())
        Path(tmp, "new").write_bytes(new_text.encode())
        proc = subprocess.run(
            [*NO_INDEX_DIFF, f"-U{context}", "old", "new"],
            cwd=tmp,
            env=git_env(),
            capture_output=True,
            check=False,
        )
    assert proc.returncode in (0, 1), proc.stderr
    files = parse_unified_diff(proc.stdout.decode())
    old_lines, new_lines = split_lines(old_text), split_lines(new_text)
    if old_text == new_text:
        assert files == []
        return
    assert [f.path for f in files] == ["new"]
    assert apply(old_lines, new_lines, files[0]) == new_lines


FRAGMENTS = st.sampled_from(
    [
        "diff --git a/x b/x",
        'diff --git "a/\\303 b/q"',
        "--- a/x",
        "+++ b/x",
        "--- /dev/null",
        "+++ /dev/null",
        "@@ -1 +1 @@",
        "@@ -0,0 +1,2 @@ h",
        "@@ -3,2 +3,0 @@",
        "@@@ -1 -1 +1 @@@",
        "+a",
        "-a",
        " a",
        "",
        "\\ No newline at end of file",
        "new file mode 100644",
        "deleted file mode 160000",
        "old mode 100644",
        "new mode 100755",
        "rename from a",
        'rename to "b',
        "copy to c",
        "index 0000000..1234567 100644",
        "Binary files a/x and b/x differ",
        "GIT binary patch",
        "* Unmerged path z",
        "diff --cc z",
    ]
)


@settings(max_examples=300)
@given(st.one_of(st.text(), st.lists(FRAGMENTS, max_size=30).map("\n".join)))
def test_fuzz_parse_returns_files_or_raises_git_error(text: str) -> None:
    try:
        files = parse_unified_diff(text)
    except GitError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(isinstance(f, FileDiff) and f.path for f in files)
