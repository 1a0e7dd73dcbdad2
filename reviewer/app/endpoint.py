"""Who answers a run's requests: the provider preset and settings resolved into a model, a
base URL and the variable holding the key; and the backend that sends to it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from reviewer.core.errors import UsageError
from reviewer.core.settings import Settings
from reviewer.llm.backend import ResponseMode
from reviewer.llm.providers import NO_KEY, Provider

if TYPE_CHECKING:
    from reviewer.llm.openai_backend import OpenAIBackend


class Endpoint:
    """Who answers the requests; what results and cache keys name. Never holds the key."""

    def __init__(self, provider: Provider, settings: Settings, environ: Mapping[str, str]) -> None:
        self.preset = provider
        self.provider = provider.name
        model = settings.model or provider.default_model
        # A local server says which model it has loaded (reviewer.app.local_server).
        self.model_from_server = not model and provider.server is not None
        if not model and not self.model_from_server:
            raise UsageError(
                f"provider {provider.name} has no default model: pass --model "
                "(for azure, the deployment name)"
            )
        base_url = (
            settings.base_url
            or (environ.get(provider.base_url_env) if provider.base_url_env else None)
            or provider.base_url
        )
        if not base_url:
            hint = f" or set {provider.base_url_env}" if provider.base_url_env else ""
            raise UsageError(f"provider {provider.name} needs --base-url{hint}")
        self.model: str = model or ""
        self.base_url: str = base_url
        self.key_env = settings.api_key_env or provider.api_key_env
        self.needs_key = provider.needs_key or settings.api_key_env is not None
        self.response_modes: tuple[ResponseMode, ...] = (
            provider.response_modes
            if settings.response_format == "auto"
            else (cast(ResponseMode, settings.response_format),)
        )
        self.grammar_modes: tuple[ResponseMode, ...] = provider.grammar_modes

    def with_model(self, model: str) -> Endpoint:
        """This endpoint, answering with ``model`` (the one its server has loaded)."""
        clone = copy.copy(self)
        clone.model = model
        clone.model_from_server = False
        return clone

    def backend(self, environ: Mapping[str, str]) -> OpenAIBackend:
        from reviewer.llm.openai_backend import AzureConfig, OpenAIBackend

        key = environ.get(self.key_env) if self.key_env else None
        azure = (
            AzureConfig(endpoint=self.base_url, api_version=self.preset.azure_api_version)
            if self.preset.azure_api_version
            else None
        )
        return OpenAIBackend(
            base_url=self.base_url,
            api_key=key or NO_KEY,
            model=self.model,
            key_env=self.key_env,
            azure=azure,
        )
