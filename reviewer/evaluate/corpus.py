"""The corpus of ``review eval``: its on-disk format, loading it, and checking it against a change.

A corpus is a directory. Every directory below it holding a ``case.json`` is one case, named by
its path relative to the corpus (``python/sql-format-string``). A case directory holds::

    case.json     what the change is and its known problems (schema: case.schema.json)
    before/       the files before the change (absent: every file of the change is new)
    after/        the changed and added files after it (unchanged files need not be repeated)
    change.diff   or, instead of after/: the change as a unified diff against before/

Known problems are labelled in new-file line numbers (the after version) and must touch a line
the change adds: a review only comments on changed lines, so a problem anywhere else could never
be found. ``check_reachable`` enforces that once the change is built.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from reviewer.core.errors import UsageError
from reviewer.core.globs import glob_matches
from reviewer.core.values import Category, FileDiff, Frozen, Severity

CASE_FILE = "case.json"
BEFORE_DIR = "before"
AFTER_DIR = "after"
PATCH_FILE = "change.diff"
SCHEMA_FILE = "case.schema.json"
SCHEMA_ID = "https://github.com/reviewer-dev/reviewer/blob/main/reviewer/evaluate/case.schema.json"
BUILTIN_NAME = "built-in"
FINGERPRINT_HEX_CHARS = 16


def _relative_path(path: str) -> str:
    """A repository-relative POSIX path: no leading ``/``, no ``..``, no ``\\``."""
    if not path or path.startswith("/") or "\\" in path:
        raise ValueError("must be a relative POSIX path, like src/app.py")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("must not contain empty, '.' or '..' parts")
    return path


class Problem(Frozen):
    """A known problem: the lines of a file a reviewer should comment on, and what kind it is."""

    path: str = Field(description="The file, relative to the repository root, after the change.")
    start_line: int = Field(ge=1, description="First line of the problem, in the after version.")
    end_line: int = Field(ge=1, description="Last line of the problem (>= start_line).")
    category: Category = Field(description="The kind of problem, as reviews report it.")
    severity: Severity | None = Field(
        default=None, description="How bad it is (informational; not used for matching)."
    )
    description: str = Field(default="", description="What is wrong, for people reading results.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return _relative_path(value)

    @model_validator(mode="after")
    def _ordered(self) -> Problem:
        if self.end_line < self.start_line:
            raise ValueError("end_line must be >= start_line")
        return self


class Origin(Frozen):
    """The public fix a case is modelled on."""

    project: str = Field(min_length=1, description="The project, e.g. owner/name on GitHub.")
    commit: str = Field(
        pattern=r"^[0-9a-f]{7,40}$", description="The commit that fixed the problem."
    )
    url: str | None = Field(default=None, description="A link to the commit or its discussion.")


class CaseSpec(Frozen):
    """One case of a ``review eval`` corpus: a change, and the problems a good review finds in it.

    An empty ``problems`` list makes the case a clean change: every finding on it is a false one.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, title="reviewer eval case"
    )

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="This schema's URL, for editors."
    )
    title: str = Field(min_length=1, description="One line: what the change does.")
    language: str = Field(
        min_length=1, description="The main language of the change, e.g. python, go, java."
    )
    description: str = Field(default="", description="More about the change, for people.")
    problems: tuple[Problem, ...] = Field(
        description="The known problems; empty for a clean change."
    )
    deleted: tuple[str, ...] = Field(
        default=(), description="Files of before/ that the change deletes (with after/ only)."
    )
    origin: Origin | None = Field(
        default=None, description="The public fix this case is modelled on, if any."
    )

    @field_validator("deleted")
    @classmethod
    def _deleted_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_relative_path(p) for p in value)

    @field_validator("language")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


def case_json_schema() -> dict[str, Any]:
    """The JSON schema of ``case.json`` (shipped as ``case.schema.json``; a test keeps it equal)."""
    schema = CaseSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


@dataclass(frozen=True, slots=True)
class Case:
    """A loaded case. ``after`` holds the changed files (None when ``patch`` holds the change)."""

    id: str
    spec: CaseSpec
    before: Mapping[str, bytes]
    after: Mapping[str, bytes] | None
    patch: bytes | None

    @property
    def clean(self) -> bool:
        return not self.spec.problems


@dataclass(frozen=True, slots=True)
class Corpus:
    """The cases of one run. ``fingerprint`` changes when any file of any case changes, so two
    reports can tell whether they measured the same thing."""

    name: str
    cases: tuple[Case, ...]
    fingerprint: str

    def select(self, patterns: Sequence[str]) -> Corpus:
        """Only the cases whose id matches one of ``patterns`` (.gitignore-style globs)."""
        if not patterns:
            return self
        chosen = tuple(c for c in self.cases if any(glob_matches(p, c.id) for p in patterns))
        if not chosen:
            raise UsageError(
                f"no case of corpus {self.name} matches --cases {' '.join(patterns)} "
                f"(ids look like {self.cases[0].id})"
            )
        return replace(self, cases=chosen)


def builtin_corpus_dir() -> Path:
    return Path(__file__).with_name("corpus")


def load_builtin_corpus() -> Corpus:
    return load_corpus(builtin_corpus_dir(), BUILTIN_NAME)


def load_corpus(root: Path, name: str | None = None) -> Corpus:
    """Every case under ``root``, sorted by id. A malformed case is a ``UsageError`` naming it."""
    if not root.is_dir():
        raise UsageError(f"corpus directory not found: {root}")
    case_dirs = _case_dirs(root)
    if not case_dirs:
        raise UsageError(f"no cases in {root}: a case is a directory holding a {CASE_FILE}")
    digest = hashlib.sha256()
    cases = []
    for directory in case_dirs:
        case_id = directory.relative_to(root).as_posix()
        case = _load_case(directory, root.name if case_id == "." else case_id)
        _digest_case(digest, case)
        cases.append(case)
    return Corpus(name or str(root), tuple(cases), digest.hexdigest()[:FINGERPRINT_HEX_CHARS])


def _case_dirs(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if CASE_FILE in filenames:
            found.append(Path(dirpath))
            dirnames.clear()  # a case's own trees may hold anything, even a case.json
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _load_case(directory: Path, case_id: str) -> Case:
    spec = _read_spec(directory / CASE_FILE, case_id)
    before = read_tree(directory / BEFORE_DIR, case_id)
    after_dir, patch_file = directory / AFTER_DIR, directory / PATCH_FILE
    if after_dir.is_dir() == patch_file.is_file():
        raise UsageError(
            f"corpus case {case_id}: give the change as either {AFTER_DIR}/ or {PATCH_FILE}, "
            "not both and not neither"
        )
    if patch_file.is_file():
        if spec.deleted:
            raise UsageError(f"corpus case {case_id}: 'deleted' goes with {AFTER_DIR}/ only")
        return Case(case_id, spec, before, None, _read_file(patch_file, case_id))
    after = read_tree(after_dir, case_id)
    _check_after(case_id, spec, before, after)
    return Case(case_id, spec, before, after, None)


def _read_spec(path: Path, case_id: str) -> CaseSpec:
    try:
        data = json.loads(_read_file(path, case_id))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"corpus case {case_id}: {CASE_FILE} is not JSON: {exc}") from None
    try:
        return CaseSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise UsageError(f"corpus case {case_id}: {CASE_FILE}: {where}: {first['msg']}") from None


def _check_after(
    case_id: str, spec: CaseSpec, before: Mapping[str, bytes], after: Mapping[str, bytes]
) -> None:
    for path in spec.deleted:
        if path not in before:
            raise UsageError(f"corpus case {case_id}: deleted file {path} is not in {BEFORE_DIR}/")
        if path in after:
            raise UsageError(f"corpus case {case_id}: {path} is both deleted and in {AFTER_DIR}/")
    if not spec.deleted and all(before.get(p) == data for p, data in after.items()):
        raise UsageError(f"corpus case {case_id}: {AFTER_DIR}/ changes nothing")
    for number, problem in enumerate(spec.problems, 1):
        if problem.path not in after:
            raise UsageError(
                f"corpus case {case_id}: problem {number} is in {problem.path}, "
                f"which is not in {AFTER_DIR}/"
            )


def read_tree(root: Path, case_id: str) -> dict[str, bytes]:
    """Every file under ``root`` by its POSIX path relative to it; no symbolic links.

    Bytecode is skipped: installing the package compiles the corpus's Python files, and a
    ``__pycache__`` would otherwise become part of every Python case's change."""
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(n for n in filenames if not n.endswith((".pyc", ".pyo"))):
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = _read_file(path, case_id)
        for name in dirnames:
            if (Path(dirpath) / name).is_symlink():
                raise UsageError(f"corpus case {case_id}: symbolic links are not supported: {name}")
    return files


def _read_file(path: Path, case_id: str) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise UsageError(f"corpus case {case_id}: not a regular file: {path.name}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"corpus case {case_id}: cannot read {path}: {exc.strerror}") from None


def _digest_case(digest: Any, case: Case) -> None:
    parts: list[tuple[str, bytes]] = [("id", case.id.encode())]
    parts.append(("spec", case.spec.model_dump_json().encode()))
    parts.extend((f"before/{p}", data) for p, data in sorted(case.before.items()))
    parts.extend((f"after/{p}", data) for p, data in sorted((case.after or {}).items()))
    if case.patch is not None:
        parts.append(("patch", case.patch))
    for label, data in parts:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)


def after_tree(case: Case) -> dict[str, bytes]:
    """The files after the change (``after/`` form): before, minus deleted, plus after."""
    assert case.after is not None
    files = {p: d for p, d in case.before.items() if p not in case.spec.deleted}
    files.update(case.after)
    return files


def check_reachable(case: Case, files: Iterable[FileDiff]) -> None:
    """Every known problem must touch a line the change adds, or no review could find it."""
    added: dict[str, set[int]] = {}
    for diff in files:
        added.setdefault(diff.path, set()).update(n for h in diff.hunks for n in h.added_new_lines)
    for number, problem in enumerate(case.spec.problems, 1):
        where = f"{problem.path}:{problem.start_line}-{problem.end_line}"
        lines = added.get(problem.path)
        if lines is None:
            raise UsageError(
                f"corpus case {case.id}: problem {number} ({where}) is in a file the change "
                "does not touch"
            )
        if not any(problem.start_line <= n <= problem.end_line for n in lines):
            raise UsageError(
                f"corpus case {case.id}: problem {number} ({where}) is on no line the change "
                "adds; a review comments only on changed lines"
            )
