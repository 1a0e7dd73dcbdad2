"""Cost control: the estimate before sending, the price table and its config override, the
actual usage in every output format, and ``--max-cost`` refusing to send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, endpoint_env, run_cli
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import commit, git, write

from reviewer.llm.modelinfo import KNOWN_MODELS, estimate_cost, model_info
from reviewer.pipeline.plan import TYPICAL_ANSWER_TOKENS, VERIFY_ANSWER_TOKENS, VERIFY_SHARE

USAGE = {"prompt_tokens": 12_345, "completion_tokens": 678}


def billed(_req: Received) -> Reply:
    return reply_json({"summary": "Looks fine.", "findings": []}, usage=USAGE)


@pytest.fixture
def staged(repo: Path) -> Path:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    write(repo, "app.py", "".join(f"value_{n} = compute({n})\n" for n in range(40)))
    write(repo, "util.py", "".join(f"def f{n}(x):\n    return x + {n}\n" for n in range(20)))
    git(repo, "add", "-A")
    return repo


@pytest.fixture
def server() -> Any:
    with FakeOpenAI(default=billed) as fake:
        yield fake


def review(fake: FakeOpenAI, *args: str) -> Run:
    return run_cli("--no-cache", *args, env=endpoint_env(fake))


def expected_estimate(stats: dict[str, Any], price_in: float, price_out: float) -> float | None:
    out = stats["chunks"] * TYPICAL_ANSWER_TOKENS  # the models below reserve more than that
    if stats["estimated_verify_tokens_in"]:
        # the verification pass: half the chunks assumed to have findings to check
        out += round(VERIFY_SHARE * stats["chunks"] * VERIFY_ANSWER_TOKENS)
    return estimate_cost(stats["estimated_tokens_in"], out, price_in, price_out)


# --------------------------------------------------------------------------- the estimate


def test_dry_run_shows_tokens_and_estimated_cost_and_sends_nothing(
    staged: Path, server: FakeOpenAI
) -> None:
    run = review(server, "--dry-run", "-o", "json")
    assert run.code == 0, run.err
    result = run.json()
    stats = result["stats"]
    info = model_info("gpt-4o-mini")
    assert info is not None and info.price_in is not None and info.price_out is not None

    chunk_tokens = sum(c["tokens"] for c in result["chunks"])
    verify_tokens = stats["estimated_verify_tokens_in"]
    assert stats["estimated_tokens_in"] == chunk_tokens + verify_tokens
    assert 0 < verify_tokens < chunk_tokens  # a share of the chunks, a part of their code
    assert stats["estimated_cost_usd"] == expected_estimate(stats, info.price_in, info.price_out)
    assert stats["estimated_cost_usd"] > 0
    assert stats["tokens_in"] == 0 and stats["cost_usd"] is None
    assert server.requests == []

    text = review(server, "--dry-run").out
    assert f"Tokens: ~{stats['estimated_tokens_in']:,} in (estimated; ~{verify_tokens:,} of" in text
    assert f"Estimated cost: ${stats['estimated_cost_usd']:.4f}" in text
    assert server.requests == []

    # Without the verification pass, the estimate is the chunks' requests alone.
    unchecked = review(server, "--dry-run", "-o", "json", "--no-verify").json()["stats"]
    assert unchecked["estimated_tokens_in"] == chunk_tokens
    assert unchecked["estimated_verify_tokens_in"] == 0
    assert unchecked["estimated_cost_usd"] == expected_estimate(
        unchecked, info.price_in, info.price_out
    )
    text = review(server, "--dry-run", "--no-verify").out
    assert f"Tokens: ~{chunk_tokens:,} in (estimated)\n" in text


def test_the_price_table_knows_the_default_models() -> None:
    for model in ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "deepseek-chat", "qwen-plus"):
        info = model_info(model)
        assert info is not None and info.price_in and info.price_out, model
    # Dated snapshots and provider prefixes find their family.
    assert model_info("gpt-4o-2024-08-06") == KNOWN_MODELS["gpt-4o"]
    assert model_info("openai/gpt-4o-mini") == KNOWN_MODELS["gpt-4o-mini"]
    assert model_info("my-local-model") is None


def test_prices_from_the_config_file_override_the_table(staged: Path, server: FakeOpenAI) -> None:
    (staged / ".reviewer.toml").write_text("price-in = 1000.0\nprice-out = 2000.0\n")
    stats = review(server, "--dry-run", "-o", "json").json()["stats"]
    assert stats["estimated_cost_usd"] == expected_estimate(stats, 1000.0, 2000.0)

    # And for a model the table does not know.
    stats = review(server, "--dry-run", "-o", "json", "--model", "my-local-model").json()["stats"]
    assert stats["estimated_cost_usd"] == expected_estimate(stats, 1000.0, 2000.0)


def test_an_unknown_price_is_said_not_guessed(staged: Path, server: FakeOpenAI) -> None:
    run = review(server, "--dry-run", "-o", "json", "--model", "my-local-model")
    assert run.json()["stats"]["estimated_cost_usd"] is None
    text = review(server, "--dry-run", "--model", "my-local-model").out
    assert "Estimated cost: unknown (no price for this model)" in text


# --------------------------------------------------------------------------- actual usage


def test_actual_usage_and_cost_are_in_every_output_format(
    staged: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    (staged / ".reviewer.toml").write_text("price-in = 1000.0\nprice-out = 2000.0\n")
    out = tmp_path / "out"
    run = review(
        server,
        "-o",
        f"json={out}.json",
        "-o",
        f"sarif={out}.sarif",
        "-o",
        f"github={out}.md",
        "-o",
        "terminal",
    )
    assert run.code == 0, run.err
    requests = len(server.requests)
    assert requests >= 1
    tokens_in, tokens_out = USAGE["prompt_tokens"] * requests, USAGE["completion_tokens"] * requests
    cost = estimate_cost(tokens_in, tokens_out, 1000.0, 2000.0)
    assert cost is not None

    stats = json.loads(Path(f"{out}.json").read_text())["stats"]
    assert (stats["tokens_in"], stats["tokens_out"], stats["cost_usd"]) == (
        tokens_in,
        tokens_out,
        cost,
    )
    assert stats["requests"] == requests

    sarif_stats = json.loads(Path(f"{out}.sarif").read_text())["runs"][0]["properties"]["stats"]
    assert (sarif_stats["tokens_in"], sarif_stats["tokens_out"], sarif_stats["cost_usd"]) == (
        tokens_in,
        tokens_out,
        cost,
    )

    summary = Path(f"{out}.md").read_text()
    assert f"{tokens_in:,} tokens in, {tokens_out:,} out · ${cost:.4f}" in summary

    money = f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"
    assert f"tokens {tokens_in:,} in / {tokens_out:,} out" in run.out
    assert f"cost {money} (estimated $" in run.out


def test_a_cached_review_costs_nothing(staged: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    env = endpoint_env(server)
    args = ("-o", "json", "--cache-dir", str(tmp_path / "cache"))
    assert run_cli(*args, env=env).json()["stats"]["tokens_in"] > 0
    stats = run_cli(*args, env=env).json()["stats"]
    assert stats["chunks_cached"] == stats["chunks"]
    assert (stats["tokens_in"], stats["tokens_out"], stats["cost_usd"]) == (0, 0, 0.0)
    assert stats["estimated_cost_usd"] > 0  # the plan still says what a fresh review costs


# --------------------------------------------------------------------------- --max-cost


def test_max_cost_below_the_estimate_refuses_and_sends_nothing(
    staged: Path, server: FakeOpenAI
) -> None:
    estimate = review(server, "--dry-run", "-o", "json").json()["stats"]["estimated_cost_usd"]

    run = review(server, "--max-cost", f"{estimate / 2:.8f}")

    assert run.code == 3
    assert "exceeds --max-cost" in run.err and "nothing was sent" in run.err
    assert server.requests == []


def test_max_cost_above_the_estimate_reviews(staged: Path, server: FakeOpenAI) -> None:
    estimate = review(server, "--dry-run", "-o", "json").json()["stats"]["estimated_cost_usd"]

    run = review(server, "--max-cost", f"{estimate * 2:.8f}", "-o", "json")

    assert run.code == 0, run.err
    assert len(server.requests) == run.json()["stats"]["chunks"] >= 1


def test_max_cost_counts_the_verification_pass(staged: Path, server: FakeOpenAI) -> None:
    checked = review(server, "--dry-run", "-o", "json").json()["stats"]["estimated_cost_usd"]
    unchecked = review(server, "--dry-run", "-o", "json", "--no-verify").json()["stats"][
        "estimated_cost_usd"
    ]
    assert unchecked < checked
    between = f"{(checked + unchecked) / 2:.8f}"

    run = review(server, "--max-cost", between)
    assert run.code == 3
    assert "exceeds --max-cost" in run.err and server.requests == []

    assert review(server, "--max-cost", between, "--no-verify").code == 0
    assert server.requests


def test_max_cost_with_an_unknown_price_refuses(staged: Path, server: FakeOpenAI) -> None:
    run = review(server, "--max-cost", "100", "--model", "my-local-model")
    assert run.code == 3
    assert "price of model my-local-model is unknown" in run.err
    assert server.requests == []

    # Given a price, the same model is reviewed.
    (staged / ".reviewer.toml").write_text("price-in = 0.1\nprice-out = 0.1\n")
    assert review(server, "--max-cost", "100", "--model", "my-local-model").code == 0
    assert server.requests


def test_max_cost_in_a_hook_warns_and_lets_the_commit_through(
    staged: Path, server: FakeOpenAI
) -> None:
    run = review(server, "--hook", "pre-commit", "--max-cost", "0.00000001")
    assert run.code == 0
    assert "exceeds --max-cost" in run.err and "failing open" in run.err
    assert server.requests == []
    assert (
        review(server, "--hook", "pre-commit", "--max-cost", "0.00000001", "--fail-closed").code
        == 3
    )
