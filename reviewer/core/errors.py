"""The one exception tree of reviewer.

Every error the library raises on purpose derives from ``ReviewerError`` and carries
the exit code the CLI turns it into (``reviewer.cli`` is the only place that does so)::

    ReviewerError (3)
    ├── UsageError (2)            bad flags, bad config file, unknown provider/format
    │   └── ConfigError (2)
    ├── GitError (3)              git failed or the repository state cannot be reviewed
    │   └── NotAGitRepository (3)
    ├── ProviderError (3)         the model endpoint failed for the whole run
    │   ├── AuthError (3)             401/403: the key variable is missing or wrong
    │   ├── ModelNotFound (3)         404 for the model name
    │   ├── ResponseFormatRejected    400/5xx naming response_format (triggers fallback)
    │   ├── StreamRejected            400 naming stream (answers are then read whole)
    │   ├── TransientProviderError    429/5xx/connection/timeout (retried, then chunk fails)
    │   │   └── ProviderTimeout           no first byte in --timeout, or silent for --idle-timeout
    │   ├── InvalidModelOutput        the answer is not JSON of the answer schema
    │   ├── BadRequest                other 4xx
    │   ├── DeadlineExceeded          the run's deadline passed
    │   └── RequestCancelled          the run was interrupted while the request was in flight
    ├── GitHubError (3)           a GitHub API call failed
    ├── GitLabError (3)           a GitLab API call failed (token, MR, TLS, refused write)
    └── CostLimitExceeded (3)     the estimated cost is above --max-cost; nothing was sent
        └── BudgetExceeded (3)        this month's spending reached monthly-budget

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage/config error,
3 operational failure, 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3
EXIT_INTERRUPTED = 130


class ReviewerError(Exception):
    """Base of every error reviewer raises on purpose."""

    exit_code: int = EXIT_FAILURE


class UsageError(ReviewerError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    pass


class GitError(ReviewerError):
    pass


class NotAGitRepository(GitError):
    pass


class ProviderError(ReviewerError):
    """The model endpoint failed. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ProviderError):
    pass


class ModelNotFound(ProviderError):
    pass


class ResponseFormatRejected(ProviderError):
    """The endpoint refused the structured-output form we asked for."""


class StreamRejected(ProviderError):
    """The endpoint refused ``stream: true``: its answers must be read whole."""


class BadRequest(ProviderError):
    pass


class TransientProviderError(ProviderError):
    """Worth retrying: 429, 5xx, connection reset, timeout. ``retry_after`` in seconds."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ProviderTimeout(TransientProviderError):
    """The server did not start answering within ``--timeout``, fell silent for longer than
    ``--idle-timeout`` (client side), or timed the request out itself (HTTP 408)."""


class InvalidModelOutput(ProviderError):
    """The model's answer is not JSON or does not match the answer schema."""


class DeadlineExceeded(ProviderError):
    pass


class RequestCancelled(ProviderError):
    """The run ended (Ctrl-C, or an error every chunk would hit) while this request was in
    flight; never retried, never reported as a chunk's failure."""


class GitHubError(ReviewerError):
    """A GitHub API call failed. ``status`` is the HTTP status (None: no response).

    ``errors`` holds GitHub's ``errors`` entries as text (422 bodies name the rule broken, not
    the comment that broke it).
    """

    def __init__(
        self, message: str, *, status: int | None = None, errors: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors


class GitLabError(ReviewerError):
    """A GitLab API call failed. ``status`` is the HTTP status (None: no response)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CostLimitExceeded(ReviewerError):
    pass


class BudgetExceeded(CostLimitExceeded):
    """The usage ledger's total for this month reached ``monthly-budget``; nothing was sent."""
