"""A merge request as GitLab and its CI see it, for ``review --gitlab-mr`` end to end.

``MergeRequestRepo`` is the project's "origin" repository (``main``, the MR branch ``feature``
and GitLab's ``refs/merge-requests/<iid>/head``); ``sync`` tells the fake GitLab about a push
the way GitLab computes an MR version: ``start_sha`` is the target branch's tip, ``base_sha``
the merge base, and the diff is git's ``base..head`` with 3 lines of context and renames.
``Pipeline`` runs one merge-request pipeline: a depth-1 clone of the head, GitLab CI's
predefined variables pointing at the fake GitLab, the key for the fake model.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, Run, run_cli
from fake_gitlab import FakeGitLab, git_version_diffs
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import commit, git, make_repo, write

_FILE = re.compile(r"^=== FILE: (.+?) \(", re.MULTILINE)
_ADDED = re.compile(r"^\s*(\d+) \+ \| ?(.*)$", re.MULTILINE)


def numbered(name: str, count: int, changed: Mapping[int, str] | None = None) -> str:
    changed = changed or {}
    return "".join(f"{changed.get(i, f'{name}_{i} = {i}')}\n" for i in range(1, count + 1))


def added_rows(req: Received) -> dict[str, list[tuple[int, str]]]:
    """path -> the (new line, text) of every ``+`` row of the request's chunk."""
    user = next((m["content"] for m in req.messages if m.get("role") == "user"), "")
    out: dict[str, list[tuple[int, str]]] = {}
    for block in re.split(r"^(?==== FILE: )", user, flags=re.MULTILINE):
        match = _FILE.match(block)
        if match:
            out[match.group(1)] = [(int(n), text) for n, text in _ADDED.findall(block)]
    return out


def marker_findings(req: Received) -> Reply:
    """The model under test: a finding on every added line saying ``BUG``, and one over the
    lines from ``MULTI-START`` to ``MULTI-END``. Findings depend on the code, not on line
    numbers, so their fingerprints survive pushes like a real model's repeated findings."""
    findings: list[dict[str, Any]] = []
    for path, rows in added_rows(req).items():
        start = None
        for line, text in rows:
            if "BUG" in text:
                findings.append(_finding(path, line, line, "Bug marker", "This is a bug."))
            if "MULTI-START" in text:
                start = line
            if "MULTI-END" in text and start is not None:
                findings.append(
                    _finding(path, start, line, "Multi-line problem", "These lines together.")
                )
    return reply_json({"summary": "Reviewed.", "findings": findings})


def _finding(path: str, start: int, end: int, title: str, message: str) -> dict[str, Any]:
    return {
        "path": path,
        "start_line": start,
        "end_line": end,
        "severity": "medium",
        "category": "bug",
        "confidence": 0.9,
        "title": title,
        "message": message,
        "suggestion": None,
    }


@dataclass
class MergeRequestRepo:
    tmp: Path
    origin: Path
    iid: int = 7
    checkouts: int = 0

    @classmethod
    def create(cls, tmp: Path, files: Mapping[str, str]) -> MergeRequestRepo:
        origin = make_repo(tmp, "origin")
        for path, text in files.items():
            write(origin, path, text)
        commit(origin, "base")
        git(origin, "checkout", "-q", "-b", "feature")
        return cls(tmp=tmp, origin=origin)

    def push(
        self,
        files: Mapping[str, str | None],
        *,
        renames: Mapping[str, str] | None = None,
        message: str = "change",
    ) -> str:
        for old, new in (renames or {}).items():
            git(self.origin, "mv", old, new)
        for path, text in files.items():
            if text is None:
                (self.origin / path).unlink()
            else:
                write(self.origin, path, text)
        sha = commit(self.origin, message)
        git(self.origin, "update-ref", f"refs/merge-requests/{self.iid}/head", sha)
        return sha

    def push_to_target(self, files: Mapping[str, str], message: str = "main moves on") -> str:
        git(self.origin, "checkout", "-q", "main")
        for path, text in files.items():
            write(self.origin, path, text)
        sha = commit(self.origin, message)
        git(self.origin, "checkout", "-q", "feature")
        return sha

    @property
    def head_sha(self) -> str:
        return git(self.origin, "rev-parse", "feature")

    @property
    def start_sha(self) -> str:
        return git(self.origin, "rev-parse", "main")

    @property
    def base_sha(self) -> str:
        return git(self.origin, "merge-base", "main", "feature")

    def sync(self, gl: FakeGitLab) -> None:
        """GitLab's new MR version after a push (nothing when the head has one already)."""
        if gl.versions and gl.versions[0]["head_commit_sha"] == self.head_sha:
            return
        text = git(self.origin, "diff", "-M", "-U3", "--no-color", self.base_sha, self.head_sha)
        gl.push_version(self.head_sha, self.base_sha, self.start_sha, git_version_diffs(text))

    def checkout(self) -> Path:
        """What a GitLab runner leaves: a shallow clone of the MR's head."""
        self.checkouts += 1
        name = f"checkout-{self.checkouts}"
        git(self.tmp, "clone", "-q", "--depth=1", "--branch=feature", self.origin.as_uri(), name)
        return self.tmp / name

    def ci_variables(self, gl: FakeGitLab) -> dict[str, str]:
        """GitLab CI's predefined variables of a merge-request pipeline for the head."""
        return {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_SERVER_URL": gl.server_url,
            "CI_API_V4_URL": gl.api_url,
            "CI_PROJECT_ID": str(gl.project_id),
            "CI_PROJECT_PATH": gl.project_path,
            "CI_MERGE_REQUEST_IID": str(self.iid),
            "CI_MERGE_REQUEST_PROJECT_ID": str(gl.project_id),
            "CI_MERGE_REQUEST_REF_PATH": f"refs/merge-requests/{self.iid}/head",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
            "CI_MERGE_REQUEST_DIFF_BASE_SHA": self.base_sha,
            "CI_COMMIT_SHA": self.head_sha,
            "CI_JOB_TOKEN": "job-token-that-cannot-write-notes",
        }


@dataclass
class PipelineRun:
    run: Run
    requests: list[Received]  # what the model was sent
    checkout: Path

    @property
    def code(self) -> int:
        return self.run.code

    @property
    def err(self) -> str:
        return self.run.err

    def reviewed_files(self) -> set[str]:
        return {path for req in self.requests for path in added_rows(req)}


@dataclass
class Pipeline:
    """Runs ``review --gitlab-mr`` as a merge-request pipeline job would."""

    mr: MergeRequestRepo
    gl: FakeGitLab
    llm: FakeOpenAI
    monkeypatch: pytest.MonkeyPatch
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self,
        *args: str,
        token: str | None = None,
        env: Mapping[str, str] | None = None,
        drop: tuple[str, ...] = (),
        sync: bool = True,
    ) -> PipelineRun:
        if sync:
            self.mr.sync(self.gl)
        checkout = self.mr.checkout()
        self.monkeypatch.chdir(checkout)
        run_env = {
            **self.mr.ci_variables(self.gl),
            "REVIEWER_GITLAB_TOKEN": token if token is not None else self.gl.token,
            "REVIEWER_BASE_URL": self.llm.base_url,
            "REVIEWER_API_KEY": TEST_KEY,
            "REVIEWER_API_KEY_ENV": "REVIEWER_API_KEY",
            "REVIEWER_CACHE": "false",
            **self.env,
            **(env or {}),
        }
        for name in drop:
            run_env.pop(name, None)
        before = len(self.llm.requests)
        result = run_cli("--gitlab-mr", *args, env=run_env)
        return PipelineRun(result, self.llm.requests[before:], checkout)


# --------------------------------------------------------------------------- TLS


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(d: Path) -> dict[str, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it in ``d``, as a self-managed
    GitLab has (the openssl CLI; EC keys are quick to make)."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test GitLab CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d
    )
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n",
        encoding="utf-8",
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
        cwd=d,
    )  # fmt: skip
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}
