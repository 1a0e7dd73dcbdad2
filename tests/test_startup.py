"""What a run that sends nothing never loads: ``openai`` (~0.5 s), the tokenizer (~0.2 s) and
the tree-sitter grammars (context outlines come from the cache).

Each case runs the real entry point in a fresh interpreter and reports ``sys.modules`` on the
way out. Wall-clock targets are measured by ``bench/run.py``, not here (see BENCHMARKS.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import endpoint_env
from fake_openai import FakeOpenAI
from gitrepo import commit, git, write

from reviewer.store.cache import FILE_NAME, TOKENIZER_DIR

PROBE = """
import sys
sys.argv = ["review", *sys.argv[1:]]
from reviewer.cli import main
try:
    main()
finally:
    sys.stderr.write("\\nPROBE openai=%s\\n" % ("openai" in sys.modules))
    sys.stderr.write("PROBE tree_sitter=%s\\n" % ("tree_sitter" in sys.modules))
    sys.stderr.write("PROBE context=%s\\n" % ("reviewer.prepare.context" in sys.modules))
    sys.stderr.write("PROBE pipeline=%s\\n" % ("reviewer.pipeline.review" in sys.modules))
"""


@pytest.fixture(scope="session")
def bytecode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Compiled modules kept for the session's probes (outside the work tree), as an installed
    package has them: without, every probe recompiles the package."""
    return {"PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache"))}


def probe(
    *args: str, cwd: Path, bytecode: dict[str, str], env: dict[str, str] | None = None
) -> tuple[int, bool, str]:
    """(exit code, whether openai was imported, stdout + stderr) of ``review ARGS``, run in a
    new process."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env={**inherited, **bytecode, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert "PROBE openai=" in proc.stderr, proc.stderr
    return proc.returncode, "PROBE openai=True" in proc.stderr, proc.stdout + proc.stderr


@pytest.fixture
def committed(repo: Path) -> Path:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    return repo


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_do_not_import_openai(
    flag: str, tmp_path: Path, bytecode: dict[str, str]
) -> None:
    code, imported, _ = probe(flag, cwd=tmp_path, bytecode=bytecode)
    assert code == 0
    assert not imported


def test_nothing_to_review_imports_neither_openai_nor_the_tokenizer(
    committed: Path, llm: FakeOpenAI, tmp_path: Path, bytecode: dict[str, str]
) -> None:
    cache_dir = tmp_path / "cache"
    for args in ((), ("--hook", "pre-commit")):
        code, imported, err = probe(
            *args,
            "--cache-dir",
            str(cache_dir),
            cwd=committed,
            bytecode=bytecode,
            env=endpoint_env(llm),
        )
        assert code == 0, err
        assert "nothing to review" in err
        assert not imported
        assert "PROBE tree_sitter=False" in err
        assert "PROBE context=False" in err  # not even the context modules
        assert "PROBE pipeline=False" in err  # nor the pipeline: nothing is planned or sent
    assert not llm.requests
    assert not cache_dir.exists()  # no cache opened, no tokenizer ranks written


def test_a_review_served_from_the_cache_imports_neither(
    committed: Path, llm: FakeOpenAI, tmp_path: Path, bytecode: dict[str, str]
) -> None:
    for i in range(3):
        write(committed, f"src/m{i}.py", "".join(f"v{n} = {n} * {i}\n" for n in range(30)))
    commit(committed, "three modules")
    for i in range(3):  # modified, not new: the review shows context around the change
        write(committed, f"src/m{i}.py", "".join(f"v{n} = {n} * {i + 1}\n" for n in range(30)))
    git(committed, "add", "-A")
    cache_dir = tmp_path / "cache"
    args = ("--cache-dir", str(cache_dir))
    env = endpoint_env(llm)

    code, imported, output = probe(*args, cwd=committed, bytecode=bytecode, env=env)
    assert code == 0, output
    assert "findings: 3 medium" in output  # the default reply: a finding on each file
    assert imported, "a review that sends imports openai: the probe sees imports"
    assert "PROBE tree_sitter=True" in output, "the first review parses its Python files"
    sent = len(llm.requests)
    assert sent >= 1 and (cache_dir / FILE_NAME).is_file()
    # Loading the tokenizer writes its ranks file here; a cached run must not load it.
    ranks = cache_dir / TOKENIZER_DIR
    assert any(ranks.glob("*"))
    for path in ranks.glob("*"):
        path.unlink()

    code, imported, output = probe(*args, cwd=committed, bytecode=bytecode, env=env)

    assert code == 0, output
    assert "findings: 3 medium" in output  # the same review, from the cache
    assert len(llm.requests) == sent
    assert not imported
    assert "PROBE tree_sitter=False" in output, "a fully cached review parsed a file"
    assert not any(ranks.glob("*")), "a fully cached review loaded the tokenizer"


def test_eval_help_and_dry_run_do_not_import_openai(
    tmp_path: Path, bytecode: dict[str, str]
) -> None:
    code, imported, output = probe("eval", "--help", cwd=tmp_path, bytecode=bytecode)
    assert code == 0 and "--corpus" in output
    assert not imported
    args = ("eval", "--dry-run", "--cases", "python/sql-*")
    code, imported, output = probe(*args, cwd=tmp_path, bytecode=bytecode)
    assert code == 0, output
    assert "1 case in 1 chunk(s)" in output
    assert not imported
