"""The effective settings of one run: built once at the edge (``reviewer.app.config``).

Passed down, never read from globals.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from reviewer.core.values import Frozen, Severity

# What the model sees around each hunk (reviewer.prepare.context): the diff's context lines
# only, the enclosing scope (function/class, called signatures, small files whole), or the
# whole file; all within a token budget.
ContextMode = Literal["lines", "scope", "file"]

DEFAULT_EXCLUDES: tuple[str, ...] = ()


class PathInstruction(Frozen):
    """Extra instructions for the model, for files matching ``glob``."""

    glob: str
    instructions: str


class Settings(Frozen):
    # endpoint
    provider: str = "openai"
    model: str | None = None  # None: the provider preset's default model
    base_url: str | None = None  # None: the provider preset's URL
    api_key_env: str | None = None  # None: the provider preset's variable
    response_format: str = "auto"  # auto | json_schema | json_object_schema | json_object | prompt
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    # seconds until the server starts answering (connect, queue, prompt, first token)
    timeout: float = Field(default=120.0, gt=0)
    idle_timeout: float = Field(default=60.0, gt=0)  # longest silence once answering
    stream: bool = True  # stream answers where the endpoint supports it
    max_retries: int = Field(default=3, ge=0, le=10)
    deadline: float = Field(default=900.0, gt=0)  # seconds for the whole run
    jobs: int = Field(default=4, ge=1, le=64)
    # budget
    context_window: int | None = None  # None: known per model, else a safe default
    max_output_tokens: int | None = None  # reserve for the answer; None: per model default
    max_chunk_tokens: int | None = None  # cap a chunk below the window (smaller, sharper reviews)
    context_lines: int = Field(default=3, ge=0, le=50)
    context: ContextMode = "scope"
    # what to review
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    max_file_bytes: int = Field(default=1_000_000, gt=0)
    review_deleted: bool = False
    # the model's instructions
    language: str = "en"
    instructions: str = ""
    path_instructions: tuple[PathInstruction, ...] = ()
    # read .reviewer/instructions*, AGENTS.md, CLAUDE.md, Copilot and Cursor rules
    repo_instructions: bool = True
    # findings
    min_severity: Severity = "low"
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    max_findings: int = Field(default=50, ge=0)
    fail_on: Severity | None = "high"  # None: never exit 1 for findings
    verify: bool = True  # a second request checks each chunk's findings against the code
    # safety and cost
    redact: bool = True
    redact_pii: bool = True  # personal data too (e-mail, phone and ID numbers, cards, IBANs)
    max_cost: float | None = None  # USD; review the highest priorities that fit this estimate
    max_chunks: int | None = Field(default=None, ge=0)  # requests: the same, counted in chunks
    over_budget: Literal["review", "refuse"] = "review"  # refuse: send nothing over a budget
    # Globs reviewed first / last, over every other priority (reviewer.prepare.priority).
    priority: tuple[str, ...] = ()
    deprioritize: tuple[str, ...] = ()
    price_in: float | None = None  # USD per 1M input tokens, overrides the price table
    price_out: float | None = None
    fail_open: bool = False  # treat operational failures as warnings (pre-commit hook)
    monthly_budget: float | None = Field(default=None, gt=0)  # USD, every run in the store
    # one rate limit for everyone using the store (None: only the provider's 429s and headers)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    # cache
    cache: bool = True
    cache_dir: str | None = None
    cache_url: str | None = None  # redis:// or rediss://: the team's shared store

    @field_validator("cache_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value or None
