"""How the driver reaches a router's shell tools: over SSH, or locally into a lab namespace.

Every transport runs one command at a time, given as an argument vector, and returns its exit
code and output; nothing else. There is no interactive shell to drive and no prompt to parse:
over SSH each command gets its own exec channel, and the vector is quoted with
:func:`shlex.join` so that the remote login shell sees exactly those arguments.
"""

from __future__ import annotations

import logging
import select
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import paramiko
from napalm.base.exceptions import (
    CommandTimeoutException,
    ConnectAuthError,
    ConnectionClosedException,
    ConnectionException,
    ConnectTimeoutError,
)

from gigalis_nms.devices.frr import commands

log = logging.getLogger(__name__)

_READ_CHUNK = 65536
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CommandResult:
    """What one command did: its exit code and everything it printed."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)

    @property
    def output(self) -> str:
        """Both streams, for error messages: tools disagree on which one they complain on."""
        return "\n".join(part.strip() for part in (self.stdout, self.stderr) if part.strip())


class Transport(Protocol):
    """A way to run commands on one router."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_alive(self) -> bool: ...

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult: ...


class NetnsTransport:
    """Runs commands on this machine inside a network namespace (the lab's routers).

    ``uts_file`` names a UTS namespace to enter as well, so that tools which print the host
    name (``vtysh``, ``lldpd``) see the router's name rather than this machine's.
    """

    def __init__(self, netns: str, uts_file: str | None = None, timeout: float = 60) -> None:
        self.netns = netns
        self.uts_file = uts_file
        self.timeout = timeout
        self._open = False

    def _prefix(self) -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns]
        if self.uts_file:
            prefix += ["nsenter", f"--uts={self.uts_file}"]
        return prefix

    def open(self) -> None:
        if not Path("/run/netns", self.netns).exists():
            raise ConnectionException(f"network namespace {self.netns!r} does not exist")
        if self.uts_file and not Path(self.uts_file).exists():
            raise ConnectionException(f"UTS namespace file {self.uts_file} does not exist")
        self._open = True

    def close(self) -> None:
        self._open = False

    def is_alive(self) -> bool:
        return self._open and Path("/run/netns", self.netns).exists()

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        if not self._open:
            raise ConnectionClosedException(f"netns {self.netns}: transport is not open")
        try:
            completed = subprocess.run(
                [*self._prefix(), *argv],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            raise CommandTimeoutException(
                f"netns {self.netns}: {shlex.join(argv)} did not finish in {self.timeout} s"
            ) from expired
        return CommandResult(tuple(argv), completed.returncode, completed.stdout, completed.stderr)


class SshTransport:
    """Runs commands on a production router over SSH, one exec channel per command.

    Host keys are checked strictly against ``known_hosts_file`` (the user's
    ``~/.ssh/known_hosts`` by default): a router whose key is unknown is refused, never added,
    because accepting a first key blindly is exactly what a man in the middle needs.
    """

    def __init__(
        self,
        host: str,
        username: str,
        *,
        password: str | None = None,
        key_file: str | None = None,
        known_hosts_file: str | None = None,
        port: int = 22,
        timeout: float = 60,
    ) -> None:
        self.host = host
        self.username = username
        self.password = password or None
        self.key_file = str(Path(key_file).expanduser()) if key_file else None
        self.known_hosts_file = str(Path(known_hosts_file or "~/.ssh/known_hosts").expanduser())
        self.port = port
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None

    @property
    def _where(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    def open(self) -> None:
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(self.known_hosts_file)
        except OSError as error:
            raise ConnectionException(
                f"{self._where}: cannot read known hosts file {self.known_hosts_file}: {error}"
            ) from error
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        # The key file is read first: connect() reports a file that holds no private key as
        # a bare SSHException, which reads like a host key problem.
        if self.key_file:
            try:
                _check_private_key(self.key_file, self.password)
            except ConnectAuthError as error:
                raise ConnectAuthError(f"{self._where}: {error}") from error
        # Without a key file or a password, fall back to the user's agent and default keys,
        # as the ssh command would.
        use_defaults = self.key_file is None and self.password is None
        started = time.monotonic()
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                key_filename=self.key_file,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                allow_agent=use_defaults,
                look_for_keys=use_defaults,
            )
        except (paramiko.SSHException, OSError) as error:
            failure = self._connect_failure(error, time.monotonic() - started, _no_banner(client))
            client.close()  # its transport thread and socket end now, not at exit
            raise failure from error
        _send_without_delay(client)
        self._client = client
        log.debug("%s: SSH session open", self._where)

    def _connect_failure(
        self, error: paramiko.SSHException | OSError, waited: float, silent: bool
    ) -> ConnectionException:
        """What a failed connect() means, in napalm's terms; ``silent`` when the router sent
        no SSH banner."""
        if isinstance(error, paramiko.BadHostKeyException):
            return ConnectionException(
                f"{self._where}: host key does not match {self.known_hosts_file}; refusing to"
                " connect (the router was reinstalled, or someone is in the middle)"
            )
        if isinstance(error, paramiko.AuthenticationException):
            return ConnectAuthError(f"{self._where}: authentication failed: {error}")
        if isinstance(error, paramiko.SSHException):
            return self._banner_failure(waited) if silent else self._ssh_failure(error)
        if isinstance(error, TimeoutError):
            return ConnectTimeoutError(f"{self._where}: no answer within {self.timeout} s")
        return ConnectionException(f"{self._where}: cannot connect: {error}")

    def _ssh_failure(self, error: paramiko.SSHException) -> ConnectionException:
        # RejectPolicy raises a bare SSHException for a host missing from known_hosts.
        if "not found in known_hosts" in str(error):
            return ConnectionException(
                f"{self._where}: its host key is not in {self.known_hosts_file}; add the"
                " router's key there first (an unknown host is refused, never added)"
            )
        return ConnectionException(f"{self._where}: SSH negotiation failed: {error}")

    def _banner_failure(self, waited: float) -> ConnectionException:
        # paramiko words a banner that never came as "No existing session" (its login step
        # finds the transport dead) or "Error reading SSH protocol banner": neither says that
        # the router took the connection and then kept silent until the deadline, which is
        # what the operator needs to hear (a hung sshd, a port forward with nothing behind).
        if waited >= self.timeout:
            return ConnectTimeoutError(
                f"{self._where}: no SSH banner within {self.timeout} s: the router accepted"
                " the connection and said nothing"
            )
        return ConnectionException(
            f"{self._where}: the connection closed before the router's SSH banner: is an SSH"
            f" server listening on port {self.port}?"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def is_alive(self) -> bool:
        if self._client is None:
            return False
        transport = self._client.get_transport()
        return transport is not None and transport.is_active()

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        transport = self._client.get_transport() if self._client else None
        if transport is None or not transport.is_active():
            raise ConnectionClosedException(f"{self._where}: SSH session is closed")
        command = shlex.join(argv)
        deadline = time.monotonic() + self.timeout
        try:
            channel = transport.open_session(timeout=self.timeout)
        except (paramiko.SSHException, OSError) as error:
            raise ConnectionClosedException(
                f"{self._where}: {command} failed on the SSH session: {error}"
            ) from error
        # paramiko waits without limit for the answer to an exec request and for the exit
        # status; a router whose answers stopped (a change that cut the management path)
        # would hang the caller. At the deadline a watchdog closes the channel, which ends
        # either wait.
        expired = threading.Event()
        watchdog = threading.Timer(
            max(0.0, deadline - time.monotonic()), _expire, (channel, expired)
        )
        watchdog.daemon = True
        watchdog.start()
        try:
            channel.exec_command(command)
            if stdin is not None:
                channel.sendall(stdin.encode())
            channel.shutdown_write()
            stdout, stderr = _drain(channel, deadline)
            exit_code = channel.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, OSError) as error:
            if isinstance(error, TimeoutError) or expired.is_set():
                raise CommandTimeoutException(
                    f"{self._where}: {command} did not finish in {self.timeout} s"
                ) from error
            raise ConnectionClosedException(
                f"{self._where}: {command} failed on the SSH session: {error}"
            ) from error
        finally:
            watchdog.cancel()
            channel.close()
        if expired.is_set():
            raise CommandTimeoutException(
                f"{self._where}: {command} did not finish in {self.timeout} s"
            )
        return CommandResult(tuple(argv), exit_code, stdout, stderr)


def _expire(channel: paramiko.Channel, expired: threading.Event) -> None:
    expired.set()
    channel.close()


def _check_private_key(path: str, password: str | None) -> None:
    """Refuse a key file that cannot serve, naming it and why. An encrypted key is left to
    paramiko's connect, which opens it with the password."""
    try:
        paramiko.PKey.from_path(path)
    except TypeError as encrypted:  # cryptography's answer for an encrypted key
        if password is None:
            raise ConnectAuthError(
                f"key file {path} is encrypted, and no password was given to open it"
            ) from encrypted
    except (ValueError, paramiko.SSHException) as error:
        raise ConnectAuthError(
            f"key file {path} holds no private key that can be read ({error})"
        ) from error
    except OSError as error:
        raise ConnectAuthError(f"cannot read key file {path}: {error}") from error


def _no_banner(client: paramiko.SSHClient) -> bool:
    """Whether the router never sent its SSH banner (its identification line)."""
    transport = client.get_transport()
    return transport is not None and not transport.remote_version


def _send_without_delay(client: paramiko.SSHClient) -> None:
    """Turn Nagle's algorithm off on the session's socket, as OpenSSH does.

    Each command is a few small packets each way; with Nagle on, the channel request waits
    for the delayed acknowledgement of the previous one, which cost 40 ms a command
    (45 ms instead of 4 ms for `true` on a lab router)."""
    transport = client.get_transport()
    sock = transport.sock if transport is not None else None
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _drain(channel: paramiko.Channel, deadline: float) -> tuple[str, str]:
    """Read both streams as they come, so that neither can fill the SSH window and block."""
    stdout, stderr = bytearray(), bytearray()
    while True:
        if channel.recv_ready():
            stdout += channel.recv(_READ_CHUNK)
        if channel.recv_stderr_ready():
            stderr += channel.recv_stderr(_READ_CHUNK)
        # EOF, not the exit status, says the output is complete: OpenSSH sends the status as
        # soon as the command exits, possibly before it has read the rest of its output from
        # the pipe (an `ip -j link` of 33 kB came back cut at the first 32 kB packet).
        finished = channel.eof_received
        if finished and not channel.recv_ready() and not channel.recv_stderr_ready():
            break
        if time.monotonic() > deadline:
            channel.close()
            raise TimeoutError("command did not finish in time")
        select.select([channel], [], [], _POLL_SECONDS)
    return stdout.decode(errors="replace"), stderr.decode(errors="replace")


class SudoTransport:
    """Wraps another transport so that every command runs through ``sudo -n``.

    ``-n`` because a password prompt would hang an exec channel that has no terminal; the
    account needs a NOPASSWD rule for the tools the driver runs instead.
    """

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def is_alive(self) -> bool:
        return self.inner.is_alive()

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        result = self.inner.run(["sudo", "-n", *argv], stdin)
        return CommandResult(tuple(argv), result.exit_code, result.stdout, result.stderr)


def read_file(transport: Transport, path: str) -> str | None:
    """The text of a file on the router, or None when it does not exist."""
    if not transport.run(["test", "-e", path]).ok:
        return None
    result = transport.run(["cat", path])
    if not result.ok:
        raise OSError(f"cannot read {path}: {result.output}")
    return result.stdout


def write_file(transport: Transport, path: str, text: str, *, private: bool = False) -> None:
    """Write a file on the router: to a temporary name first, then renamed over the target,
    so that a reader (the revert timer, a crash) never sees half a file. A ``private`` file
    is created with umask 077: readable by its owner only, from its first byte."""
    temporary = f"{path}.tmp"
    argv = ["dd", f"of={temporary}", "status=none"]
    result = transport.run(commands.private(argv) if private else argv, stdin=text)
    if result.ok:
        result = transport.run(["mv", "-f", temporary, path])
    if not result.ok:
        raise OSError(f"cannot write {path}: {result.output}")
