"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The data goes to a temporary file in the target's directory (same filesystem, so the final
``os.replace`` is an atomic rename), is fsynced, then renamed over the target. If anything
fails or the writer is interrupted, the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from reviewer.core.errors import ReviewerError

_CREATE_ATTEMPTS = 10


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (str is written as UTF-8), creating parent directories.

    Raises ``ReviewerError`` (exit code 3) naming the path when the write fails.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise ReviewerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        _keep_mode(path, tmp)
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise ReviewerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        # Also on KeyboardInterrupt: no stray temp file next to the user's report.
        if not done:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _sync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    # os.open with 0o666 lets the umask decide the mode, like a plain open() would;
    # tempfile.mkstemp would leave a 0600 report behind.
    for _ in range(_CREATE_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def _keep_mode(path: Path, tmp: Path) -> None:
    # Replacing a file the user made executable or private should not change its mode.
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, path.stat().st_mode & 0o7777)


def _sync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform or filesystem, and the
    # data is already in place, so failing here is not an error.
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
