"""What we know about models: context window, answer reserve, price per million tokens.

Prices are list prices in USD per 1M tokens (input, output) as published by the providers;
they are estimates for budgeting, overridable with ``price-in``/``price-out`` in config.
Unknown models get a conservative window so a request never overflows a small local model.
"""

from __future__ import annotations

from pydantic import Field

from reviewer.core.values import Frozen

DEFAULT_CONTEXT_WINDOW = 8192
DEFAULT_OUTPUT_RESERVE = 2048
# A chunk bigger than this gets a shallower review even when the window allows it.
DEFAULT_MAX_CHUNK_TOKENS = 12_000
# Tokens kept free besides the system prompt and the answer: chat framing, re-ask messages.
SAFETY_MARGIN = 256


class ModelInfo(Frozen):
    context_window: int = Field(gt=0)
    output_reserve: int = Field(gt=0)
    price_in: float | None = None  # USD per 1M input tokens
    price_out: float | None = None


# Matched by longest prefix of the model name (lower-cased), so "gpt-4o-2024-08-06" -> "gpt-4o".
KNOWN_MODELS: dict[str, ModelInfo] = {
    "gpt-4o-mini": ModelInfo(
        context_window=128_000, output_reserve=4096, price_in=0.15, price_out=0.60
    ),
    "gpt-4o": ModelInfo(
        context_window=128_000, output_reserve=4096, price_in=2.50, price_out=10.00
    ),
    "gpt-4.1-nano": ModelInfo(
        context_window=1_047_576, output_reserve=4096, price_in=0.10, price_out=0.40
    ),
    "gpt-4.1-mini": ModelInfo(
        context_window=1_047_576, output_reserve=4096, price_in=0.40, price_out=1.60
    ),
    "gpt-4.1": ModelInfo(
        context_window=1_047_576, output_reserve=4096, price_in=2.00, price_out=8.00
    ),
    "gpt-5-nano": ModelInfo(
        context_window=400_000, output_reserve=8192, price_in=0.05, price_out=0.40
    ),
    "gpt-5-mini": ModelInfo(
        context_window=400_000, output_reserve=8192, price_in=0.25, price_out=2.00
    ),
    "gpt-5": ModelInfo(context_window=400_000, output_reserve=8192, price_in=1.25, price_out=10.00),
    "o4-mini": ModelInfo(
        context_window=200_000, output_reserve=8192, price_in=1.10, price_out=4.40
    ),
    "o3-mini": ModelInfo(
        context_window=200_000, output_reserve=8192, price_in=1.10, price_out=4.40
    ),
    "o3": ModelInfo(context_window=200_000, output_reserve=8192, price_in=2.00, price_out=8.00),
    "gpt-4-turbo": ModelInfo(
        context_window=128_000, output_reserve=4096, price_in=10.0, price_out=30.0
    ),
    "gpt-3.5-turbo": ModelInfo(
        context_window=16_385, output_reserve=2048, price_in=0.50, price_out=1.50
    ),
    "deepseek-chat": ModelInfo(
        context_window=64_000, output_reserve=4096, price_in=0.27, price_out=1.10
    ),
    "deepseek-reasoner": ModelInfo(
        context_window=64_000, output_reserve=8192, price_in=0.55, price_out=2.19
    ),
    "qwen-turbo": ModelInfo(
        context_window=131_072, output_reserve=4096, price_in=0.05, price_out=0.20
    ),
    "qwen-plus": ModelInfo(
        context_window=131_072, output_reserve=4096, price_in=0.40, price_out=1.20
    ),
    "qwen-max": ModelInfo(
        context_window=32_768, output_reserve=4096, price_in=1.60, price_out=6.40
    ),
    "qwen2.5-coder": ModelInfo(context_window=32_768, output_reserve=4096),
    "qwen3-coder": ModelInfo(context_window=262_144, output_reserve=4096),
    "yi-lightning": ModelInfo(
        context_window=16_384, output_reserve=2048, price_in=0.14, price_out=0.14
    ),
    "smollm2": ModelInfo(context_window=2048, output_reserve=512, price_in=0.0, price_out=0.0),
}


def model_info(model: str) -> ModelInfo | None:
    name = model.lower().rsplit("/", 1)[-1]  # "Qwen/Qwen2.5-Coder-7B" -> "qwen2.5-coder-7b"
    best: str | None = None
    for prefix in KNOWN_MODELS:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return KNOWN_MODELS[best] if best else None


def estimate_cost(
    tokens_in: int, tokens_out: int, price_in: float | None, price_out: float | None
) -> float | None:
    """USD, or None when the price is unknown."""
    if price_in is None or price_out is None:
        return None
    return round(tokens_in * price_in / 1e6 + tokens_out * price_out / 1e6, 6)
