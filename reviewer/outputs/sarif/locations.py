"""Where a result points: the artifact's URI (relative to ``%SRCROOT%``) and the region."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from reviewer.core.values import Finding
from reviewer.outputs.sarif.text import strip_one_newline

SRCROOT: Final = "%SRCROOT%"


def artifact_location(path: str, root: Path | None) -> dict[str, str]:
    if path.startswith("/"):
        if root is None or not Path(path).is_relative_to(root):
            return {"uri": Path(path).as_uri()}
        path = Path(path).relative_to(root).as_posix()
    rel = path
    while rel.startswith("./"):
        rel = rel[2:]
    # Everything but unreserved characters and "/" is percent-encoded (UTF-8), so spaces,
    # non-ASCII names and a ":" in the first segment (which would read as a scheme) are safe.
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}


def region(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {"startLine": f.start_line, "endLine": max(f.end_line, f.start_line)}
    last = _last_line(f)
    if last is not None:
        # columnKind is utf16CodeUnits (what GitHub's viewer counts in).
        out["startColumn"] = 1
        out["endColumn"] = len(last.encode("utf-16-le")) // 2 + 1
    return out


def with_snippet(region: dict[str, Any], f: Finding) -> dict[str, Any]:
    """The location's region: the fix's region plus the code, so viewers can show it offline."""
    if "endColumn" not in region:
        return region
    return {**region, "snippet": {"text": strip_one_newline(f.code)}}


def _last_line(f: Finding) -> str | None:
    """The text of ``end_line``, when ``code`` holds exactly the range's lines."""
    if not f.code:
        return None
    lines = strip_one_newline(f.code).split("\n")
    if len(lines) != max(f.end_line, f.start_line) - f.start_line + 1:
        return None
    return lines[-1].removesuffix("\r")
