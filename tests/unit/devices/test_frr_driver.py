"""The driver's plumbing without a router: options, NAPALM's lookup, the transports' checks,
and the shell the driver runs on routers, run here by a real ``sh``."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import napalm
import paramiko
import pytest
from napalm.base.exceptions import CommandTimeoutException, ConnectAuthError

import napalm_frr
from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.driver import FrrDriver
from gigalis_nms.devices.frr.options import parse_optional_args
from gigalis_nms.devices.frr.revert import render_revert_script
from gigalis_nms.devices.frr.router import Router, StateFiles
from gigalis_nms.devices.frr.transport import (
    CommandResult,
    SshTransport,
    SudoTransport,
    read_file,
    write_file,
)


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert napalm.get_network_driver("frr") is FrrDriver is napalm_frr.FrrDriver


def test_options_default_to_ssh_and_the_default_instance() -> None:
    options = parse_optional_args({"ssh_config_file": "~/.ssh/config", "port": 2222})
    assert (options.transport, options.port, options.pathspace) == ("ssh", 2222, None)
    assert options.state_dir == "/var/lib/gigalis-frr"
    assert parse_optional_args({"sudo": True, "pathspace": None}).sudo is True


@pytest.mark.parametrize(
    ("optional_args", "reason"),
    [
        ({"known_host_file": "x"}, "unknown key 'known_host_file'"),
        ({"transport": "telnet"}, "transport: 'telnet' is neither 'ssh' nor 'netns'"),
        ({"transport": "netns"}, "netns: required with transport 'netns'"),
        ({"port": 70000}, "port: 70000 is not a TCP port"),
        ({"state_dir": "state"}, "state_dir: 'state' is not absolute"),
        # A YAML inventory's "false" is a string, and a string is true: refused, not guessed.
        ({"sudo": "yes"}, "sudo: 'yes' is not true or false \\(a bool\\)"),
        ({"sudo": "false"}, "sudo: 'false' is not true or false \\(a bool\\)"),
        ({"sudo": 1}, "sudo: 1 is not true or false \\(a bool\\)"),
        ({"port": "22"}, "port: '22' is not an int"),
        ({"port": True}, "port: True is not an int"),
        ({"key_file": 5}, "key_file: 5 is not a string or None"),
        ({"state_dir": None}, "state_dir: None is not a string"),
        ({"transport": None}, "transport: None is not a string"),
    ],
)
def test_bad_options_are_refused_by_name(optional_args: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=f"^optional_args: {reason}"):
        FrrDriver("r1", "admin", "", optional_args=optional_args)


def test_a_file_that_is_no_private_key_is_named_as_the_problem(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    public_key = tmp_path / "id.pub"
    public_key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJ7 netops@nms\n")
    # The key file is read before any connection is tried: no packet leaves this machine.
    transport = SshTransport(
        "192.0.2.1", "netops", key_file=str(public_key), known_hosts_file=str(known_hosts)
    )

    with pytest.raises(ConnectAuthError) as refused:
        transport.open()

    message = str(refused.value)
    assert message.startswith(f"netops@192.0.2.1:22: key file {public_key} holds no private key")
    assert "known" not in message


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    transport = SshTransport(
        "192.0.2.1", "netops", key_file=str(tmp_path / "gone"), known_hosts_file=str(known_hosts)
    )

    with pytest.raises(ConnectAuthError, match=f"cannot read key file {tmp_path / 'gone'}"):
        transport.open()


class UnansweredChannel:
    """A channel whose exec request is never answered, as when the router's replies go into
    a blackhole: like paramiko's, exec_command waits until the request is answered or the
    channel closed, with no time limit of its own."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def exec_command(self, command: str) -> None:
        self.closed.wait()
        raise paramiko.SSHException("Channel closed.")

    def close(self) -> None:
        self.closed.set()


class SilentSession:
    def __init__(self) -> None:
        self.channel = UnansweredChannel()

    def is_active(self) -> bool:
        return True

    def open_session(self, timeout: float) -> UnansweredChannel:
        return self.channel

    def get_transport(self) -> SilentSession:
        return self


def test_a_command_whose_router_stopped_answering_times_out() -> None:
    transport = SshTransport("192.0.2.1", "netops", timeout=0.5)
    transport._client = SilentSession()  # type: ignore[assignment]
    started = time.monotonic()

    with pytest.raises(CommandTimeoutException, match=r"ip -batch - did not finish in 0\.5 s"):
        transport.run(["ip", "-batch", "-"], stdin="link add name br1 type bridge\n")

    assert time.monotonic() - started < 5


def test_the_revert_script_is_valid_shell() -> None:
    script = render_revert_script(StateFiles("/var/lib/gigalis frr"), "gl-r1", delay=30)

    checked = subprocess.run(
        ["sh", "-n"], input=script, text=True, capture_output=True, check=False
    )

    assert checked.returncode == 0, checked.stderr
    assert (
        "/usr/lib/frr/frr-reload.py --pathspace gl-r1 --reload"
        " '/var/lib/gigalis frr/before-commit-frr.conf'"
    ) in script
    assert "'/var/lib/gigalis frr/pending'" in script  # quoted: paths may hold spaces
    assert "\numask 077" in script  # its log and pid file sit with the snapshots


@dataclass
class EmptyRouter:
    """A router with no file on it that accepts every command."""

    lines: list[str] = field(default_factory=list)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_alive(self) -> bool:
        return True

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        self.lines.append(" ".join(argv))
        return CommandResult(tuple(argv), 1 if "test" in argv else 0, "", "")


def test_sudo_prefixes_every_command_and_files_are_written_whole() -> None:
    router = EmptyRouter()
    sudo = SudoTransport(router)

    write_file(sudo, "/etc/frr/frr.conf", "hostname r1\n")
    assert read_file(sudo, "/etc/frr/missing.conf") is None

    assert router.lines == [
        "sudo -n dd of=/etc/frr/frr.conf.tmp status=none",
        "sudo -n mv -f /etc/frr/frr.conf.tmp /etc/frr/frr.conf",
        "sudo -n test -e /etc/frr/missing.conf",
    ]


class LocalShell:
    """Runs commands on this machine, with a umask that lets others read what it creates,
    as many login shells do."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_alive(self) -> bool:
        return True

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        completed = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            umask=0o022,
        )
        return CommandResult(tuple(argv), completed.returncode, completed.stdout, completed.stderr)


def test_the_state_folder_and_its_files_are_private_even_if_the_folder_exists(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as the lab made it
    router = Router("r1", LocalShell(), pathspace=None)
    files = StateFiles(str(state))
    startup = tmp_path / "frr.conf"
    startup.write_text("neighbor 192.0.2.2 password s3cret\n")
    startup.chmod(0o644)

    router.make_state_dir(files)
    router.write_file(files.before_commit, "neighbor 192.0.2.2 password s3cret\n")
    router.copy_file(str(startup), files.startup_before_commit)

    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "before-commit.conf").stat().st_mode & 0o777 == 0o600
    assert (state / "startup-frr-before-commit.conf").stat().st_mode & 0o777 == 0o600


def test_frr_reload_is_followed_by_the_startup_file_put_back(tmp_path: Path) -> None:
    """frr-reload saves what it applies; the wrapper puts startup back, and keeps the exit
    status of frr-reload. A stand-in for frr-reload overwrites startup and fails."""
    startup, backup = tmp_path / "frr.conf", tmp_path / "backup.conf"
    startup.write_text("before\n")
    backup.write_text("before\n")
    argv = commands.frr_reload_keeping_startup(
        None, "/candidate", backup=str(backup), startup=str(startup)
    )
    stand_in = ["sh", "-c", f"echo applied >{startup}; exit 3"]

    ran = subprocess.run([*argv[:4], *stand_in], check=False)

    assert argv[4:] == ["/usr/lib/frr/frr-reload.py", "--reload", "/candidate"]
    assert ran.returncode == 3
    assert startup.read_text() == "before\n"
