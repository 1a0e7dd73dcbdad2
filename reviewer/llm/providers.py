"""Provider presets: where an OpenAI-compatible endpoint lives and which JSON dialects it speaks.

``response_modes`` is the order ``reviewer.llm.conversation`` tries structured output in, strongest
first; a mode the endpoint rejects is dropped for the rest of the run, so an optimistic
entry costs one rejected request, never a wrong review. Where a provider documents that it
rejects a mode (DeepSeek and SiliconFlow: ``json_schema``; LM Studio: ``json_object``) the
mode is left out.

``grammar_modes`` are the modes in which the endpoint turns the schema it is sent into a
decoding grammar: they get the chunk's narrowed schema (its paths, lines and a findings cap)
instead of the strict one. ``server`` names a local server whose window and loaded model
``reviewer.app.local_server`` reads when they are not given.

This module reads no environment: ``api_key_from`` takes the mapping to read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from reviewer.core.errors import AuthError, UsageError
from reviewer.core.values import Frozen
from reviewer.llm.backend import RESPONSE_MODES, ResponseMode

# Sent to local servers that ignore the key: the SDK refuses to start without one.
NO_KEY = "sk-no-key-required"

_SCHEMA_FIRST: tuple[ResponseMode, ...] = ("json_schema", "json_object", "prompt")
_OBJECT_FIRST: tuple[ResponseMode, ...] = ("json_object", "prompt")
# llama.cpp's {"type": "json_object", "schema": ...}: the schema becomes a grammar.
_OBJECT_SCHEMA_GRAMMAR: tuple[ResponseMode, ...] = ("json_object_schema",)
# Servers that build a grammar (or guided decoding) from json_schema as sent; OpenAI's strict
# mode would reject the narrowed schema's bounds, so only these get it.
_SCHEMA_GRAMMAR: tuple[ResponseMode, ...] = ("json_schema",)

ServerKind = Literal["llamacpp", "ollama", "vllm", "lmstudio"]


class Provider(Frozen):
    name: str
    base_url: str | None  # None: taken from ``base_url_env`` (azure) or must be given (custom)
    api_key_env: str | None  # None: a local server that needs no key (NO_KEY is sent)
    default_model: str | None  # None: the model (or Azure deployment) must be given
    response_modes: tuple[ResponseMode, ...]
    notes: str = ""
    base_url_env: str | None = None
    # Set for Azure OpenAI: the backend uses the SDK's AzureOpenAI client with this
    # api-version, the endpoint as ``azure_endpoint`` and the model as the deployment name.
    azure_api_version: str | None = None
    grammar_modes: tuple[ResponseMode, ...] = _OBJECT_SCHEMA_GRAMMAR
    server: ServerKind | None = None

    @property
    def needs_key(self) -> bool:
        return self.api_key_env is not None


PROVIDERS: dict[str, Provider] = {
    "openai": Provider(
        name="openai",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        default_model="gpt-4o-mini",
        response_modes=_SCHEMA_FIRST,
        notes="Structured outputs (strict json_schema) on gpt-4o and later.",
    ),
    "deepseek": Provider(
        name="deepseek",
        base_url="https://api.deepseek.com",
        api_key_env="DEEPSEEK_API_KEY",
        default_model="deepseek-chat",
        response_modes=_OBJECT_FIRST,
        notes=(
            "Rejects json_schema ('This response_format type is unavailable now'); "
            "json_object needs the word JSON in the prompt, which ours has."
        ),
    ),
    "dashscope": Provider(
        name="dashscope",
        base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        api_key_env="DASHSCOPE_API_KEY",
        default_model="qwen-plus",
        response_modes=_SCHEMA_FIRST,
        notes=(
            "Alibaba Model Studio (Qwen). json_schema on the qwen-plus/-max/-flash series "
            "(2025 snapshots on), json_object on most Qwen models in non-thinking mode."
        ),
    ),
    "ark": Provider(
        name="ark",
        base_url="https://ark.cn-beijing.volces.com/api/v3",
        api_key_env="ARK_API_KEY",
        default_model="doubao-seed-1-6-250615",
        response_modes=_SCHEMA_FIRST,
        notes="Volcengine Ark (Doubao). json_schema is beta and model-dependent.",
    ),
    "siliconflow": Provider(
        name="siliconflow",
        base_url="https://api.siliconflow.cn/v1",
        api_key_env="SILICONFLOW_API_KEY",
        default_model="Qwen/Qwen2.5-72B-Instruct",
        response_modes=_OBJECT_FIRST,
        notes="Documents json_object only; some hosted models (DeepSeek R1/V3) lack even that.",
    ),
    "01.ai": Provider(
        name="01.ai",
        base_url="https://api.lingyiwanwu.com/v1",
        api_key_env="YI_API_KEY",
        default_model="yi-lightning",
        response_modes=_OBJECT_FIRST,
        notes="Lingyiwanwu (Yi). Structured-output support is undocumented; no key variable "
        "is standard, YI_API_KEY is ours.",
    ),
    "ollama": Provider(
        name="ollama",
        base_url="http://localhost:11434/v1",
        api_key_env=None,
        default_model="qwen2.5-coder:7b",
        response_modes=_SCHEMA_FIRST,
        notes="Local. json_schema is grammar-enforced since Ollama 0.5; pull the model first.",
        grammar_modes=_SCHEMA_GRAMMAR,
        server="ollama",
    ),
    "llamacpp": Provider(
        name="llamacpp",
        base_url="http://127.0.0.1:8080/v1",
        api_key_env=None,
        default_model="local",  # llama-server serves one model and ignores the name
        response_modes=("json_object_schema", "json_object", "prompt"),
        notes='Local llama-server. {"type": "json_object", "schema": ...} is grammar-enforced.',
        server="llamacpp",
    ),
    "vllm": Provider(
        name="vllm",
        base_url="http://localhost:8000/v1",
        api_key_env=None,
        default_model=None,  # the served model, read from the server when not given
        response_modes=_SCHEMA_FIRST,
        notes="Local. Pass --api-key-env when the server was started with --api-key; "
        "json_schema is enforced by guided decoding.",
        grammar_modes=_SCHEMA_GRAMMAR,
        server="vllm",
    ),
    "lmstudio": Provider(
        name="lmstudio",
        base_url="http://localhost:1234/v1",
        api_key_env=None,
        default_model=None,  # the loaded model, read from the server when not given
        response_modes=("json_schema", "prompt"),
        notes="Local. Rejects json_object ('must be json_schema or text'); json_schema is "
        "grammar-enforced.",
        grammar_modes=_SCHEMA_GRAMMAR,
        server="lmstudio",
    ),
    "azure": Provider(
        name="azure",
        base_url=None,
        base_url_env="AZURE_OPENAI_ENDPOINT",
        api_key_env="AZURE_OPENAI_API_KEY",
        default_model=None,  # the deployment name
        response_modes=_SCHEMA_FIRST,
        azure_api_version="2024-10-21",
        notes=(
            "Azure OpenAI: base URL https://<resource>.openai.azure.com (AZURE_OPENAI_ENDPOINT), "
            "model = deployment name, sent with the SDK's AzureOpenAI client and api-version."
        ),
    ),
    "custom": Provider(
        name="custom",
        base_url=None,
        api_key_env=None,
        default_model=None,
        response_modes=RESPONSE_MODES,
        notes="Any OpenAI-compatible base URL; structured output is discovered strongest first.",
    ),
}

ALIASES: dict[str, str] = {
    "qwen": "dashscope",
    "doubao": "ark",
    "volcengine": "ark",
    "yi": "01.ai",
    "01ai": "01.ai",
    "lingyiwanwu": "01.ai",
    "llama.cpp": "llamacpp",
    "lm-studio": "lmstudio",
    "azure-openai": "azure",
}


def get_provider(name: str) -> Provider:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return PROVIDERS[key]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        aliases = ", ".join(f"{a}={t}" for a, t in sorted(ALIASES.items()))
        raise UsageError(
            f"unknown provider {name!r}; known providers: {known} (aliases: {aliases})"
        ) from None


def api_key_from(provider: Provider, environ: Mapping[str, str], key_env: str | None = None) -> str:
    """The API key to send: from ``key_env`` (or the preset's variable), else ``NO_KEY``.

    Raises ``AuthError`` naming the variable when it is unset or empty; a variable given
    explicitly for a local server is required too (the user said the server needs it).
    """
    variable = key_env or provider.api_key_env
    if variable is None:
        return NO_KEY
    value = environ.get(variable, "").strip()
    if value:
        return value
    raise AuthError(
        f"provider {provider.name!r} needs an API key: set the environment variable {variable}"
    )
