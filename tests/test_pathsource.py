from __future__ import annotations

import os
from pathlib import Path

import pytest

from reviewer.core.errors import UsageError
from reviewer.core.values import FileDiff
from reviewer.source.paths import read_paths


def write(root: Path, relpath: str, content: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def numbered(diff: FileDiff) -> list[tuple[str, str, int | None, int | None]]:
    return [(ln.kind, ln.text, ln.old_no, ln.new_no) for h in diff.hunks for ln in h.lines]


def test_a_file_is_one_whole_file_hunk_of_added_lines(tmp_path: Path) -> None:
    write(tmp_path, "src/app.py", "import os\n\nprint(os.sep)\n")
    changes = read_paths(["src/app.py"], tmp_path, 1_000_000)
    (diff,) = changes.files
    assert (diff.path, diff.status, diff.whole_file, diff.size) == ("src/app.py", "added", True, 25)
    assert numbered(diff) == [
        ("add", "import os", None, 1),
        ("add", "", None, 2),
        ("add", "print(os.sep)", None, 3),
    ]
    hunk = diff.hunks[0]
    assert (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len) == (0, 0, 1, 3)
    assert (changes.description, changes.root, changes.not_reviewed) == (
        "1 file",
        str(tmp_path),
        (),
    )
    assert (changes.base_sha, changes.head_sha) == (None, None)


def test_directories_are_walked_sorted_skipping_vcs_dirs(tmp_path: Path) -> None:
    write(tmp_path, "pkg/b.py", "b\n")
    write(tmp_path, "pkg/a.py", "a\n")
    write(tmp_path, "pkg/sub/c.py", "c\n")
    write(tmp_path, "pkg/.git/config", "[core]\n")
    write(tmp_path, "pkg/sub/.hg/store", "x\n")
    changes = read_paths(["pkg"], tmp_path, 1_000_000)
    assert [f.path for f in changes.files] == ["pkg/a.py", "pkg/b.py", "pkg/sub/c.py"]
    assert changes.description == "3 files"


def test_paths_are_relative_to_cwd_even_outside_it(tmp_path: Path) -> None:
    cwd = tmp_path / "work"
    cwd.mkdir()
    write(tmp_path, "elsewhere/x.py", "x\n")
    changes = read_paths(["../elsewhere/x.py", str(tmp_path / "elsewhere")], cwd, 1000)
    assert [f.path for f in changes.files] == ["../elsewhere/x.py"]  # the same file once


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^no such file: nope\.py$"):
        read_paths(["nope.py"], tmp_path, 1000)
    with pytest.raises(UsageError, match="no paths"):
        read_paths([], tmp_path, 1000)


def test_files_that_cannot_be_reviewed(tmp_path: Path) -> None:
    write(tmp_path, "d/image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    write(tmp_path, "d/empty.txt", b"")
    write(tmp_path, "d/huge.txt", "x" * 1200)
    write(tmp_path, "d/ok.txt", "fine\n")
    os.symlink(tmp_path / "gone", tmp_path / "d" / "broken")
    os.mkfifo(tmp_path / "d" / "pipe")
    changes = read_paths(["d"], tmp_path, 1000)
    assert [f.path for f in changes.files] == ["d/ok.txt"]
    assert [(n.path, n.reason, n.detail) for n in changes.not_reviewed] == [
        ("d/broken", "unreadable", "broken symbolic link"),
        ("d/empty.txt", "empty", "empty file"),
        ("d/huge.txt", "too-large", "1.2 KB > 1.0 KB"),
        ("d/image.png", "binary", "11 B"),
        ("d/pipe", "unreadable", "not a regular file"),
    ]
    assert changes.description == "6 files"


def test_file_at_exactly_the_limit_is_read(tmp_path: Path) -> None:
    write(tmp_path, "edge.txt", "y" * 999 + "\n")
    (diff,) = read_paths(["edge.txt"], tmp_path, 1000).files
    assert diff.size == 1000


def test_non_utf8_crlf_and_no_final_newline(tmp_path: Path) -> None:
    write(tmp_path, "latin1.txt", "caf\xe9\n".encode("latin-1"))
    write(tmp_path, "crlf.txt", b"one\r\ntwo\r\n")
    write(tmp_path, "open.txt", "a\nb")
    write(tmp_path, "blank.txt", "\n")
    write(tmp_path, "breaks.txt", "a\u2028b\x0cc\n")
    files = {f.path: f for f in read_paths(["."], tmp_path, 1000).files}
    assert numbered(files["latin1.txt"]) == [("add", "caf\ufffd", None, 1)]
    assert [ln.text for ln in files["crlf.txt"].hunks[0].lines] == ["one", "two"]
    assert [ln.text for ln in files["open.txt"].hunks[0].lines] == ["a", "b"]
    assert [ln.text for ln in files["blank.txt"].hunks[0].lines] == [""]
    assert [ln.text for ln in files["breaks.txt"].hunks[0].lines] == ["a\u2028b\x0cc"]


def test_a_named_symlink_is_read_through(tmp_path: Path) -> None:
    write(tmp_path, "real.py", "real\n")
    os.symlink("real.py", tmp_path / "alias.py")
    (diff,) = read_paths(["alias.py"], tmp_path, 1000).files
    assert (diff.path, numbered(diff)) == ("alias.py", [("add", "real", None, 1)])


def test_unreadable_file(tmp_path: Path) -> None:
    # A FIFO cannot be read as a file even by root (chmod 0 would not stop root).
    os.mkfifo(tmp_path / "pipe.txt")
    changes = read_paths(["pipe.txt"], tmp_path, 1000)
    assert [(n.path, n.reason) for n in changes.not_reviewed] == [("pipe.txt", "unreadable")]
    assert changes.files == ()
