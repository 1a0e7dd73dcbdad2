"""A real llama.cpp server for the `local_llm` tests, built from scripts/local_llm.py's recipe.

Every step is loud: a missing compiler, a failed download or a server that never answers raises
LocalLLMEnvError with the reason, so a broken environment cannot pass as skipped tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "local_llm.py"


class LocalLLMEnvError(RuntimeError):
    """The local model server could not be provided; the message says which step failed."""


def load_recipe() -> ModuleType:
    """scripts/local_llm.py as a module; it is a script, not part of the package."""
    spec = importlib.util.spec_from_file_location("reviewer_local_llm_recipe", SCRIPT)
    if spec is None or spec.loader is None:
        raise LocalLLMEnvError(f"cannot load {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_llama_cpp(python: str = sys.executable) -> Path:
    """Make `python` run llama_cpp from the recipe's wheel; return that wheel."""
    recipe = load_recipe()
    try:
        wheel: Path = recipe.ensure_wheel(python)
        if recipe.missing_server_modules(python) or not recipe.installed_from(python, wheel):
            recipe.install(python)
    except recipe.LocalLLMError as exc:
        raise LocalLLMEnvError(f"llama-cpp-python is not usable from {python}: {exc}") from exc
    return wheel


def ensure_llama_server(python: str = sys.executable) -> Path:
    """llama.cpp's own llama-server, built once from the recipe."""
    recipe = load_recipe()
    try:
        binary: Path = recipe.ensure_llama_server(python)
    except recipe.LocalLLMError as exc:
        raise LocalLLMEnvError(f"llama-server could not be built: {exc}") from exc
    return binary


@contextlib.contextmanager
def ensure_local_server(
    python: str = sys.executable, *, n_threads: int | None = None, llama_server: bool = False
) -> Iterator[str]:
    """Yield the base URL (`http://127.0.0.1:PORT/v1`) of a running server; stop it on exit.

    The server has the recipe's context (n_ctx 4096); ``n_threads`` None keeps its default.
    ``llama_server``: llama.cpp's own server (it reports its window at /props) instead of
    llama-cpp-python's.
    """
    binary = ensure_llama_server(python) if llama_server else None
    if binary is None:
        ensure_llama_cpp(python)
    recipe = load_recipe()
    with tempfile.TemporaryDirectory(prefix="local-llm-") as tmp:
        port = free_port()
        try:
            model: Path = recipe.ensure_model()
            proc = recipe.start_server(
                python,
                model,
                port,
                Path(tmp) / "server.log",
                n_threads=n_threads,
                llama_server=binary,
            )
        except recipe.LocalLLMError as exc:
            raise LocalLLMEnvError(f"local llama.cpp server did not start: {exc}") from exc
        try:
            url: str = recipe.base_url(port)
            yield url
        finally:
            recipe.stop_process(proc.pid)
            # stop_process reaps by pid; the Popen must learn it too, or it warns when collected.
            proc.wait(timeout=30)
