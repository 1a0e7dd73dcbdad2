"""The plan of a review: chunks under the model's budget, each with its prompt, cache key and
token count, what the cache already answered, and what sending the rest would cost."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.core.errors import BudgetExceeded, ConfigError
from reviewer.core.globs import glob_matches
from reviewer.core.settings import Settings
from reviewer.core.values import (
    Chunk,
    ChunkInfo,
    InstructionFile,
    InstructionSource,
    NotReviewed,
    RedactionSite,
)
from reviewer.llm.answer import ModelAnswer, strict_json_schema
from reviewer.llm.backend import ResponseMode
from reviewer.llm.modelinfo import (
    DEFAULT_CONTEXT_WINDOW,
    DEFAULT_MAX_CHUNK_TOKENS,
    DEFAULT_OUTPUT_RESERVE,
    SAFETY_MARGIN,
    estimate_cost,
    model_info,
)
from reviewer.llm.prompt import system_prompt
from reviewer.pipeline.ports import AnswerCache, Endpoint
from reviewer.prepare.chunker import make_chunks
from reviewer.prepare.instructions import applicable, budget_instructions, label
from reviewer.prepare.measure import estimate, utf8_len
from reviewer.prepare.render import render_chunk
from reviewer.prepare.screen import Screened
from reviewer.prepare.tokens import Tokenizer

if TYPE_CHECKING:
    from reviewer.prepare.context.gather import ContentReader
    from reviewer.prepare.context.outline import Outliner

# Bump when the prompt or the answer schema changes: it is part of every cache key.
PROMPT_VERSION = "1"
# For the cost estimate before sending: a typical answer, capped by the reserve.
TYPICAL_ANSWER_TOKENS = 600
# The verification pass, estimated before anything is sent (so before anyone knows which
# chunks will have findings): VERIFY_SHARE of the chunks are assumed to have findings; each
# such request carries the verification prompt, the code around a few findings (at most
# VERIFY_CODE_TOKENS, never more than the chunk) and VERIFY_CANDIDATE_TOKENS of candidates, and
# its answer VERIFY_ANSWER_TOKENS. Meant as a ceiling for --max-cost: bench/quality.py measures
# how it compares with real runs (BENCHMARKS.md).
VERIFY_SHARE = 0.5
VERIFY_CODE_TOKENS = 600  # three findings' regions of 21 numbered lines
VERIFY_CANDIDATE_TOKENS = 350
VERIFY_ANSWER_TOKENS = 300


@dataclass(frozen=True, slots=True)
class PlannedChunk:
    """A chunk with everything sending it needs: the user message, the system prompt (for the
    endpoint's first response mode), their cache key and the system prompt's token count."""

    chunk: Chunk
    text: str
    system_tokens: int
    key: str

    @property
    def tokens(self) -> int:
        return self.chunk.tokens + self.system_tokens


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    chunks: tuple[PlannedChunk, ...]
    over_budget: tuple[NotReviewed, ...]
    reserve: int  # tokens reserved for each answer
    window: int  # the model's context window
    prices: tuple[float | None, float | None]  # USD per 1M tokens in, out
    cached: dict[str, ModelAnswer]  # answers an earlier run gave, by chunk id
    # the repository's instruction files, within their budget (reviewer.prepare.instructions)
    instructions: tuple[InstructionFile, ...] = ()
    verify_system_tokens: int = 0  # the verification prompt's tokens; 0: --no-verify
    instruction_sources: tuple[InstructionSource, ...] = ()  # how each file was used
    context_sites: tuple[RedactionSite, ...] = ()  # where context lines were redacted
    warnings: tuple[str, ...] = ()  # e.g. context that could not be read

    @property
    def context_tokens(self) -> int:
        return sum(p.chunk.context_tokens for p in self.chunks)

    @property
    def reviewed_paths(self) -> tuple[str, ...]:
        return tuple(sorted({f.path for p in self.chunks for f in p.chunk.files}))

    @property
    def infos(self) -> tuple[ChunkInfo, ...]:
        return tuple(
            ChunkInfo(
                index=p.chunk.index,
                id=p.chunk.id,
                paths=p.chunk.paths,
                tokens=p.tokens,
                changed_lines=p.chunk.changed_lines,
            )
            for p in self.chunks
        )

    @property
    def to_send(self) -> tuple[PlannedChunk, ...]:
        return tuple(p for p in self.chunks if p.chunk.id not in self.cached)

    def estimate(self, chunks: Sequence[PlannedChunk]) -> tuple[int, float | None]:
        """(input tokens, USD) for sending ``chunks``, with a typical answer for each, and the
        verification pass's expected share (see ``VERIFY_SHARE``)."""
        verify_in, verify_out = self.verify_estimate(chunks)
        tokens_in = sum(p.tokens for p in chunks) + verify_in
        tokens_out = len(chunks) * min(self.reserve, TYPICAL_ANSWER_TOKENS) + verify_out
        return tokens_in, estimate_cost(tokens_in, tokens_out, *self.prices)

    def verify_estimate(self, chunks: Sequence[PlannedChunk]) -> tuple[int, int]:
        """(input, output) tokens the verification of ``chunks`` is expected to take."""
        if not self.verify_system_tokens or not chunks:
            return 0, 0
        per_chunk = sum(
            self.verify_system_tokens
            + min(p.chunk.tokens, VERIFY_CODE_TOKENS)
            + VERIFY_CANDIDATE_TOKENS
            for p in chunks
        )
        answers = len(chunks) * min(self.reserve, VERIFY_ANSWER_TOKENS)
        return round(VERIFY_SHARE * per_chunk), round(VERIFY_SHARE * answers)


@dataclass(frozen=True, slots=True)
class _Budgets:
    """What every wave's plan shares, worked out once: the instruction files within their
    budget, the chunk budget, the answer reserve, the verification prompt's size."""

    instructions: tuple[InstructionFile, ...]
    sources: tuple[InstructionSource, ...]
    chunk: int
    reserve: int
    verify_system_tokens: int


class Planner:
    """Plans a change wave by wave (``reviewer.pipeline.waves``): screens the wave's files,
    gathers their context, chunks them and orders the chunks by priority. With nothing to
    send, no count is needed: a hook run with nothing staged never loads the tokenizer (nor
    reads a file)."""

    def __init__(
        self,
        settings: Settings,
        endpoint: Endpoint,
        tokenizer: Tokenizer,
        instructions: Sequence[InstructionFile] = (),
        *,
        contents: ContentReader | None = None,
        outliner: Outliner | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.tokenizer = tokenizer
        self.window = context_window(settings, endpoint.model)
        self.prices = model_prices(settings, endpoint.model)
        self._instructions = tuple(instructions)
        self._contents = contents
        self._outliner = outliner
        self._budgets: _Budgets | None = None
        self.next_index = 0

    @property
    def budgets(self) -> _Budgets:
        if self._budgets is None:
            settings, tokenizer = self.settings, self.tokenizer
            rules, sources = budget_instructions(self._instructions, tokenizer, self.window)
            chunk, reserve = chunk_budget(settings, self.endpoint.model, tokenizer, rules)
            verify = (
                _verify_prompt_tokens(settings, self.endpoint, tokenizer) if settings.verify else 0
            )
            self._budgets = _Budgets(rules, sources, chunk, reserve, verify)
        return self._budgets

    def empty(self) -> ReviewPlan:
        return ReviewPlan((), (), 0, self.window, self.prices, {})

    def plan(self, screened: Screened, scores: Mapping[str, float]) -> ReviewPlan:
        """The wave's chunks, highest priority first (a chunk ranks as its best file), numbered
        on from the previous wave's."""
        if not screened.files:
            return self.empty()
        budgets = self.budgets
        # Imported here: a run with nothing to review loads none of the context machinery.
        from reviewer.prepare.context.gather import gather_context
        from reviewer.prepare.context.outline import ParsingOutliner

        gathered = gather_context(
            screened.files,
            mode=self.settings.context,
            reader=self._contents,
            outliner=self._outliner or ParsingOutliner(),
            tokenizer=self.tokenizer,
            budget=budgets.chunk,
            redact=self.settings.redact,
            pii=self.settings.redact_pii,
        )
        chunks, over_budget = make_chunks(
            screened.files, budgets.chunk, self.tokenizer, contexts=gathered.levels
        )
        ordered = sorted(chunks, key=lambda c: -max(scores.get(p, 0.0) for p in c.paths))
        planned = []
        for chunk in ordered:
            numbered = chunk.model_copy(update={"index": self.next_index})
            self.next_index += 1
            planned.append(
                _planned(
                    numbered, self.settings, self.endpoint, self.tokenizer, budgets.instructions
                )
            )
        return ReviewPlan(
            tuple(planned),
            over_budget,
            budgets.reserve,
            self.window,
            self.prices,
            {},
            instructions=budgets.instructions,
            verify_system_tokens=budgets.verify_system_tokens,
            instruction_sources=budgets.sources,
            context_sites=gathered.sites,
            warnings=gathered.warnings,
        )


def _verify_prompt_tokens(settings: Settings, endpoint: Endpoint, tokenizer: Tokenizer) -> int:
    # Imported here: the verification pass's models cost a hook with nothing to review.
    from reviewer.llm.verify import verify_schema
    from reviewer.llm.verify_prompt import verify_system_prompt

    mode = endpoint.response_modes[0]
    return estimate(tokenizer, verify_system_prompt(settings.language, mode, verify_schema()))


def _planned(
    chunk: Chunk,
    settings: Settings,
    endpoint: Endpoint,
    tokenizer: Tokenizer,
    instructions: Sequence[InstructionFile],
) -> PlannedChunk:
    text = render_chunk(chunk.files)
    system = system_for(settings, chunk.paths, endpoint.response_modes[0], instructions)
    return PlannedChunk(
        chunk=chunk,
        text=text,
        system_tokens=estimate(tokenizer, system),
        key=cache_key(endpoint, settings, system, text),
    )


def with_cached_answers(plan: ReviewPlan, cache: AnswerCache | None) -> ReviewPlan:
    """The plan with the answers an earlier run already gave (a dry run never looks)."""
    if cache is None:
        return plan
    found: dict[str, ModelAnswer] = {}
    for planned in plan.chunks:
        answer = cache.get(planned.key)
        if answer is not None:
            found[planned.chunk.id] = answer
    return dataclasses.replace(plan, cached=found)


@dataclass(frozen=True, slots=True)
class MonthlyBudget:
    """What the usage ledger says of this month, against ``monthly-budget``."""

    limit_usd: float
    spent_usd: float  # this month so far, every run recorded in the store
    month: str  # e.g. "2025-07" (UTC)
    next_month: str  # when the budget starts again, e.g. "2025-08-01"

    @property
    def fraction(self) -> float:
        return self.spent_usd / self.limit_usd if self.limit_usd > 0 else float("inf")


def enforce_budget(plan: ReviewPlan, budget: MonthlyBudget | None) -> None:
    """Past the month's budget nothing more is sent; what the cache answers is still served."""
    if budget is None or not plan.to_send or budget.spent_usd < budget.limit_usd:
        return
    raise BudgetExceeded(
        f"monthly budget spent: ${budget.spent_usd:.2f} of ${budget.limit_usd:.2f} in "
        f"{budget.month}; nothing was sent (raise monthly-budget, or wait for "
        f"{budget.next_month})"
    )


def _paths_instructions(settings: Settings, paths: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (pi.glob, pi.instructions)
        for pi in settings.path_instructions
        if any(glob_matches(pi.glob, p) for p in paths)
    )


def system_for(
    settings: Settings,
    paths: Sequence[str],
    mode: ResponseMode,
    instructions: Sequence[InstructionFile] = (),
) -> str:
    return system_prompt(
        settings.language,
        settings.instructions,
        _paths_instructions(settings, paths),
        mode,
        strict_json_schema(),
        context=settings.context != "lines",
        repo_instructions=tuple((label(f), f.text) for f in applicable(instructions, paths)),
    )


def context_window(settings: Settings, model: str) -> int:
    info = model_info(model)
    return settings.context_window or (info.context_window if info else DEFAULT_CONTEXT_WINDOW)


def chunk_budget(
    settings: Settings,
    model: str,
    tokenizer: Tokenizer,
    instructions: Sequence[InstructionFile] = (),
) -> tuple[int, int]:
    """(tokens a chunk's user message may take, tokens reserved for the answer)."""
    info = model_info(model)
    window = context_window(settings, model)
    reserve = settings.max_output_tokens or (
        info.output_reserve if info else DEFAULT_OUTPUT_RESERVE
    )
    # The largest system prompt any chunk can get: schema in the prompt, every path instruction
    # and every repository instruction file.
    largest = system_prompt(
        settings.language,
        settings.instructions,
        tuple((pi.glob, pi.instructions) for pi in settings.path_instructions),
        "prompt",
        strict_json_schema(),
        context=settings.context != "lines",
        repo_instructions=tuple((label(f), f.text) for f in instructions),
    )
    cap = settings.max_chunk_tokens or DEFAULT_MAX_CHUNK_TOKENS
    # The prompt's length in bytes bounds its tokens: counted only when that bound alone would
    # make the budget smaller than the cap (a large window rarely needs the count).
    budget = window - reserve - utf8_len(largest) - SAFETY_MARGIN
    if budget < cap:
        budget = window - reserve - tokenizer.count(largest) - SAFETY_MARGIN
    budget = min(budget, cap)
    if budget < 200:
        raise ConfigError(
            f"context window {window} is too small for model {model}: after the answer reserve "
            f"({reserve}) and the system prompt only {budget} tokens are left for code; "
            "raise --context-window or lower --max-output-tokens"
        )
    return budget, reserve


def cache_key(
    endpoint: Endpoint, settings: Settings, system: str, user: str, version: str = PROMPT_VERSION
) -> str:
    material = json.dumps(
        [
            version,
            endpoint.base_url,
            endpoint.model,
            settings.temperature,
            system,
            user,
        ]
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def model_prices(settings: Settings, model: str) -> tuple[float | None, float | None]:
    info = model_info(model)
    price_in, price_out = settings.price_in, settings.price_out
    if info is not None:
        price_in = info.price_in if price_in is None else price_in
        price_out = info.price_out if price_out is None else price_out
    return price_in, price_out
