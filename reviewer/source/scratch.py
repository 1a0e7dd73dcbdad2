"""A throwaway git repository holding one change: branch ``base`` before it, ``main`` after it.

``review eval`` builds one per corpus case, then reads it back with ``GitRepo.range("base",
"main")`` exactly as ``review --base`` reads a branch, so a case reaches the model the way a real
change does (rename detection, context lines, line numbers). The work tree holds the after
version, as a checkout of the branch would.

Both commits are written by one ``git fast-import`` (two processes per case instead of a dozen:
an eval builds dozens of these). A change given as a patch is applied by ``git apply`` itself.
Git runs as a plain subprocess (GitPython stays in ``reviewer.source.git``) in an environment of
its own: no user or system config, no inherited ``GIT_DIR``/``GIT_INDEX_FILE``, pinned
identities and dates, so a case's commits are the same on every machine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from reviewer.core.errors import GitError, UsageError

BASE = "base"
HEAD = "main"
_IDENTITY = "reviewer eval <eval@reviewer.invalid> 1704067200 +0000"
_PINNED = {
    "GIT_AUTHOR_NAME": "reviewer eval",
    "GIT_AUTHOR_EMAIL": "eval@reviewer.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "reviewer eval",
    "GIT_COMMITTER_EMAIL": "eval@reviewer.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}
_CONFIG = ("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", "-c", "core.safecrlf=false")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def scratch_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without any ``GIT_*`` variable, plus the pinned ones."""
    env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
    env.update(_PINNED)
    return env


def build_change(
    directory: Path,
    before: Mapping[str, bytes],
    *,
    after: Mapping[str, bytes] | None = None,
    deleted: tuple[str, ...] = (),
    patch: bytes | None = None,
    environ: Mapping[str, str] = os.environ,
) -> tuple[str, str]:
    """A new repository in ``directory`` (which must not exist) whose ``base`` branch holds
    ``before`` and whose ``main`` branch (checked out) holds the change: ``after`` written over
    it with ``deleted`` removed, or ``patch`` applied. Returns ("base", "main"). A patch that
    does not apply is a ``UsageError``."""
    env = scratch_env(environ)
    directory.mkdir(parents=True)
    _git(directory, env, "init", "-q", "--template=", "-b", HEAD)
    stream = [*_commit_stream(BASE, "before", before, parent=None)]
    if patch is None:
        tree = {p: d for p, d in before.items() if p not in deleted}
        tree.update(after or {})
        stream += _commit_stream(HEAD, "after", tree, parent=BASE)
    else:
        stream.append(f"reset refs/heads/{HEAD}\nfrom refs/heads/{BASE}\n\n".encode())
    _git(directory, env, "fast-import", "--quiet", "--done", stdin=b"".join([*stream, b"done\n"]))
    if patch is None:
        _write(directory, tree)
        _git(directory, env, "read-tree", HEAD)
        return BASE, HEAD
    _git(directory, env, "read-tree", HEAD)
    status, err, _ = _run(directory, env, ["apply", "--cached", "--whitespace=nowarn", "-"], patch)
    if status != 0:
        raise UsageError(f"the change does not apply to before/: {_first_line(err)}")
    _git(directory, env, "commit", "-q", "--no-verify", "--allow-empty", "-m", "after")
    _git(directory, env, "checkout-index", "-a", "-f")
    return BASE, HEAD


def _commit_stream(
    branch: str, message: str, files: Mapping[str, bytes], parent: str | None
) -> list[bytes]:
    """A fast-import commit of exactly ``files`` on ``branch`` (blobs given inline)."""
    text = message.encode()
    head = (
        f"commit refs/heads/{branch}\nauthor {_IDENTITY}\ncommitter {_IDENTITY}\ndata {len(text)}\n"
    ).encode()
    parts = [head, text, b"\n"]
    if parent is not None:
        parts.append(f"from refs/heads/{parent}\n".encode())
    parts.append(b"deleteall\n")
    for path, data in sorted(files.items()):
        parts.append(f"M 100644 inline {_quote(path)}\ndata {len(data)}\n".encode())
        parts += [data, b"\n"]
    parts.append(b"\n")
    return parts


def _quote(path: str) -> str:
    """A path as fast-import reads it: C-quoted when it could be misread unquoted."""
    if not any(ch in path for ch in '"\\\n\t') and not path.startswith(" "):
        return path
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in path) + '"'


def _write(directory: Path, files: Mapping[str, bytes]) -> None:
    for path, data in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _git(directory: Path, env: Mapping[str, str], *args: str, stdin: bytes | None = None) -> str:
    status, err, out = _run(directory, env, list(args), stdin)
    if status != 0:
        raise GitError(f"git {args[0]} failed in a scratch repository: {_first_line(err)}")
    return out


def _run(
    directory: Path, env: Mapping[str, str], args: list[str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    """(exit status, stderr, stdout) of git; never reads the terminal."""
    try:
        proc = subprocess.run(
            ["git", *_CONFIG, *args],
            cwd=directory,
            env=dict(env),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git was not found: install git or put it on PATH") from None
    return (
        proc.returncode,
        proc.stderr.decode("utf-8", errors="replace"),
        proc.stdout.decode("utf-8", errors="replace"),
    )


def _first_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[0] if lines else "no error message"
