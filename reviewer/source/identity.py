"""Which project a run belongs to: the name the shared cache's namespace and the usage ledger
use, the same on every laptop and CI runner of a team.

``owner/repo`` from ``GITHUB_REPOSITORY`` in GitHub Actions, else the path of the ``origin``
remote's URL (``git@github.com:owner/repo.git`` and ``https://github.com/owner/repo`` both give
``owner/repo``), else the repository's directory name. Read from git's config file directly:
a run served from the cache starts no git process for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

_SECTION = re.compile(r'^\s*\[\s*remote\s+"origin"\s*\]\s*$')
_URL = re.compile(r"^\s*url\s*=\s*(.+?)\s*$")
_SCP = re.compile(r"^(?:[^@/]+@)?[^:/]+:(?!//)(.+)$")  # git@host:owner/repo.git


def repository_name(start: Path, environ: Mapping[str, str]) -> str:
    github = environ.get("GITHUB_REPOSITORY", "").strip()
    if github:
        return github
    root = _work_tree_root(start)
    if root is None:
        return start.resolve().name or "default"
    url = _origin_url(root)
    name = _path_of(url) if url else None
    return name or root.name or "default"


def _work_tree_root(start: Path) -> Path | None:
    here = start.resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _git_dir(root: Path) -> Path | None:
    """The directory holding ``config``: ``.git``, or for a worktree its common directory."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    git_dir = (root / text.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    return (git_dir / common).resolve()


def _origin_url(root: Path) -> str | None:
    git_dir = _git_dir(root)
    if git_dir is None:
        return None
    try:
        lines = (git_dir / "config").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    in_origin = False
    for line in lines:
        if line.lstrip().startswith("["):
            in_origin = bool(_SECTION.match(line))
            continue
        match = _URL.match(line) if in_origin else None
        if match:
            return match.group(1).strip('"')
    return None


def _path_of(url: str) -> str | None:
    """``owner/repo`` of a remote URL, never its credentials or host."""
    if "://" in url:
        path = urlsplit(url).path
    else:
        scp = _SCP.match(url)
        path = scp.group(1) if scp else url  # a local path
    path = path.strip("/").removesuffix(".git").strip("/")
    return path or None
