"""Servers the tests start as real processes — `gigalis serve`, Prometheus — each on a free
loopback port, its output in a log file, and always stopped by its own process handle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60


# Proxy settings that requests and the NetBox clients would follow: tests talking to a server
# on loopback leave them out, so that nothing leaves the machine whatever the environment says.
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def without_proxies() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}


def quiet_serve_environment(folder: Path, database_url: str, secret_key: str) -> dict[str, str]:
    """The environment of a `gigalis serve` over ``database_url`` with no background work (no
    job or order worker, no poller), no proxy, its data under ``folder``."""
    return {
        **without_proxies(),
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATA_DIR": str(folder / "data"),
        "GIGALIS_DATABASE_URL": database_url,
        "GIGALIS_SECRET_KEY": secret_key,
        "GIGALIS_JOB_WORKER": "false",
        "GIGALIS_ORDER_WORKER": "false",
        "GIGALIS_POLLER": "false",
    }


def gigalis_command() -> str:
    """The `gigalis` command of this interpreter's environment, as an engineer runs it."""
    return str(Path(sys.executable).parent / "gigalis")


@contextmanager
def listening(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    environment: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[None]:
    """Runs ``command`` (which must listen on 127.0.0.1:``port``) until the block ends; the
    test fails with the end of its log if it exits or does not listen in time."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(environment) if environment is not None else None,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(name, port, server, log)
        yield
    finally:
        _stop(server)


@contextmanager
def gigalis_serve(environment: Mapping[str, str], log: Path) -> Iterator[str]:
    """`gigalis serve` on a free loopback port, without loading the network files; its base
    URL."""
    port = free_port()
    command = [gigalis_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with listening(
        "gigalis serve", [*command, "--no-load"], port=port, log=log, environment=environment
    ):
        yield f"http://127.0.0.1:{port}"


def _wait_for_port(name: str, port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"{name} exited: {log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"{name} did not listen within {STARTUP_SECONDS} s: {log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
