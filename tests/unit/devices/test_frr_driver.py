"""The driver's plumbing without a router: options, NAPALM's lookup, and the configuration
cycle's order of commands, played against a scripted router that answers from recordings."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import napalm
import pytest
from napalm.base.exceptions import CommitError, MergeConfigException, ReplaceConfigException

import napalm_frr
from gigalis_nms.devices.frr.driver import FrrDriver
from gigalis_nms.devices.frr.options import parse_optional_args
from gigalis_nms.devices.frr.revert import render_revert_script
from gigalis_nms.devices.frr.router import StateFiles
from gigalis_nms.devices.frr.transport import (
    CommandResult,
    SudoTransport,
    Transport,
    read_file,
    write_file,
)
from tests.unit.devices.frr.replay import RECORDED

LINKS = next((RECORDED / "r1").glob("13-ip-j-d-link-show*")).read_text()
RUNNING = next((RECORDED / "r1").glob("14-vtysh-*running-config*")).read_text()
VTYSH_ERRORS = (RECORDED / "config-r1" / "vtysh-check-stderr.txt").read_text()
STATE = "/var/lib/gigalis-frr/r1"


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert napalm.get_network_driver("frr") is FrrDriver is napalm_frr.FrrDriver


def test_options_default_to_ssh_and_the_default_instance() -> None:
    options = parse_optional_args({"ssh_config_file": "~/.ssh/config", "port": 2222})
    assert (options.transport, options.port, options.pathspace) == ("ssh", 2222, None)
    assert options.state_dir == "/var/lib/gigalis-frr"


@pytest.mark.parametrize(
    ("optional_args", "reason"),
    [
        ({"known_host_file": "x"}, "optional_args: unknown key 'known_host_file'"),
        ({"transport": "telnet"}, "transport: 'telnet' is neither 'ssh' nor 'netns'"),
        ({"transport": "netns"}, "netns: required with transport 'netns'"),
        ({"port": 70000}, "port: 70000 is not a TCP port"),
        ({"state_dir": "state"}, "state_dir: 'state' is not absolute"),
    ],
)
def test_bad_options_are_refused_by_name(optional_args: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        FrrDriver("r1", "admin", "", optional_args=optional_args)


def test_the_revert_script_is_valid_shell() -> None:
    script = render_revert_script(StateFiles("/var/lib/gigalis frr"), "gl-r1", delay=30)

    checked = subprocess.run(
        ["sh", "-n"], input=script, text=True, capture_output=True, check=False
    )

    assert checked.returncode == 0, checked.stderr
    assert "'/usr/lib/frr/frr-reload.py' --pathspace gl-r1 --reload" in script.replace(
        "/usr/lib/frr/frr-reload.py", "'/usr/lib/frr/frr-reload.py'"
    )
    assert "'/var/lib/gigalis frr/pending'" in script  # quoted: paths may hold spaces


@dataclass
class ScriptedRouter:
    """Answers like r1 did; records every command; fails the commands it is told to."""

    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    files: set[str] = field(default_factory=lambda: {"/etc/frr/frr.conf"})

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_alive(self) -> bool:
        return True

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        line = " ".join(argv)
        self.calls.append((line, stdin))
        if any(line.startswith(prefix) for prefix in self.failing):
            return CommandResult(tuple(argv), 2, "", VTYSH_ERRORS)
        if argv[0] in ("dd", "mv", "cp", "rm", "test"):
            return self._file_command(argv)
        stdout = {"ip -j -d link show": LINKS, "vtysh -c show running-config": RUNNING}
        return CommandResult(tuple(argv), 0, stdout.get(line, ""), "")

    def _file_command(self, argv: Sequence[str]) -> CommandResult:
        """Keeps track of which files exist, as the session relies on test, mv and cp."""
        ok = True
        if argv[0] == "dd":
            self.files.add(argv[1].removeprefix("of="))
        elif argv[0] in ("mv", "cp"):
            ok = argv[-2] in self.files
            if ok:
                self.files.add(argv[-1])
            if ok and argv[0] == "mv":
                self.files.discard(argv[-2])
        elif argv[0] == "rm":
            self.files -= set(argv[2:])
        else:
            ok = bool(self.files & {word for word in argv[1:] if word.startswith("/")})
        return CommandResult(tuple(argv), 0 if ok else 1, "", "")

    def commands(self) -> list[str]:
        return [line for line, _ in self.calls if not line.startswith(("test ", "dd ", "mv "))]


class ScriptedDriver(FrrDriver):
    scripted: ScriptedRouter

    def make_transport(self) -> Transport:
        return self.scripted


def scripted_driver(failing: set[str] | None = None) -> tuple[ScriptedDriver, ScriptedRouter]:
    driver = ScriptedDriver("r1", "root", "", optional_args={"state_dir": STATE})
    driver.scripted = ScriptedRouter(failing or set())
    driver.open()
    return driver, driver.scripted


CANDIDATE = """\
! section: kernel
link br200 type bridge
port eth3 master br200
! section: frr
router bgp 64496
 neighbor 192.0.2.9 remote-as 64496
exit
"""


def test_a_syntax_error_is_refused_at_load_with_document_line_numbers() -> None:
    driver, router = scripted_driver(failing={"vtysh -C"})

    with pytest.raises(ReplaceConfigException) as refused:
        driver.load_replace_candidate(config=CANDIDATE)

    assert "r1: FRR refuses the candidate: line 7: % Unknown command[25]" in str(refused.value)
    assert driver.get_config(retrieve="candidate")["candidate"] == ""
    assert not any(line.startswith(("ip -batch", "vtysh -f")) for line in router.commands())


def test_a_kernel_error_is_refused_before_frr_is_asked() -> None:
    driver, router = scripted_driver()

    with pytest.raises(MergeConfigException, match=r"r1: candidate refused: line 2: id: 0"):
        driver.load_merge_candidate(config="! section: kernel\nlink v type vlan link eth1 id 0\n")
    assert router.calls[-1][0] == "vtysh -c show version"  # nothing after open


def test_a_commit_snapshots_then_applies_kernel_then_frr_then_saves() -> None:
    driver, router = scripted_driver()
    driver.load_replace_candidate(config=CANDIDATE)
    router.calls.clear()

    driver.commit_config()

    rollback = f"dd of={STATE}/rollback.conf.tmp status=none"
    written = [stdin for line, stdin in router.calls if line == rollback]
    assert written
    assert written[0] is not None
    assert written[0].startswith("! section: kernel\nlink br100 type bridge mtu 1500\n")
    assert router.commands() == [
        f"mkdir -p -m 0700 {STATE}",
        "ip -j -d link show",
        "vtysh -c show running-config",
        f"cp -p /etc/frr/frr.conf {STATE}/startup-frr-before-commit.conf",
        "ip -batch -",
        f"/usr/lib/frr/frr-reload.py --reload {STATE}/candidate-frr.conf",
        # The candidate drops every interface stanza: zebra is asked to forget each, and
        # refuses for the links that still exist.
        *(f"vtysh -c configure -c no interface {name}" for name in ("br100", "eth1", "eth2", "lo")),
        "vtysh -c write memory",
        "ip -j -d link show",
    ]
    batch = next(stdin for line, stdin in router.calls if line == "ip -batch -")
    assert batch is not None
    assert batch.splitlines() == [
        "link del dev vx100",
        "link del dev br100",
        "link add name br200 type bridge",
        "link set dev eth3 master br200",
        "link set dev br200 up",
    ]


def test_a_failed_frr_step_restores_both_halves_and_says_why() -> None:
    driver, router = scripted_driver(failing={f"/usr/lib/frr/frr-reload.py --reload {STATE}/cand"})
    driver.load_replace_candidate(config=CANDIDATE)

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    message = str(failed.value)
    assert message.startswith("r1: commit failed: FRR: line 3: % Unknown command")
    assert message.endswith("; the previous configuration was restored")
    assert router.commands()[-4:] == [
        f"/usr/lib/frr/frr-reload.py --reload {STATE}/candidate-frr.conf",
        f"/usr/lib/frr/frr-reload.py --reload {STATE}/rollback-frr.conf",
        "ip -j -d link show",  # the kernel as it is now, to plan its way back to the snapshot
        f"cp {STATE}/startup-frr-before-commit.conf /etc/frr/frr.conf",
    ]


def test_a_commit_with_revert_in_arms_the_timer_and_saves_nothing() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(config=CANDIDATE)

    driver.commit_config(revert_in=30)

    commands = router.commands()
    assert f"vtysh -f {STATE}/candidate-frr.conf" in commands  # a merge applies with vtysh -f
    assert commands[-1] == f"sh {STATE}/revert.sh arm"
    assert "vtysh -c write memory" not in commands
    assert driver.has_pending_commit()
    with pytest.raises(CommitError, match="a commit is waiting for confirmation"):
        driver.commit_config()


def test_commit_without_candidate_and_rollback_without_snapshot_say_why() -> None:
    driver, _ = scripted_driver()

    with pytest.raises(CommitError, match="r1: no candidate loaded"):
        driver.commit_config()
    with pytest.raises(CommitError, match="r1: nothing to roll back to"):
        driver.rollback()
    with pytest.raises(CommitError, match="r1: no commit is waiting for confirmation"):
        driver.confirm_commit()


def test_a_revert_delay_under_a_second_is_refused_before_anything_changes() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(config=CANDIDATE)
    router.calls.clear()

    with pytest.raises(CommitError, match="revert_in must be at least 1 second"):
        driver.commit_config(revert_in=0)
    assert router.calls == []


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
