"""A non-editable ``pip install .`` ships the built-in corpus and its schema: ``review eval``
works from an installed package, not only from a checkout.

Slow (pip builds the wheel in an isolated environment): ``python -m pytest -m slow``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_FROM_SITE = (
    "import sys, reviewer; print('from', reviewer.__file__, file=sys.stderr); "
    "sys.argv = ['review', 'eval', '--dry-run']; from reviewer.cli import main; main()"
)


def _source_copy(target: Path) -> Path:
    """The project's files as git sees them (tracked and new, not ignored), so the build
    leaves nothing behind in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_a_non_editable_install_has_the_corpus(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "src")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    installed = site / "reviewer" / "evaluate"
    assert (installed / "case.schema.json").is_file()
    # pip byte-compiles the corpus's Python files too; the loader skips __pycache__.
    shipped = sorted(
        p.relative_to(installed).as_posix()
        for p in installed.rglob("corpus/**/*")
        if "__pycache__" not in p.parts
    )
    assert any("__pycache__" in p.parts for p in installed.rglob("corpus/**/*"))
    packaged = sorted(
        p.relative_to(ROOT / "reviewer" / "evaluate").as_posix()
        for p in (ROOT / "reviewer" / "evaluate" / "corpus").rglob("*")
    )
    assert shipped == packaged  # every file, the buggy .py/.go/.java ones included

    # The installed package (dependencies from this environment) plans the whole corpus.
    env = {**os.environ, "PYTHONPATH": str(site), "OPENAI_API_KEY": "sk-unused"}
    proc = subprocess.run(
        [sys.executable, "-c", RUN_FROM_SITE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"from {site}" in proc.stderr  # the installed copy, not the checkout
    cases = sum(1 for _ in (ROOT / "reviewer" / "evaluate" / "corpus").rglob("case.json"))
    assert proc.stdout.startswith(f"{cases} cases in {cases} chunk(s)")
