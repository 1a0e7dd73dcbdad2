"""Where the merge request is: GitLab CI's predefined variables, or the options outside CI.

Options beat variables: ``--gitlab-url`` over ``CI_API_V4_URL`` (then ``CI_SERVER_URL``),
``--gitlab-project`` over ``CI_MERGE_REQUEST_PROJECT_ID`` (the project the MR lives in, which is
not ``CI_PROJECT_ID`` for a fork's pipeline) and ``CI_PROJECT_ID``, ``--mr`` over
``CI_MERGE_REQUEST_IID``. The commit under review is ``CI_MERGE_REQUEST_SOURCE_BRANCH_SHA``
(set in merged-results pipelines, where ``CI_COMMIT_SHA`` is a merge commit GitLab made) or
``CI_COMMIT_SHA``; outside CI, or for another MR than the pipeline's, it is the MR's head.

The token is ``REVIEWER_GITLAB_TOKEN`` or ``GITLAB_TOKEN``; ``CI_JOB_TOKEN`` is never used:
GitLab does not let a job token write merge request notes. The CA that verifies the instance is
``--gitlab-ca-file``, else ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``CI_SERVER_TLS_CA_FILE``
(the runner writes the instance's CA there), added to the system's trusted CAs.
"""

from __future__ import annotations

import re
import ssl
import urllib.parse
from collections.abc import Mapping

from pydantic import SecretStr

from reviewer.core.errors import ConfigError, GitLabError
from reviewer.core.values import Frozen

TOKEN_VARIABLES = ("REVIEWER_GITLAB_TOKEN", "GITLAB_TOKEN")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CI_SERVER_TLS_CA_FILE")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


class MergeRequestContext(Frozen):
    api_url: str  # ".../api/v4"
    project: str  # a numeric id or a "group/subgroup/project" path
    iid: int
    head_sha: str | None = None  # the pipeline's commit; None: the MR's current head
    token: SecretStr | None = None  # SecretStr: repr/str/model_dump never show it
    token_variable: str | None = None
    job_token_only: bool = False  # CI_JOB_TOKEN is set, no token that can write notes
    ca_file: str | None = None
    # From the pipeline, for a review without a token (--no-comment): no API call needed.
    diff_base_sha: str | None = None
    target_branch: str | None = None
    mr_ref: str | None = None  # refs/merge-requests/<iid>/head

    @property
    def project_id(self) -> str:
        """The project as one URL path segment (``group%2Fproject``)."""
        return urllib.parse.quote(self.project, safe="")

    @property
    def name(self) -> str:
        return f"merge request !{self.iid} of {self.project}"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        url: str | None = None,
        project: str | None = None,
        iid: int | None = None,
        ca_file: str | None = None,
    ) -> MergeRequestContext:
        """Raises ``GitLabError`` (exit 3) naming what is missing: a job that is not a
        merge-request pipeline must not look like a clean review."""
        env = {k: v.strip() for k, v in environ.items() if v.strip()}
        from_pipeline = iid is None
        if iid is None:
            iid = _iid(env.get("CI_MERGE_REQUEST_IID"))
        if iid is None:
            raise GitLabError(
                "--gitlab-mr needs a merge request: run it in a merge-request pipeline "
                '(rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"), where '
                "CI_MERGE_REQUEST_IID is set, or pass --mr IID"
            )
        project = (project or "").strip() or env.get("CI_MERGE_REQUEST_PROJECT_ID")
        project = project or env.get("CI_PROJECT_ID")
        if not project:
            raise GitLabError(
                "--gitlab-mr needs the project: CI_PROJECT_ID is not set; pass --gitlab-project "
                "ID or group/project"
            )
        token_variable = next((n for n in TOKEN_VARIABLES if env.get(n)), None)
        head = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA")
        return cls(
            api_url=_api_url(url, env),
            project=project.strip("/"),
            iid=iid,
            head_sha=_sha(head, "CI_COMMIT_SHA") if from_pipeline and head else None,
            token=SecretStr(env[token_variable]) if token_variable else None,
            token_variable=token_variable,
            job_token_only=token_variable is None and "CI_JOB_TOKEN" in env,
            ca_file=ca_file or next((env[n] for n in CA_VARIABLES if n in env), None),
            diff_base_sha=_sha(env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"), "diff base")
            if from_pipeline
            else None,
            target_branch=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") if from_pipeline else None,
            mr_ref=env.get("CI_MERGE_REQUEST_REF_PATH") or f"refs/merge-requests/{iid}/head",
        )


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trusted CAs plus ``ca_file`` (a self-managed instance's own CA)."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except FileNotFoundError:
            raise ConfigError(f"GitLab CA file not found: {ca_file}") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError(f"GitLab CA file {ca_file}: not a PEM certificate ({exc})") from None
    return context


def _api_url(url: str | None, env: Mapping[str, str]) -> str:
    raw = (url or "").strip()
    if raw:
        raw = raw.rstrip("/")
        if not raw.endswith("/api/v4"):
            raw += "/api/v4"  # --gitlab-url takes the instance's address too
    else:
        raw = env.get("CI_API_V4_URL", "").rstrip("/")
        if not raw and env.get("CI_SERVER_URL"):
            raw = env["CI_SERVER_URL"].rstrip("/") + "/api/v4"
    if not raw:
        raise GitLabError(
            "--gitlab-mr needs the GitLab URL: CI_API_V4_URL is not set; pass --gitlab-url "
            "https://gitlab.example.com"
        )
    if not raw.startswith(("https://", "http://")):
        raise ConfigError(f"the GitLab URL must be an http(s) URL, got {raw!r}")
    return raw


def _iid(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise GitLabError(f"CI_MERGE_REQUEST_IID must be a merge request number, got {raw!r}")
    return int(raw)


def _sha(raw: str | None, name: str) -> str | None:
    if raw is None:
        return None
    if not _SHA.fullmatch(raw):
        raise GitLabError(f"{name} is not a commit SHA: {raw!r}")
    return raw.lower()
