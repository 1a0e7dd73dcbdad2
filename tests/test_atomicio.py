from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reviewer.core.errors import ReviewerError
from reviewer.outputs.atomicio import write_atomic


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_str_as_utf8_and_bytes_as_is(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", "héllo\r\nwörld\n")
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "héllo\r\nwörld\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert leftovers(tmp_path) == []


def test_creates_parent_directories_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "report.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert leftovers(target.parent) == []


def test_new_file_mode_follows_the_umask_and_existing_mode_is_kept(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644
    script = tmp_path / "hook.sh"
    script.write_text("old")
    script.chmod(0o750)
    write_atomic(script, "new")
    assert stat.S_IMODE(script.stat().st_mode) == 0o750


def test_exception_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old report")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the data was written, before the rename

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new report")
    assert target.read_text() == "old report"
    assert leftovers(tmp_path) == []


def test_disk_full_mid_write_leaves_the_old_file_and_names_the_path(tmp_path: Path) -> None:
    # A real short write: the child may not grow any file past 4 KiB (RLIMIT_FSIZE), so
    # writing 1 MiB fails with EFBIG part-way through, like a full disk would.
    target = tmp_path / "report.txt"
    target.write_text("old report")
    child = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from reviewer.outputs.atomicio import write_atomic
        from reviewer.core.errors import ReviewerError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_atomic(Path({str(target)!r}), "x" * (1 << 20))
        except ReviewerError as exc:
            print(exc)
            sys.exit(exc.exit_code)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith(f"cannot write {target}: ")
    assert target.read_text() == "old report"
    assert leftovers(tmp_path) == []


def test_unwritable_target_is_a_reviewer_error(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(ReviewerError, match="cannot write"):
        write_atomic(tmp_path / "adir", "x")  # a directory cannot be replaced by a file
    assert leftovers(tmp_path) == []
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReviewerError, match="cannot write"):
        write_atomic(blocker / "sub" / "out.txt", "x")  # parent is a file
