"""A router that takes the TCP connection but never speaks SSH, played by a listener on
127.0.0.1 of this machine: the SSH transport reports a timeout, not paramiko's words."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm.base.exceptions import ConnectionException, ConnectTimeoutError

from gigalis_nms.devices.frr.transport import SshTransport

TIMEOUT = 0.5


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that accepts connections (the kernel completes the handshake) and
    never sends a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server
    finally:
        server.close()


def transport_to(server: socket.socket, tmp_path: Path) -> SshTransport:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    return SshTransport(
        "127.0.0.1",
        "netops",
        password="unused",
        known_hosts_file=str(known_hosts),
        port=server.getsockname()[1],
        timeout=TIMEOUT,
    )


def test_a_router_that_accepts_and_never_answers_is_a_timeout(
    listener: socket.socket, tmp_path: Path
) -> None:
    transport = transport_to(listener, tmp_path)
    started = time.monotonic()

    with pytest.raises(ConnectTimeoutError) as refused:
        transport.open()

    port = listener.getsockname()[1]
    assert str(refused.value) == (
        f"netops@127.0.0.1:{port}: no SSH banner within {TIMEOUT} s: the router accepted the"
        " connection and said nothing"
    )
    assert "No existing session" not in str(refused.value)
    assert time.monotonic() - started < 10
    assert not transport.is_alive()


def test_a_connection_closed_before_the_banner_is_not_a_timeout(
    listener: socket.socket, tmp_path: Path
) -> None:
    listener.settimeout(10)

    def hang_up() -> None:
        try:
            accepted, _ = listener.accept()
        except OSError:
            return  # the test ended first; the listener is closed
        accepted.close()

    closer = threading.Thread(target=hang_up, daemon=True)
    closer.start()
    transport = transport_to(listener, tmp_path)

    with pytest.raises(ConnectionException) as refused:
        transport.open()
    closer.join(timeout=10)

    assert not isinstance(refused.value, ConnectTimeoutError)
    port = listener.getsockname()[1]
    assert str(refused.value) == (
        f"netops@127.0.0.1:{port}: the connection closed before the router's SSH banner: is an"
        f" SSH server listening on port {port}?"
    )
