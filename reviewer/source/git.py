"""The git source: staged changes, ``base...head`` and ``old..head`` as a ``ChangeSet``.

The only module that imports GitPython. Every change is ONE ``git diff`` (parsed by
``reviewer.source.diffparse``) plus ONE ``git cat-file --batch-check`` for the new blob sizes.
Git failures become ``GitError`` with git's own one-line reason, never a traceback.

What is reviewable is what ``git diff --no-renames`` shows as added, except that a file git
pairs as a rename (``-M``, its default 50% similarity) shows only its edits: the lines it kept
were in the deleted source. Copies are new files, every line of them (GitHub's "Files changed").

The process environment is inherited on purpose: inside a pre-commit hook git sets
``GIT_INDEX_FILE`` to the index being committed, and that is what ``staged`` must read.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, Literal, overload

import git

from reviewer.core.errors import GitError, NotAGitRepository, UsageError
from reviewer.core.values import ChangeSet, FileDiff, FileEntry, Frozen, NotReviewed
from reviewer.source.diffparse import ParsedDiff, parse_git_diff
from reviewer.source.listing import Listing, parse_listing

# Options pinned so that no user config changes the text we parse or the lines it marks new:
# the same change is reviewed the same way on every machine, as a pull request shows it.
_CONFIG = (
    "-c",
    "core.quotePath=true",
    "-c",
    "diff.suppressBlankEmpty=false",
    # Above this size git diffs a text file as "Binary files differ": a user's smaller value
    # would hide every line of a large new file. 512m is git's default.
    "-c",
    "core.bigFileThreshold=512m",
    # A user's global attributes (``*.py -diff``) would do the same; the repository's own
    # .gitattributes still apply.
    "-c",
    f"core.attributesFile={os.devnull}",
    # Past the limit git pairs no inexact renames; git's default, so that a user's value does
    # not change which files are reviewed as renames.
    "-c",
    "diff.renameLimit=1000",
)
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",  # a textconv driver would show us something other than the content
    "--no-relative",
    # Renames only, as a pull request shows them: a renamed file's unchanged lines were in the
    # deleted source, so only its edits are new. No copy detection (-C, and diff.renames=copies,
    # which -M overrides): a copy's lines identical to its source are new in the repository,
    # and a copy diffed against its source would hide them from the review.
    "-M",
    # The algorithm and the sliding of added blocks decide which lines are marked added when
    # several alignments are valid (diff.algorithm=patience marks moved code otherwise).
    "--diff-algorithm=myers",
    "--indent-heuristic",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",
    "--ignore-submodules=none",
    "--full-index",  # full blob ids, so sizes can be looked up by id
)
# Options that shape the patch text only: a listing (``--raw --numstat``) leaves them out.
_PATCH_ONLY = frozenset({"--src-prefix=a/", "--dst-prefix=b/", "--submodule=short", "--full-index"})
EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# Changed lines a senior reviewer looks at first (git's -G, POSIX extended regex: processes and
# shells, eval, deserialisation, SQL, weak or disabled crypto and TLS, raw HTML, permissions,
# credentials). ``reviewer.prepare.priority`` has the same families for text already read.
SENSITIVE_PATTERN = (
    r"subprocess|os\.system|popen|exec\(|eval\(|shell=True|child_process|Runtime\.getRuntime"
    r"|ProcessBuilder|pickle\.load|yaml\.load\(|marshal\.load|ObjectInputStream|unserialize"
    r"|deserializ|SELECT .*FROM|INSERT INTO|UPDATE .* SET|DELETE FROM|\.execute\(|\.raw\("
    r"|cursor\(|md5|sha1|verify=False|InsecureSkipVerify|_create_unverified_context"
    r"|innerHTML|dangerouslySetInnerHTML|document\.write|chmod|setuid|sudo"
    r"|[Pp]assword|PASSWORD|passwd|[Ss]ecret|SECRET|[Tt]oken|TOKEN|jwt|bcrypt|hmac"
)


def open_repo(start: str | Path) -> GitRepo:
    """The work tree containing ``start`` (searching parent directories).

    Relative paths later given to ``staged``/``range``/``changed_since`` are relative to
    ``start`` (the user's working directory).
    """
    start_path = Path(start).expanduser()
    try:
        repo = git.Repo(start_path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise NotAGitRepository(f"not a git repository: {start_path}") from None
    if repo.bare or repo.working_tree_dir is None:
        repo.close()
        raise NotAGitRepository(f"not a git work tree (bare repository): {start_path}")
    cwd = start_path.resolve()
    return GitRepo(repo, cwd.parent if cwd.is_file() else cwd)


class GitRepo:
    """A work tree and the questions the pipeline asks it."""

    def __init__(self, repo: git.Repo, cwd: Path) -> None:
        self._repo = repo
        self._cwd = cwd
        self._root = Path(str(repo.working_tree_dir)).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ changes

    @overload
    def staged(
        self, paths: Sequence[str] = (), context_lines: int = 3, *, lazy: Literal[False] = False
    ) -> ChangeSet: ...
    @overload
    def staged(
        self, paths: Sequence[str] = (), context_lines: int = 3, *, lazy: Literal[True]
    ) -> LazyChanges: ...
    def staged(
        self, paths: Sequence[str] = (), context_lines: int = 3, *, lazy: bool = False
    ) -> ChangeSet | LazyChanges:
        """What ``git commit`` would record: the index against HEAD (the empty tree if none)."""
        head = self.resolve("HEAD")
        base = head if head is not None else self._empty_tree()
        return self._changes(
            "staged changes",
            ["--cached", base],
            paths=paths,
            context_lines=context_lines,
            size_rev="",  # ":path" is the path's blob in the index
            base_sha=None,
            head_sha=head,
            lazy=lazy,
        )

    @overload
    def range(
        self,
        base: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[False] = False,
    ) -> ChangeSet: ...
    @overload
    def range(
        self,
        base: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[True],
    ) -> LazyChanges: ...
    def range(
        self,
        base: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: bool = False,
    ) -> ChangeSet | LazyChanges:
        """``git diff base...head``: head against its merge base with base (GitHub's view)."""
        base_sha, head_sha = self._require(base), self._require(head)
        status, out, err = self._run(["merge-base", base_sha, head_sha])
        if status == 1 and not out.strip():
            raise GitError(self._no_merge_base(base, head))
        if status != 0:
            raise GitError(f"git merge-base failed: {_first_line(err)}")
        merge_base = out.decode("ascii", errors="replace").split()[0]
        return self._between(
            f"{base}...{head}", merge_base, head_sha, paths, context_lines, lazy=lazy
        )

    @overload
    def changed_since(
        self,
        old_sha: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[False] = False,
    ) -> ChangeSet: ...
    @overload
    def changed_since(
        self,
        old_sha: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[True],
    ) -> LazyChanges: ...
    def changed_since(
        self,
        old_sha: str,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: bool = False,
    ) -> ChangeSet | LazyChanges:
        """``git diff old..head`` (two dots): what changed since an earlier review."""
        old, head_sha = self._require(old_sha), self._require(head)
        description = f"{_short(old_sha)}..{head}"
        return self._between(description, old, head_sha, paths, context_lines, lazy=lazy)

    @overload
    def unpushed(
        self,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[False] = False,
    ) -> ChangeSet: ...
    @overload
    def unpushed(
        self,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: Literal[True],
    ) -> LazyChanges: ...
    def unpushed(
        self,
        head: str = "HEAD",
        paths: Sequence[str] = (),
        context_lines: int = 3,
        *,
        lazy: bool = False,
    ) -> ChangeSet | LazyChanges:
        """What ``head`` has that no remote-tracking branch has: from the parent of its oldest
        commit not on a remote, or from the empty tree when its whole history is new (the first
        push of a repository)."""
        head_sha = self._require(head)
        out = self._check(
            ["rev-list", "--topo-order", "--reverse", head_sha, "--not", "--remotes", "--"]
        )
        new = out.decode("ascii", errors="replace").split()
        parent = self.resolve(f"{new[0]}^") if new else head_sha
        description = f"commits of {head} not on a remote"
        return self._between(description, parent, head_sha, paths, context_lines, lazy=lazy)

    # ------------------------------------------------------------------ revisions

    def resolve(self, ref: str) -> str | None:
        """The commit sha ``ref`` names, or None if it names no commit here."""
        if not ref or ref.startswith("-") or "\n" in ref:
            return None  # never let a ref be read as an option
        status, out, _ = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
        if status != 0:
            return None
        return out.decode("ascii", errors="replace").strip() or None

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is an ancestor of (or equal to) ``b``."""
        sha_a, sha_b = self._require(a), self._require(b)
        status, _, err = self._run(["merge-base", "--is-ancestor", sha_a, sha_b])
        if status in (0, 1):
            return status == 0
        raise GitError(f"git merge-base failed: {_first_line(err)}")

    def merge_base(self, a: str, b: str) -> str | None:
        status, out, _ = self._run(["merge-base", a, b])
        return out.decode("ascii", errors="replace").strip() or None if status == 0 else None

    def is_shallow(self) -> bool:
        status, out, _ = self._run(["rev-parse", "--is-shallow-repository"])
        return status == 0 and out.strip() == b"true"

    def ensure_history(
        self,
        base: str,
        head: str,
        refspecs: Sequence[str],
        remote: str = "origin",
        depths: Sequence[int] = (50, 200, 1000),
    ) -> None:
        """Fetch what ``base...head`` needs from ``remote`` (CI checkouts are shallow and may
        lack the base branch or the pull request's head commit).

        ``refspecs`` name what to fetch (a commit sha, or a branch refspec). A shallow clone is
        deepened step by step until a merge base exists, then unshallowed as a last resort. A
        complete clone fetches the refspecs whole: ``--depth`` would make it shallow. Raises
        ``GitError`` when a fetch fails, or when a commit or the merge base is still missing.
        """

        def ready() -> bool:
            return (
                self.resolve(base) is not None
                and self.resolve(head) is not None
                and self.merge_base(base, head) is not None
            )

        if ready():
            return
        if not self.is_shallow():
            self._fetch(remote, refspecs)
        else:
            for depth in depths:
                # --depth counts from the tips being fetched (one is missing); --deepen moves
                # every shallow boundary back, which is what reaches a merge base.
                flag = "--deepen" if self.resolve(base) and self.resolve(head) else "--depth"
                self._fetch(remote, refspecs, f"{flag}={depth}")
                if ready():
                    return
            if self.is_shallow():
                self._fetch(remote, refspecs, "--unshallow")
        for ref in (base, head):
            if self.resolve(ref) is None:
                raise GitError(f"unknown revision: {ref} (not found on {remote} either)")
        if not ready():
            raise GitError(self._no_merge_base(base, head))

    def _fetch(self, remote: str, refspecs: Sequence[str], *options: str) -> None:
        args = ["fetch", "--no-tags", "--quiet", *options, remote]
        status, _, err = self._run([*args, *refspecs])
        if status != 0:
            raise GitError(f"git fetch from {remote} failed: {_first_line(err)}")

    # ------------------------------------------------------------------ files of a revision

    def tree(self, rev: str, name: str | None = None) -> CommitTree | None:
        """The files of commit ``rev`` (for the repository's instruction files), labelled
        ``name`` (default ``rev``) and the short sha; None when ``rev`` names no commit here
        (a repository without commits)."""
        full_sha = len(rev) in (40, 64) and all(c in "0123456789abcdef" for c in rev)
        sha = rev if full_sha else self.resolve(rev)  # a known commit saves a git call
        if sha is None:
            return None
        label = name or rev
        return CommitTree(self, sha, sha[:12] if label == sha else f"{label} {sha[:12]}")

    def read_tree(self, sha: str, paths: Sequence[str], max_bytes: int) -> dict[str, bytes | None]:
        """Regular files at commit ``sha`` under ``paths`` (files or directories, from the
        root): path -> content, or None for a symbolic link, a submodule or a file over
        ``max_bytes``. One ``ls-tree`` and at most one ``cat-file --batch``."""
        if not paths:
            return {}
        listing = self._check(["ls-tree", "-r", "-l", "-z", "--full-tree", sha, "--", *paths])
        found: dict[str, bytes | None] = {}
        wanted: list[tuple[str, str]] = []
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, blob, size = meta.split()
            path = raw_path.decode("utf-8", errors="replace")
            if kind != b"blob" or mode == b"120000" or int(size) > max_bytes:
                found[path] = None
            else:
                found[path] = b""
                wanted.append((path, blob.decode("ascii")))
        if wanted:
            stdin = "".join(f"{blob}\n" for _, blob in wanted).encode()
            out = self._check(["cat-file", "--batch"], stdin=stdin)
            for (path, _), content in zip(wanted, _batch_contents(out), strict=True):
                found[path] = content
        return found

    # ------------------------------------------------------------------ internals

    def _between(
        self,
        description: str,
        base_sha: str | None,
        head_sha: str,
        paths: Sequence[str],
        context_lines: int,
        *,
        lazy: bool = False,
    ) -> ChangeSet | LazyChanges:
        """``git diff base head``; no base: from the empty tree (a history's first commit)."""
        return self._changes(
            description,
            [base_sha or self._empty_tree(), head_sha],
            paths=paths,
            context_lines=context_lines,
            size_rev=head_sha,
            base_sha=base_sha,
            head_sha=head_sha,
            lazy=lazy,
        )

    def _changes(
        self,
        description: str,
        revs: list[str],
        *,
        paths: Sequence[str],
        context_lines: int,
        size_rev: str,
        base_sha: str | None,
        head_sha: str | None,
        lazy: bool = False,
    ) -> ChangeSet | LazyChanges:
        if context_lines < 0:
            raise UsageError(f"context lines must be >= 0, got {context_lines}")
        pathspecs = self._pathspecs(paths)
        if lazy:
            spec = DiffSpec(
                description=description,
                revs=tuple(revs),
                pathspecs=tuple(pathspecs),
                context_lines=context_lines,
                size_rev=size_rev,
                base_sha=base_sha,
                head_sha=head_sha,
            )
            return LazyChanges(self, spec)
        args = ["diff", *_DIFF_OPTIONS, f"-U{context_lines}", *revs, "--", *pathspecs]
        # Decoding with errors="replace" is local to the bad bytes, so a non-UTF-8 file
        # only gets U+FFFD in its own lines; every other file is decoded exactly.
        parsed = parse_git_diff(self._check(args).decode("utf-8", errors="replace"))
        unmerged = tuple(
            NotReviewed(path=p, reason="unreadable", detail="unmerged: resolve the conflict first")
            for p in parsed.unmerged
        )
        return ChangeSet(
            description=description,
            files=self._with_sizes(parsed, size_rev),
            not_reviewed=unmerged,
            base_sha=base_sha,
            head_sha=head_sha,
            root=str(self._root),
            content_rev=size_rev,
        )

    def name_files(self, spec: DiffSpec) -> tuple[str, ...]:
        """The changed files' (new) names: no content is compared, so this is quick however
        large the change."""
        options = [o for o in _DIFF_OPTIONS if o not in _PATCH_ONLY]
        out = self._check(
            ["diff", *options, "--name-only", "-z", *spec.revs, "--", *spec.pathspecs]
        )
        return tuple(p for p in out.decode("utf-8", errors="replace").split("\0") if p)

    def list_files(self, spec: DiffSpec) -> Listing:
        """Every changed file of ``spec`` with its status and line counts, without the diff
        text."""
        options = [o for o in _DIFF_OPTIONS if o not in _PATCH_ONLY]
        revs = [*spec.revs, "--", *spec.pathspecs]
        return parse_listing(self._check(["diff", *options, "--raw", "--numstat", "-z", *revs]))

    def search_sensitive(self, spec: DiffSpec) -> subprocess.Popen[bytes] | None:
        """Start git's own search for changed lines matching ``SENSITIVE_PATTERN`` (``-G``):
        its output is the files' names. It runs beside the review; None if git cannot start."""
        options = [o for o in _DIFF_OPTIONS if o not in _PATCH_ONLY]
        revs = [*spec.revs, "--", *spec.pathspecs]
        return self._spawn(["diff", *options, "--name-only", "-z", f"-G{SENSITIVE_PATTERN}", *revs])

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes] | None:
        executable = str(self._repo.git.GIT_PYTHON_GIT_EXECUTABLE or "git")
        try:
            return subprocess.Popen(
                [executable, *_CONFIG, *args],
                cwd=self._root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return None

    def load_files(self, spec: DiffSpec, entries: Sequence[FileEntry]) -> tuple[FileDiff, ...]:
        """The diffs of ``entries``, parsed, with their sizes. A renamed file's old path is in
        the pathspec too, so git pairs the rename as in the whole diff."""
        if not entries:
            return ()
        specs: list[str] = []
        for entry in entries:
            specs.append(f":(top,literal){entry.path}")
            if entry.old_path:
                specs.append(f":(top,literal){entry.old_path}")
        args = ["diff", *_DIFF_OPTIONS, f"-U{spec.context_lines}", *spec.revs, "--", *specs]
        parsed = parse_git_diff(self._check(args).decode("utf-8", errors="replace"))
        wanted = {e.path for e in entries}
        files = self._with_sizes(parsed, spec.size_rev)
        return tuple(f for f in files if f.path in wanted)

    def _with_sizes(self, parsed: ParsedDiff, size_rev: str) -> tuple[FileDiff, ...]:
        """Fill ``FileDiff.size`` from one ``cat-file --batch-check`` for all files."""
        queries: list[tuple[int, str]] = []
        for idx, (diff, blob) in enumerate(zip(parsed.files, parsed.new_blobs, strict=True)):
            if diff.status == "deleted" or diff.submodule:
                continue  # no new blob here (a submodule's id is a commit of another repo)
            spec = blob or f"{size_rev}:{diff.path}"
            if "\n" not in spec:
                queries.append((idx, spec))
        if not queries:
            return parsed.files
        out = self._check(
            ["cat-file", "--batch-check"], stdin="".join(f"{q}\n" for _, q in queries).encode()
        )
        sizes: dict[int, int] = {}
        answers = out.decode("utf-8", errors="replace").split("\n")
        for (idx, _), answer in zip(queries, answers, strict=False):
            parts = answer.split(" ")
            if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit():
                sizes[idx] = int(parts[2])
        return tuple(
            diff.model_copy(update={"size": sizes[i]}) if i in sizes else diff
            for i, diff in enumerate(parsed.files)
        )

    def _pathspecs(self, paths: Sequence[str]) -> list[str]:
        """User paths (relative to the start directory) -> repo-rooted git pathspecs."""
        specs: list[str] = []
        for raw in paths:
            full = Path(os.path.normpath(self._cwd / Path(raw).expanduser()))
            # Resolve the directory only: a symlink the user names is reviewed as the link.
            full = full.parent.resolve() / full.name if full.name else full.resolve()
            if full == self._root:
                specs.append(":/")
                continue
            try:
                rel = full.relative_to(self._root)
            except ValueError:
                raise UsageError(f"path is outside the repository {self._root}: {raw}") from None
            specs.append(f":(top){rel.as_posix()}")
        return specs

    def _require(self, ref: str) -> str:
        sha = self.resolve(ref)
        if sha is None:
            raise GitError(f"unknown revision: {ref}")
        return sha

    def _empty_tree(self) -> str:
        # Hashing an empty tree gives the right id for SHA-1 and SHA-256 repositories alike.
        out = self._check(["hash-object", "-t", "tree", "--stdin"])
        return out.decode("ascii", errors="replace").strip() or EMPTY_TREE_SHA1

    def _no_merge_base(self, base: str, head: str) -> str:
        status, out, _ = self._run(["rev-parse", "--is-shallow-repository"])
        if status == 0 and out.strip() == b"true":
            return (
                f"no merge base between {base} and {head}: this is a shallow clone; "
                "fetch more history (git fetch --deepen=200, or git fetch --unshallow)"
            )
        return f"no merge base between {base} and {head} (unrelated histories)"

    def _check(self, args: list[str], stdin: bytes | None = None) -> bytes:
        status, out, err = self._run(args, stdin=stdin)
        if status != 0:
            raise GitError(f"git {args[0]} failed: {_first_line(err)}")
        return out

    def _run(self, args: list[str], stdin: bytes | None = None) -> tuple[int, bytes, str]:
        """Run git in the work tree; (exit status, stdout bytes, stderr text)."""
        command = [str(self._repo.git.GIT_PYTHON_GIT_EXECUTABLE or "git"), *_CONFIG, *args]
        try:
            if stdin is None:
                return self._execute(command, None)
            # GitPython hands ``istream`` to Popen, which needs a real file descriptor.
            with tempfile.TemporaryFile() as feed:
                feed.write(stdin)
                feed.seek(0)
                return self._execute(command, feed)
        except git.GitCommandNotFound:
            raise GitError("git was not found: install git or put it on PATH") from None

    def _execute(self, command: list[str], istream: BinaryIO | None) -> tuple[int, bytes, str]:
        status, out, err = self._repo.git.execute(
            command,
            istream=istream,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
        return status, out, err


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    process.communicate()


class DiffSpec(Frozen):
    """What one ``git diff`` of a review compares: revisions, paths and context."""

    description: str
    revs: tuple[str, ...]
    pathspecs: tuple[str, ...]
    context_lines: int
    size_rev: str
    base_sha: str | None
    head_sha: str | None


class LazyChanges:
    """A change whose files are named up front (``paths``: git's name list, milliseconds even
    for thousands of files), listed with their counts when first asked (``entries``: one
    ``--numstat`` run), and whose diffs are read and parsed on demand (``load``), a few files at
    a time: a large change is ranked before anything is parsed, and never held in memory
    whole. It keeps its ``GitRepo`` open until ``close``.
    """

    def __init__(self, repo: GitRepo, spec: DiffSpec) -> None:
        self._repo = repo
        self._spec = spec
        self._listing: Listing | None = None
        self._search: subprocess.Popen[bytes] | Literal[False] | None = None
        self._found: frozenset[str] | None = None
        self.description = spec.description
        self.base_sha = spec.base_sha
        self.head_sha = spec.head_sha
        self.root: str | None = str(repo.root)
        self.content_rev: str | None = spec.size_rev
        self.paths: tuple[str, ...] = repo.name_files(spec)

    @property
    def listing(self) -> Listing:
        if self._listing is None:
            self._listing = self._repo.list_files(self._spec)
        return self._listing

    @property
    def not_reviewed(self) -> tuple[NotReviewed, ...]:
        return tuple(
            NotReviewed(path=p, reason="unreadable", detail="unmerged: resolve the conflict first")
            for p in self.listing.unmerged
        )

    def entries(self) -> tuple[FileEntry, ...]:
        return self.listing.entries

    def sensitive(self) -> frozenset[str] | None:
        """The files whose changed lines git's search found security-sensitive; None while
        the search (started by the first call) is still running, or when it failed."""
        if self._found is not None:
            return self._found
        if self._search is None:
            self._search = self._repo.search_sensitive(self._spec) or False
        if self._search is False or self._search.poll() is None:
            return None
        search, self._search = self._search, False
        out, _ = search.communicate()
        if search.returncode != 0:
            return None
        self._found = frozenset(p for p in out.decode("utf-8", errors="replace").split("\0") if p)
        return self._found

    def load(self, paths: Sequence[str]) -> tuple[FileDiff, ...]:
        """The diffs of ``paths`` (listed ones), in the order given."""
        by_entry = {e.path: e for e in self.listing.entries}
        entries = [by_entry[p] for p in paths if p in by_entry]
        by_path = {f.path: f for f in self._repo.load_files(self._spec, entries)}
        return tuple(by_path[p] for p in paths if p in by_path)

    def close(self) -> None:
        if self._search:
            _stop(self._search)
        self._repo.close()


class GitContents:
    """The new side of a change's files (``ChangeSet.content_rev``: "" for the index, else a
    commit), read for context one file at a time through one ``git cat-file --batch``
    process, started on the first read and ended by ``close``.

    The environment is inherited like every git call here: in a pre-commit hook,
    ``GIT_INDEX_FILE`` names the index being committed. A file that is not a blob, is larger
    than ``max_bytes`` or looks binary reads as None; a git that fails raises ``GitError``.
    """

    def __init__(self, root: str | Path, rev: str, max_bytes: int) -> None:
        self._root = Path(root)
        self._rev = rev
        self._max_bytes = max_bytes
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, path: str) -> str | None:
        if "\n" in path or not path:
            return None  # cat-file reads one object name per line
        spec = f":0:{path}" if self._rev == "" else f"{self._rev}:{path}"
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:  # "<name> missing" or "ambiguous"
                if not header:
                    raise GitError("git cat-file ended unexpectedly")
                return None
            size = int(header[2])
            keep = size <= self._max_bytes  # a larger one is read off the pipe and dropped
            data = _read_exactly(proc.stdout, size + 1, keep)[:size]  # + the LF after it
        except (OSError, ValueError) as exc:
            self.close()
            raise GitError(f"git cat-file failed reading {path}: {exc}") from None
        if header[1] != b"blob" or not keep or b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            executable = str(git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git")
            try:
                self._proc = subprocess.Popen(
                    [executable, *_CONFIG, "cat-file", "--batch"],
                    cwd=self._root,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                raise GitError(f"cannot run git cat-file: {exc}") from None
        return self._proc


def _read_exactly(stream: IO[bytes], size: int, keep: bool = True) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        piece = stream.read(min(size, 1 << 20))
        if not piece:
            raise ValueError("short read")
        if keep:
            chunks.append(piece)
        size -= len(piece)
    return b"".join(chunks)


class CommitTree:
    """``reviewer.source.rulefiles.FileTree`` over one commit of an open ``GitRepo``."""

    def __init__(self, repo: GitRepo, sha: str, label: str) -> None:
        self._repo = repo
        self._sha = sha
        self._label = label

    @property
    def revision(self) -> str:
        return self._label

    def read(self, paths: Sequence[str], max_bytes: int) -> dict[str, bytes | None]:
        return self._repo.read_tree(self._sha, paths, max_bytes)


def _batch_contents(out: bytes) -> list[bytes]:
    """The objects' contents in ``git cat-file --batch`` output ("<id> <type> <size>\\n" then
    the bytes and a newline, per object)."""
    contents: list[bytes] = []
    at = 0
    while at < len(out):
        header_end = out.index(b"\n", at)
        parts = out[at:header_end].split()
        if len(parts) != 3:
            raise GitError(f"git cat-file: unexpected output {out[at:header_end][:80]!r}")
        size = int(parts[2])
        contents.append(out[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return contents


def _first_line(stderr: str) -> str:
    """Git's reason: the first ``fatal:``/``error:`` line, else the first non-empty one."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[0] if lines else "no error message"


def _short(ref: str) -> str:
    is_sha = len(ref) >= 40 and all(c in "0123456789abcdef" for c in ref)
    return ref[:12] if is_sha else ref
