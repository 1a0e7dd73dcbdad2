"""A local model server configures the run: the model it has loaded and its context window.

For the presets of local servers (``Provider.server``), what the user did not give is read
from the server (``reviewer.llm.serverinfo``): the context window when ``--context-window``
is not set, the model when the preset has none (vLLM, LM Studio) or only a placeholder
(llama.cpp's "local"). What the server said is remembered per endpoint in the cache, and used
when a later run cannot reach it (a run answered from the cache then still plans the same
chunks). A server that does not say is a warning, and the run goes on with the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import ValidationError

from reviewer.app.endpoint import Endpoint
from reviewer.core.errors import UsageError
from reviewer.core.settings import Settings
from reviewer.llm.modelinfo import DEFAULT_OUTPUT_RESERVE, model_info
from reviewer.llm.serverinfo import NoServerInfo, ServerInfo, probe_server
from reviewer.pipeline.plan import context_window
from reviewer.pipeline.ports import AnswerCache

_RESERVE_SHARE = 4  # at most a quarter of a server's window is kept for the answer


def configure_from_server(
    endpoint: Endpoint,
    settings: Settings,
    cache: AnswerCache | None,
    environ: Mapping[str, str],
    *,
    warn: Callable[[str], None],
    note: Callable[[str], None],
) -> tuple[Endpoint, Settings]:
    """The endpoint and settings with what the server said filled in."""
    kind = endpoint.preset.server
    wants_model = endpoint.model_from_server or (kind == "llamacpp" and settings.model is None)
    wants_window = settings.context_window is None
    if kind is None or not (wants_model or wants_window):
        return endpoint, settings
    key = f"server|{endpoint.base_url}|{settings.model or ''}"
    api_key = environ.get(endpoint.key_env) if endpoint.key_env else None
    where = f"the {kind} server at {endpoint.base_url}"
    try:
        info = probe_server(kind, endpoint.base_url, endpoint.model or None, api_key=api_key)
    except NoServerInfo as exc:
        remembered = _remembered(cache, key)
        if remembered is None and endpoint.model_from_server:
            raise UsageError(
                f"{where} did not say which model it serves ({exc}); pass --model"
            ) from None
        info = remembered or ServerInfo(missing=str(exc))
        if remembered is not None:
            warn(f"{where} did not answer ({exc}); using what it said on an earlier run")
    else:
        if cache is not None:
            cache.put_mode(key, info.model_dump_json())
    if wants_window and not info.context_window:
        warn(
            f"{where} did not say its context window ({info.missing}); planning for the "
            "default: pass --context-window to match the server"
        )
    # Today's window for the preset's model: a model name read from the server must not
    # bring a bigger one along (its trained length says nothing about the server's -c).
    default_window = context_window(settings, endpoint.model)
    if wants_model and info.model:
        endpoint = endpoint.with_model(info.model)
    elif endpoint.model_from_server:
        raise UsageError(f"{where} has no model loaded; load one or pass --model")
    if wants_window and info.context_window:
        settings = settings.model_copy(update=_fit(settings, endpoint.model, info.context_window))
        note(
            f"{where}: model {endpoint.model}, context window {info.context_window} "
            f"(read from {info.source})"
        )
    elif wants_window:
        settings = settings.model_copy(update={"context_window": default_window})
    return endpoint, settings


def _fit(settings: Settings, model: str, window: int) -> dict[str, int]:
    """The window, and an answer reserve that leaves room for code in it: the model's usual
    reserve is sized for the model's full window, not for what a server was started with."""
    update = {"context_window": window}
    if settings.max_output_tokens is None:
        info = model_info(model)
        usual = info.output_reserve if info else DEFAULT_OUTPUT_RESERVE
        update["max_output_tokens"] = max(1, min(usual, window // _RESERVE_SHARE))
    return update


def _remembered(cache: AnswerCache | None, key: str) -> ServerInfo | None:
    raw = cache.get_mode(key) if cache is not None else None
    if not raw:
        return None
    try:
        return ServerInfo.model_validate_json(raw)
    except ValidationError:
        return None
