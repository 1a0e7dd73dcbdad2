"""Local servers configure the run: the loaded model and the context window are read from the
server (llama.cpp, Ollama, vLLM, LM Studio, each where it says them), remembered per endpoint,
and a server that does not say is a warning with the default. The narrowed schema goes to
each server in the form it turns into a grammar.

The fake server answers the model-info routes from ``FakeOpenAI.info``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fake_openai import FakeOpenAI
from gitrepo import write

from reviewer.llm.answer import findings_cap, grammar_json_schema, strict_json_schema
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS
from reviewer.llm.serverinfo import NoServerInfo, probe_server

CALC = "def mean(xs):\n    return sum(xs) / len(xs)\n"


@pytest.fixture
def calc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "calc.py", CALC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def review(srv: FakeOpenAI, provider: str, *args: str) -> Any:
    run = run_cli(
        "calc.py", "--provider", provider, "--base-url", srv.base_url, "-o", "json", *args
    )
    assert run.code == 0, run.err
    return run


LLAMA_PROPS = {
    "default_generation_settings": {"n_ctx": 3072, "params": {}},
    "total_slots": 1,
    "model_alias": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "model_path": "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}


def test_llamacpp_reads_the_window_and_model_from_props(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {"/props": LLAMA_PROPS}
    run = review(llm, "llamacpp")
    result = run.json()
    assert result["stats"]["context_window"] == 3072
    assert result["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert llm.requests[0].body["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert "context window 3072 (read from /props)" in run.err
    assert result["warnings"] == []


def test_an_explicit_window_and_model_are_not_asked_for(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {"/props": LLAMA_PROPS}
    result = review(llm, "llamacpp", "--context-window", "6000", "--model", "mine").json()
    assert result["stats"]["context_window"] == 6000
    assert result["model"] == "mine"
    assert llm.info_requests == []


def test_llama_cpp_python_says_its_model_but_not_its_window(calc: Path, llm: FakeOpenAI) -> None:
    # llama-cpp-python's server: /v1/models with the model path, no /props, no /slots.
    llm.info = {"/v1/models": {"object": "list", "data": [{"id": "/m/qwen2.5-coder-7b.gguf"}]}}
    run = review(llm, "llamacpp")
    result = run.json()
    assert result["model"] == "qwen2.5-coder-7b.gguf"
    # Today's default, not the 32k the model name would bring along.
    assert result["stats"]["context_window"] == 8192
    (warning,) = result["warnings"]
    assert "did not say its context window" in warning and "--context-window" in warning
    assert "/props: HTTP 404" in warning


def test_newer_llama_server_models_route(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {"/v1/models": {"data": [{"id": "m.gguf", "meta": {"n_ctx": 5000}}]}}
    assert review(llm, "llamacpp").json()["stats"]["context_window"] == 5000


def test_vllm_serves_its_model_and_max_model_len(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {
        "/v1/models": {
            "data": [{"id": "Qwen/Qwen2.5-Coder-7B-Instruct", "max_model_len": 16384}],
        }
    }
    result = review(llm, "vllm").json()  # no --model: the served one
    assert result["model"] == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert result["stats"]["context_window"] == 16384
    assert llm.requests[0].body["model"] == "Qwen/Qwen2.5-Coder-7B-Instruct"


def test_vllm_without_a_model_and_no_answer_is_a_usage_error(calc: Path, llm: FakeOpenAI) -> None:
    run = run_cli("calc.py", "--provider", "vllm", "--base-url", llm.base_url)
    assert run.code == 2
    assert "did not say which model it serves" in run.err and "pass --model" in run.err
    assert llm.requests == []


OLLAMA_SHOW = {
    "parameters": 'stop "<|im_end|>"\nnum_ctx 12288\ntemperature 0.7',
    "model_info": {"qwen2.context_length": 32768},
}


@pytest.mark.parametrize(
    ("info", "window"),
    [
        # Loaded: what it really got.
        ({"/api/ps": {"models": [{"name": "qwen2.5-coder:7b", "context_length": 6144}]}}, 6144),
        # Not loaded: its num_ctx parameter.
        ({"/api/ps": {"models": []}, "/api/show": OLLAMA_SHOW}, 12288),
        # Neither: its trained length, capped at Ollama's smallest default.
        ({"/api/show": {"model_info": {"qwen2.context_length": 32768}}}, 4096),
    ],
    ids=["api-ps", "num_ctx", "default"],
)
def test_ollama(calc: Path, llm: FakeOpenAI, info: dict[str, Any], window: int) -> None:
    llm.info = info
    result = review(llm, "ollama").json()
    assert result["stats"]["context_window"] == window
    assert result["model"] == "qwen2.5-coder:7b"


def test_lmstudio_v1_loaded_instance(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {
        "/api/v1/models": {
            "models": [
                {"type": "llm", "key": "other", "loaded_instances": [], "max_context_length": 1},
                {
                    "type": "llm",
                    "key": "qwen/qwen3-4b",
                    "max_context_length": 262144,
                    "loaded_instances": [
                        {"id": "qwen/qwen3-4b", "config": {"context_length": 9000}}
                    ],
                },
            ]
        }
    }
    result = review(llm, "lmstudio").json()
    assert (result["model"], result["stats"]["context_window"]) == ("qwen/qwen3-4b", 9000)


def test_lmstudio_v0_fallback(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {
        "/api/v0/models": {
            "data": [
                {"id": "emb", "type": "embeddings", "state": "loaded"},
                {"id": "gemma-3", "type": "vlm", "state": "loaded", "max_context_length": 131072},
            ]
        }
    }
    result = review(llm, "lmstudio").json()
    assert (result["model"], result["stats"]["context_window"]) == ("gemma-3", 4096)


def test_what_the_server_said_is_remembered(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {"/props": LLAMA_PROPS}
    first = review(llm, "llamacpp").json()
    llm.info = {}  # the server no longer says (or is not there): the cache remembers
    second = review(llm, "llamacpp").json()
    assert second["stats"]["context_window"] == 3072
    assert second["model"] == first["model"]
    assert second["stats"]["chunks_cached"] == 1  # same model, same chunks: a cache hit
    (warning,) = second["warnings"]
    assert "using what it said on an earlier run" in warning


def test_an_unreachable_server_is_a_bounded_failure() -> None:
    with pytest.raises(NoServerInfo, match="refused"):
        probe_server("vllm", "http://127.0.0.1:9/v1", None, timeout=1)
    with pytest.raises(NoServerInfo, match="not an http"):
        probe_server("vllm", "file:///etc/passwd", None)


def test_the_key_goes_to_the_model_info_route_too(calc: Path, llm: FakeOpenAI) -> None:
    llm.info = {"/v1/models": {"data": [{"id": "m", "max_model_len": 9000}]}}
    run = run_cli(
        "calc.py",
        "--provider",
        "vllm",
        "--base-url",
        llm.base_url,
        "--api-key-env",
        "VLLM_KEY",
        env={"VLLM_KEY": "vllm-secret-123456"},
    )
    assert run.code == 0, run.err
    assert llm.requests[0].headers["authorization"] == "Bearer vllm-secret-123456"


# --------------------------------------------------------------------------- the schema


@pytest.mark.parametrize("provider", ["ollama", "vllm", "lmstudio"])
def test_local_servers_get_the_narrowed_schema_as_json_schema(
    calc: Path, llm: FakeOpenAI, provider: str
) -> None:
    llm.info = {
        "/api/ps": {"models": [{"name": "qwen2.5-coder:7b", "context_length": 8192}]},
        "/v1/models": {"data": [{"id": "m", "max_model_len": 8192}]},
        "/api/v1/models": {
            "models": [{"key": "m", "loaded_instances": [{"config": {"context_length": 8192}}]}]
        },
    }
    review(llm, provider, "--max-output-tokens", "300")
    (request,) = llm.review_requests
    assert request.mode == "json_schema"
    sent = request.response_format["json_schema"]["schema"]
    assert sent == grammar_json_schema(
        paths=["calc.py"], lines=[1, 2], max_findings=findings_cap(300, DEFAULT_MAX_FINDINGS)
    )


def test_openai_keeps_the_strict_schema(calc: Path, llm: FakeOpenAI) -> None:
    run = run_cli(
        "calc.py",
        "-o",
        "json",
        env={"OPENAI_API_KEY": "sk-x-0123456789", "REVIEWER_BASE_URL": llm.base_url},
    )
    assert run.code == 0, run.err
    (request,) = llm.review_requests
    assert request.response_format["json_schema"]["schema"] == strict_json_schema()
    assert llm.info_requests == []  # a hosted provider is never probed
