"""Builds the run's ``Settings`` from its sources, keeping the source of every value.

Precedence, as click documents it: command line > ``REVIEWER_*`` environment variable >
project config file (``.reviewer.toml``, or ``[tool.reviewer]`` in ``pyproject.toml``) > defaults.
click resolves the first two; this module lays them over the file and the defaults.
API keys are never read from a config file: only from the environment variable the provider names.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reviewer.core.errors import ConfigError
from reviewer.core.settings import Settings
from reviewer.core.values import Frozen
from reviewer.store.redis_link import PASSWORD_ENV, redacted_url, url_has_password

DEFAULT_SOURCE = "default"
_FORBIDDEN_KEYS = {"api_key", "key", "token", "openai_api_key", "secret"}
_NEVER = {"never", "none", "off", "false", ""}
_GLOB_LISTS = ("include", "exclude", "priority", "deprioritize")


class ResolvedSettings(Frozen):
    settings: Settings
    sources: dict[str, str]
    config_file: str | None = None


def find_config_file(start: Path) -> Path | None:
    """The nearest ``.reviewer.toml``, or ``pyproject.toml`` with ``[tool.reviewer]``, upward.

    The search stops at the repository root (a directory holding ``.git``).
    """
    here = start.resolve()
    for directory in (here, *here.parents):
        dedicated = directory / ".reviewer.toml"
        if dedicated.is_file():
            return dedicated
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "reviewer" in _load_toml(pyproject).get("tool", {}):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings a config file sets, with keys in ``snake_case``; unknown keys are errors."""
    data = _load_toml(path)
    if path.name == "pyproject.toml":
        section = data.get("tool", {}).get("reviewer", {})
    else:
        section = data.get("tool", {}).get("reviewer", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.reviewer] must be a table")
    values: dict[str, Any] = {}
    known = set(Settings.model_fields)
    for raw_key, value in section.items():
        key = raw_key.replace("-", "_")
        if key in _FORBIDDEN_KEYS or key.endswith("_api_key"):
            raise ConfigError(
                f"{path}: '{raw_key}' is not allowed: API keys are read only from the "
                "environment variable the provider names (see --api-key-env)"
            )
        if key == "cache_url" and isinstance(value, str) and url_has_password(value):
            raise ConfigError(
                f"{path}: 'cache-url' carries a password, and a config file is no place for "
                f"one: set {PASSWORD_ENV}, or pass the whole URL in REVIEWER_CACHE_URL "
                "(from a secret)"
            )
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            suffix = f" (did you mean '{hint[0].replace('_', '-')}'?)" if hint else ""
            raise ConfigError(f"{path}: unknown setting '{raw_key}'{suffix}")
        values[key] = value
    return values


def _normalise(key: str, value: Any) -> Any:
    if key == "fail_on" and (
        value is False or (isinstance(value, str) and value.lower() in _NEVER)
    ):
        return None  # TOML's `fail-on = false` reads as naturally as "never"
    if key in _GLOB_LISTS and isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if key in _GLOB_LISTS and isinstance(value, list):
        return tuple(value)
    if key == "path_instructions" and isinstance(value, list):
        return tuple(value)
    return value


def resolve_settings(
    explicit: Mapping[str, tuple[Any, str]],
    file_values: Mapping[str, Any],
    file_label: str | None,
    under_file: set[str] | frozenset[str] = frozenset(),
) -> ResolvedSettings:
    """Lay ``explicit`` (command line and environment, each with its source label) over the
    config file's values over the defaults, and validate the result. Keys in ``under_file``
    are mode defaults (e.g. a hook's): the config file still overrides them."""
    merged: dict[str, Any] = {}
    sources: dict[str, str] = dict.fromkeys(Settings.model_fields, DEFAULT_SOURCE)
    layers = [
        {k: v for k, v in explicit.items() if k in under_file},
        {k: (v, file_label or "config file") for k, v in file_values.items()},
        {k: v for k, v in explicit.items() if k not in under_file},
    ]
    for layer in layers:
        for key, (value, label) in layer.items():
            merged[key] = _normalise(key, value)
            sources[key] = label
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        where = sources.get(key, DEFAULT_SOURCE)
        shown = merged.get(key)
        if key == "cache_url" and isinstance(shown, str):
            shown = redacted_url(shown)
        raise ConfigError(
            f"invalid setting {key.replace('_', '-')}={shown!r} (from {where}): {first['msg']}"
        ) from exc
    return ResolvedSettings(settings=settings, sources=sources, config_file=file_label)


def format_config(resolved: ResolvedSettings, extra: Mapping[str, tuple[Any, str]] = {}) -> str:
    """``review --show-config``: every effective value and where it came from."""
    rows: list[tuple[str, str, str]] = []
    dumped = resolved.settings.model_dump(mode="json")
    if dumped.get("cache_url"):
        dumped["cache_url"] = redacted_url(dumped["cache_url"])  # never the password
    for key in Settings.model_fields:
        rows.append((key.replace("_", "-"), json.dumps(dumped[key]), resolved.sources[key]))
    for key, (value, source) in extra.items():
        rows.append((key, json.dumps(value), source))
    width = max(len(r[0]) for r in rows)
    vwidth = min(40, max(len(r[1]) for r in rows))
    lines = [f"{k:<{width}} = {v:<{vwidth}}  # {s}" for k, v, s in rows]
    header = f"# config file: {resolved.config_file or 'none found'}"
    return "\n".join([header, *lines])
