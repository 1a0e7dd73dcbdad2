"""A real ``redis-server`` started by the tests on 127.0.0.1 (a free port, a temp directory,
no persistence), stopped after.

The binary comes from the Debian package ``redis-server`` (``.ci/run`` installs it). Without it
the tests that need it are skipped on a developer's machine, with the reason, and FAIL in CI
(``CI`` set): a team feature must not pass untested.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IN_CI = bool(os.environ.get("CI"))
INSTALL = "apt-get install -y redis-server (.ci/run does it)"


def redis_binary() -> str:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        message = f"redis-server is not installed: {INSTALL}"
        if IN_CI:
            pytest.fail(f"{message}; CI must run the Redis tests")
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    return binary


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a certificate for 127.0.0.1 it signed (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca_key = directory / "ca.key"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=reviewer test CA", "-keyout", str(ca_key), "-out", str(files.ca))  # fmt: skip
    csr = directory / "server.csr"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(files.key), "-out", str(csr))  # fmt: skip
    ext = directory / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(files.ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(files.cert))  # fmt: skip
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(
        self, directory: Path, *, password: str | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.directory = directory
        self.password = password
        self.tls = tls
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False

    @property
    def url(self) -> str:
        if self.tls:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls.ca}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = redis_binary()
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # the free port may be taken between probing and binding
            self.port = free_port()
            args = [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(self.directory / "redis.log"),
            ]  # fmt: skip
            if self.password:
                args += ["--requirepass", self.password]
            if self.tls:  # TLS only: the plain port is off
                args += [
                    "--port", "0", "--tls-port", str(self.port),
                    "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
                    "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no",
                ]  # fmt: skip
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start: {self.log()}")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        assert self.proc is not None
        if self.tls:
            return self._wait_ready_tls(timeout)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    auth = (
                        f"*2\r\n$4\r\nAUTH\r\n${len(self.password)}\r\n{self.password}\r\n"
                        if self.password
                        else ""
                    )
                    sock.sendall(auth.encode() + b"*1\r\n$4\r\nPING\r\n")
                    data = b""
                    while b"PONG" not in data and b"-" not in data:
                        chunk = sock.recv(100)
                        if not chunk:
                            break
                        data += chunk
                    if b"PONG" in data:
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def _wait_ready_tls(self, timeout: float) -> bool:
        import redis

        assert self.proc is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                client = self.client()
                try:
                    if client.ping():
                        return True
                finally:
                    client.close()
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def client(self) -> Any:
        import redis

        if self.tls:
            return redis.Redis(
                host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.tls.ca),
                password=self.password, socket_timeout=5,
            )  # fmt: skip
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5
        )

    def freeze(self) -> None:
        """Stop answering (SIGSTOP): connections are still accepted, nothing is answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def thaw(self) -> None:
        if self.proc is not None and self.stopped:
            self.proc.send_signal(signal.SIGCONT)
            self.stopped = False

    def log(self) -> str:
        try:
            return (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self.thaw()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server per test process (xdist worker); ``redis_url`` empties it per test."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_server(redis_session: RedisServer) -> RedisServer:
    client = redis_session.client()
    try:
        client.flushall()
    finally:
        client.close()
    return redis_session


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of the test's own, for faults that would disturb others (freeze, OOM)."""
    with RedisServer(tmp_path / "redis") as server:
        yield server
