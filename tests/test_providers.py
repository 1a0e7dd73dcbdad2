from __future__ import annotations

from urllib.parse import urlparse

import pytest

from reviewer.core.errors import AuthError, UsageError
from reviewer.llm.backend import RESPONSE_MODES
from reviewer.llm.providers import ALIASES, NO_KEY, PROVIDERS, api_key_from, get_provider

LOCAL = {"ollama", "llamacpp", "vllm", "lmstudio"}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_presets_are_consistent(name: str) -> None:
    provider = PROVIDERS[name]
    assert provider.name == name
    assert provider.response_modes, "at least one mode"
    assert len(set(provider.response_modes)) == len(provider.response_modes)
    # Strongest first, in the order reviewer.llm.conversation falls back through.
    order = [RESPONSE_MODES.index(m) for m in provider.response_modes]
    assert order == sorted(order)
    assert provider.response_modes[-1] == "prompt", "prompt mode is the last resort"
    if provider.base_url is not None:
        url = urlparse(provider.base_url)
        assert url.scheme in ("http", "https")
        assert url.netloc
        assert not provider.base_url.endswith("/chat/completions")
        assert url.scheme == "https" or name in LOCAL


@pytest.mark.parametrize(
    ("name", "base_url", "key_env", "model"),
    [
        ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
        ("deepseek", "https://api.deepseek.com", "DEEPSEEK_API_KEY", "deepseek-chat"),
        (
            "dashscope",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "DASHSCOPE_API_KEY",
            "qwen-plus",
        ),
        ("ark", "https://ark.cn-beijing.volces.com/api/v3", "ARK_API_KEY", None),
        ("siliconflow", "https://api.siliconflow.cn/v1", "SILICONFLOW_API_KEY", None),
        ("01.ai", "https://api.lingyiwanwu.com/v1", "YI_API_KEY", None),
        ("ollama", "http://localhost:11434/v1", None, None),
        ("llamacpp", "http://127.0.0.1:8080/v1", None, None),
        ("vllm", "http://localhost:8000/v1", None, None),
        ("lmstudio", "http://localhost:1234/v1", None, None),
    ],
)
def test_known_endpoints(name: str, base_url: str, key_env: str | None, model: str | None) -> None:
    provider = get_provider(name)
    assert provider.base_url == base_url
    assert provider.api_key_env == key_env
    assert provider.needs_key is (key_env is not None)
    if model is not None:
        assert provider.default_model == model


def test_documented_dialects() -> None:
    assert "json_schema" not in get_provider("deepseek").response_modes
    assert "json_schema" not in get_provider("siliconflow").response_modes
    assert "json_object" not in get_provider("lmstudio").response_modes
    assert get_provider("llamacpp").response_modes[0] == "json_object_schema"
    assert get_provider("openai").response_modes[0] == "json_schema"
    assert get_provider("custom").response_modes == RESPONSE_MODES


def test_azure_preset() -> None:
    azure = get_provider("azure")
    assert azure.base_url is None
    assert azure.base_url_env == "AZURE_OPENAI_ENDPOINT"
    assert azure.api_key_env == "AZURE_OPENAI_API_KEY"
    assert azure.azure_api_version
    assert azure.default_model is None  # the deployment name must be given


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("qwen", "dashscope"),
        ("doubao", "ark"),
        ("yi", "01.ai"),
        ("QWEN", "dashscope"),
        (" OpenAI ", "openai"),
    ],
)
def test_aliases(alias: str, target: str) -> None:
    assert get_provider(alias).name == target


def test_aliases_point_at_presets() -> None:
    assert set(ALIASES.values()) <= set(PROVIDERS)
    assert not set(ALIASES) & set(PROVIDERS)


def test_unknown_provider_lists_the_names() -> None:
    with pytest.raises(UsageError) as info:
        get_provider("gemini")
    message = str(info.value)
    assert "'gemini'" in message
    for name in PROVIDERS:
        assert name in message
    assert "qwen=dashscope" in message
    assert info.value.exit_code == 2


def test_api_key_from_the_presets_variable() -> None:
    assert api_key_from(get_provider("deepseek"), {"DEEPSEEK_API_KEY": "sk-1"}) == "sk-1"


def test_api_key_from_an_explicit_variable() -> None:
    env = {"MY_KEY": "sk-2", "OPENAI_API_KEY": "sk-other"}
    assert api_key_from(get_provider("openai"), env, "MY_KEY") == "sk-2"


def test_local_servers_get_a_dummy_key() -> None:
    assert api_key_from(get_provider("ollama"), {}) == NO_KEY
    assert NO_KEY  # the SDK refuses an empty key


@pytest.mark.parametrize(
    ("name", "env", "key_env", "variable"),
    [
        ("openai", {}, None, "OPENAI_API_KEY"),
        ("openai", {"OPENAI_API_KEY": "  "}, None, "OPENAI_API_KEY"),
        ("vllm", {}, "VLLM_KEY", "VLLM_KEY"),  # asked for explicitly, so required
    ],
)
def test_missing_key_names_the_variable(
    name: str, env: dict[str, str], key_env: str | None, variable: str
) -> None:
    with pytest.raises(AuthError, match=variable):
        api_key_from(get_provider(name), env, key_env)
