"""What a local model server says about itself: the model it has loaded and its context window.

Each server kind answers somewhere else:

- llama.cpp's ``llama-server``: ``GET /props`` (``default_generation_settings.n_ctx``: the
  window of one slot, what one request gets; ``model_alias``/``model_path``), then
  ``GET /v1/models`` (``data[0].id``, ``meta.n_ctx`` on newer builds), then ``GET /slots``.
  llama-cpp-python's server has only ``/v1/models`` without a window: the model is read,
  the window is not.
- Ollama: ``GET /api/ps`` (``context_length`` of the loaded model: what it really got), else
  ``POST /api/show`` (``num_ctx`` among the model's parameters; else its trained length,
  capped at Ollama's smallest default, 4096, since Ollama silently truncates a longer prompt).
- vLLM: ``GET /v1/models`` (``id``, ``max_model_len``).
- LM Studio: ``GET /api/v1/models`` (0.4+: ``loaded_instances[].config.context_length``),
  else ``GET /api/v0/models`` (``loaded_context_length`` or ``max_context_length``); a model
  not loaded yet gets its maximum capped at 4096, LM Studio's usual load default.

Every request has a short timeout; any failure raises ``NoServerInfo`` with the reason, and
the caller falls back (a warning, then what it knew before). Standard library only.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from reviewer.core.errors import ProviderError
from reviewer.core.values import Frozen
from reviewer.llm.providers import ServerKind

PROBE_TIMEOUT = 3.0  # seconds per request: a local server answers in milliseconds
# What Ollama and LM Studio load a model with unless told otherwise (their smallest default).
LOADER_DEFAULT_WINDOW = 4096
_BODY_MAX = 4_000_000  # bytes of a model list read at most


class ServerInfo(Frozen):
    model: str | None = None
    context_window: int | None = None
    source: str = ""  # where it was read, e.g. "/props"
    missing: str = ""  # why the window is not known, when it is not


class NoServerInfo(ProviderError):
    """The server did not say (unreachable, an unknown route, an answer without the facts)."""


def probe_server(
    kind: ServerKind,
    base_url: str,
    model: str | None,
    *,
    api_key: str | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> ServerInfo:
    """The loaded model (``model`` when given) and its window, as the server reports them."""
    fetch = _Fetcher(base_url, api_key, timeout)
    probes: dict[ServerKind, Callable[[_Fetcher, str | None], ServerInfo]] = {
        "llamacpp": _llamacpp,
        "ollama": _ollama,
        "vllm": _vllm,
        "lmstudio": _lmstudio,
    }
    return probes[kind](fetch, model)


class _Fetcher:
    def __init__(self, base_url: str, api_key: str | None, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NoServerInfo(f"not an http(s) URL: {base_url}")
        self.base = base_url.rstrip("/")
        # The server's own routes live beside the OpenAI-compatible /v1.
        self.root = re.sub(r"/v1$", "", self.base)
        self._api_key = api_key
        self._timeout = timeout
        self.tried: list[str] = []

    def get(self, url: str) -> Any:
        return self._send(urllib.request.Request(url, method="GET"))  # noqa: S310 - see _send

    def post(self, url: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, see __init__
            url, data=json.dumps(body).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/json")
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Any:
        path = urllib.parse.urlsplit(request.full_url).path
        self.tried.append(path)
        if self._api_key:
            request.add_header("Authorization", f"Bearer {self._api_key}")
        try:
            # http(s) only: checked in __init__, and every URL here is built on that one.
            with urllib.request.urlopen(request, timeout=self._timeout) as reply:  # noqa: S310
                raw = reply.read(_BODY_MAX)
        except urllib.error.HTTPError as exc:
            raise NoServerInfo(f"{path}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NoServerInfo(f"{path}: {reason}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise NoServerInfo(f"{path}: the answer is not JSON") from None


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _name(value: object) -> str | None:
    """A model name; a file path (llama.cpp's default alias) is cut to the file's name."""
    if not isinstance(value, str) or not value.strip():
        return None
    return re.split(r"[\\/]", value.strip())[-1] if value.endswith(".gguf") else value.strip()


# --------------------------------------------------------------------------- llama.cpp


def _llamacpp(fetch: _Fetcher, model: str | None) -> ServerInfo:
    problems: list[str] = []
    found_model: str | None = None
    try:
        props = fetch.get(fetch.root + "/props")
        settings = props.get("default_generation_settings") if isinstance(props, dict) else None
        window = _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
        found_model = _name(props.get("model_alias")) or _name(props.get("model_path"))
        if window:
            return ServerInfo(model=found_model, context_window=window, source="/props")
        problems.append("/props: no n_ctx")
    except NoServerInfo as exc:
        problems.append(str(exc))
    try:
        listed = fetch.get(fetch.base + "/models")
        entries = listed.get("data") if isinstance(listed, dict) else None
        first = entries[0] if isinstance(entries, list) and entries else {}
        found_model = found_model or _name(first.get("id"))
        meta = first.get("meta") if isinstance(first, dict) else None
        window = _positive(meta.get("n_ctx")) if isinstance(meta, dict) else None
        if window:
            return ServerInfo(model=found_model, context_window=window, source="/v1/models")
        problems.append("/v1/models: no n_ctx")
    except NoServerInfo as exc:
        problems.append(str(exc))
    try:
        slots = fetch.get(fetch.root + "/slots")
        first = slots[0] if isinstance(slots, list) and slots else {}
        window = _positive(first.get("n_ctx")) if isinstance(first, dict) else None
        if window:
            return ServerInfo(model=found_model, context_window=window, source="/slots")
        problems.append("/slots: no n_ctx")
    except NoServerInfo as exc:
        problems.append(str(exc))
    if found_model:
        return ServerInfo(model=found_model, source="/v1/models", missing="; ".join(problems))
    raise NoServerInfo("; ".join(problems))


# --------------------------------------------------------------------------- Ollama


def _ollama(fetch: _Fetcher, model: str | None) -> ServerInfo:
    if not model:
        raise NoServerInfo("Ollama serves many models: pass --model")
    wanted = {model, f"{model}:latest"}
    problems: list[str] = []
    try:
        running = fetch.get(fetch.root + "/api/ps")
        listed = running.get("models") if isinstance(running, dict) else None
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict) and {entry.get("name"), entry.get("model")} & wanted:
                window = _positive(entry.get("context_length"))
                if window:
                    return ServerInfo(model=model, context_window=window, source="/api/ps")
    except NoServerInfo as exc:
        problems.append(str(exc))
    shown = fetch.post(fetch.root + "/api/show", {"model": model})
    if not isinstance(shown, dict):
        raise NoServerInfo("/api/show: not an object")
    parameters = shown.get("parameters")
    if isinstance(parameters, str):
        match = re.search(r"^\s*num_ctx\s+(\d+)", parameters, re.MULTILINE)
        if match and int(match.group(1)) > 0:
            return ServerInfo(model=model, context_window=int(match.group(1)), source="/api/show")
    info = shown.get("model_info")
    trained = None
    if isinstance(info, dict):
        trained = next(
            (_positive(v) for k, v in info.items() if k.endswith(".context_length")), None
        )
    if trained:
        window = min(trained, LOADER_DEFAULT_WINDOW)
        return ServerInfo(model=model, context_window=window, source="/api/show (default)")
    problems.append("/api/show: no num_ctx and no context_length")
    raise NoServerInfo("; ".join(problems))


# --------------------------------------------------------------------------- vLLM


def _vllm(fetch: _Fetcher, model: str | None) -> ServerInfo:
    listed = fetch.get(fetch.base + "/models")
    entries = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(entries, list) or not entries:
        raise NoServerInfo("/v1/models: no models listed")
    chosen = next(
        (e for e in entries if isinstance(e, dict) and model in (e.get("id"), e.get("root"))),
        None,
    )
    if chosen is None:
        if model:
            served = ", ".join(str(e.get("id")) for e in entries if isinstance(e, dict))
            raise NoServerInfo(f"/v1/models: {model!r} is not served (serving: {served})")
        chosen = entries[0] if isinstance(entries[0], dict) else {}
    window = _positive(chosen.get("max_model_len"))
    return ServerInfo(
        model=_name(chosen.get("id")),
        context_window=window,
        source="/v1/models",
        missing="" if window else "/v1/models: no max_model_len",
    )


# --------------------------------------------------------------------------- LM Studio


def _lmstudio(fetch: _Fetcher, model: str | None) -> ServerInfo:
    try:
        return _lmstudio_v1(fetch.get(fetch.root + "/api/v1/models"), model)
    except NoServerInfo as first:
        try:
            return _lmstudio_v0(fetch.get(fetch.root + "/api/v0/models"), model)
        except NoServerInfo as second:
            raise NoServerInfo(f"{first}; {second}") from None


def _lmstudio_v1(listed: Any, model: str | None) -> ServerInfo:
    entries = listed.get("models") if isinstance(listed, dict) else None
    if not isinstance(entries, list):
        raise NoServerInfo("/api/v1/models: no model list")
    llms = [e for e in entries if isinstance(e, dict) and e.get("type", "llm") == "llm"]
    chosen = _pick(llms, model, lambda e: (e.get("key"), *_instance_ids(e)), _v1_loaded)
    if chosen is None:
        raise NoServerInfo(f"/api/v1/models: {_none_found(model)}")
    instances = chosen.get("loaded_instances") or []
    loaded = next(
        (
            _positive((i.get("config") or {}).get("context_length"))
            for i in instances
            if isinstance(i, dict) and isinstance(i.get("config"), dict)
        ),
        None,
    )
    return _lmstudio_info(
        model or chosen.get("key"), loaded, chosen.get("max_context_length"), "/api/v1/models"
    )


def _lmstudio_v0(listed: Any, model: str | None) -> ServerInfo:
    entries = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(entries, list):
        raise NoServerInfo("/api/v0/models: no model list")
    llms = [e for e in entries if isinstance(e, dict) and e.get("type") in ("llm", "vlm", None)]
    chosen = _pick(llms, model, lambda e: (e.get("id"),), lambda e: e.get("state") == "loaded")
    if chosen is None:
        raise NoServerInfo(f"/api/v0/models: {_none_found(model)}")
    loaded = _positive(chosen.get("loaded_context_length"))
    return _lmstudio_info(
        model or chosen.get("id"), loaded, chosen.get("max_context_length"), "/api/v0/models"
    )


def _instance_ids(entry: dict[str, Any]) -> tuple[object, ...]:
    return tuple(i.get("id") for i in entry.get("loaded_instances") or [] if isinstance(i, dict))


def _v1_loaded(entry: dict[str, Any]) -> bool:
    return bool(entry.get("loaded_instances"))


def _pick(
    entries: list[dict[str, Any]],
    model: str | None,
    names: Callable[[dict[str, Any]], tuple[object, ...]],
    loaded: Callable[[dict[str, Any]], bool],
) -> dict[str, Any] | None:
    """The entry named ``model``; without a name, the (first) loaded one."""
    if model:
        return next((e for e in entries if model in names(e)), None)
    return next((e for e in entries if loaded(e)), None)


def _none_found(model: str | None) -> str:
    return f"no model {model!r}" if model else "no model is loaded: load one or pass --model"


def _lmstudio_info(model: object, loaded: int | None, maximum: object, source: str) -> ServerInfo:
    window, most = loaded, _positive(maximum)
    if window is None and most is not None:
        window = min(most, LOADER_DEFAULT_WINDOW)
        source += " (default)"
    missing = "" if window else f"{source}: no context length"
    return ServerInfo(model=_name(model), context_window=window, source=source, missing=missing)
