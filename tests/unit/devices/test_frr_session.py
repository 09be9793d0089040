"""The configuration cycle's order of commands and its failures, played against a scripted
router (``frr/scripted.py``): r1's recorded answers, a small kernel that runs the ip batches,
and files kept in memory."""

from __future__ import annotations

import pytest
from napalm.base.exceptions import CommitError, MergeConfigException, ReplaceConfigException

from gigalis_nms.devices.frr.driver import FrrDriver
from gigalis_nms.devices.frr.transport import Transport
from tests.unit.devices.frr.scripted import ScriptedRouter

STATE = "/var/lib/gigalis-frr/r1"
RELOAD = "/usr/lib/frr/frr-reload.py"
# What vtysh -f and frr-reload --reload print, exiting 0, when FRR refuses a change.
YANG_REFUSAL = """\
% Configuration failed.

Error type: validation
Error description: YANG error(s):
 Must condition ". < 64 or /frr-isisd:isis/instance[area-tag = current()/../../area-tag]\
/metric-style = 'wide'" not satisfied.
The following commands were dynamically grouped into the same transaction and rejected:
- router isis core
-  metric-style narrow
"""


class ScriptedDriver(FrrDriver):
    scripted: ScriptedRouter

    def make_transport(self) -> Transport:
        return self.scripted


def scripted_driver(
    failing: set[str] | None = None,
    answers: dict[str, tuple[int, str, str]] | None = None,
    lose_session_at: str | None = None,
) -> tuple[ScriptedDriver, ScriptedRouter]:
    driver = ScriptedDriver("r1", "root", "", optional_args={"state_dir": STATE})
    driver.scripted = ScriptedRouter(failing or set(), answers or {}, lose_session_at)
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
NARROW = "router isis core\n metric-style narrow\nexit\n"


# --- loading ----------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("port lo master br9", "line 3: lo: a loopback cannot be a bridge port"),
        # eth1 carries 198.51.100.0/31, mgmt0 the management address: attaching either
        # to a bridge takes the address out of service, and perhaps the session with it.
        ("port eth1 master br9", "line 3: eth1: holds the address 198.51.100.0/31; a bridge"),
        ("port mgmt0 master br9", "line 3: mgmt0: holds the address 192.0.2.254/30"),
    ],
)
def test_a_port_that_must_not_join_a_bridge_is_refused_at_load(line: str, reason: str) -> None:
    driver, router = scripted_driver()
    candidate = f"! section: kernel\nlink br9 type bridge\n{line}\n"

    with pytest.raises(MergeConfigException) as refused:
        driver.load_merge_candidate(config=candidate)

    assert str(refused.value).startswith(f"r1: candidate refused: {reason}")
    assert "ip -batch -" not in router.commands()


def test_a_port_already_in_its_bridge_is_not_checked_again() -> None:
    driver, _ = scripted_driver()
    # eth3 is in br100 already; only a link joining a bridge is checked.
    driver.load_merge_candidate(config="! section: kernel\nport eth3 master br100\n")


# --- committing -------------------------------------------------------------------------------


def test_a_commit_snapshots_then_applies_kernel_then_frr_then_checks_then_saves() -> None:
    driver, router = scripted_driver()
    driver.load_replace_candidate(config=CANDIDATE)
    router.calls.clear()

    driver.commit_config()

    snapshot = router.stdin_of(f"dd of={STATE}/before-commit.conf.tmp status=none")
    assert snapshot.startswith("! section: kernel\nlink br100 type bridge mtu 1500\n")
    assert router.commands() == [
        "ip -j -d link show",
        "vtysh -c show running-config",
        f"cp /etc/frr/frr.conf {STATE}/startup-frr-before-commit.conf",
        "ip -batch -",
        f"{RELOAD} --reload {STATE}/candidate-frr.conf",
        # The candidate drops every interface stanza: zebra is asked to forget each, and
        # refuses for the links that still exist.
        *(f"vtysh -c configure -c no interface {name}" for name in ("br100", "eth1", "eth2", "lo")),
        "ip -j -d link show",  # the check: the links are the intended ones
        f"{RELOAD} --test {STATE}/candidate-frr.conf",  # and FRR has nothing left to do
        f"cp {STATE}/before-commit.conf {STATE}/rollback.conf",
        "vtysh -c write memory",
        "ip -j -d link show",
    ]
    assert router.stdin_of("ip -batch -").splitlines() == [
        "link del dev vx100",
        "link del dev br100",
        "link add name br200 type bridge",
        "link set dev eth3 master br200",
        "link set dev br200 up",
    ]
    assert router.files[f"{STATE}/rollback.conf"] == snapshot


def test_a_failed_frr_step_restores_both_halves_and_says_why() -> None:
    driver, router = scripted_driver(failing={f"{RELOAD} --reload {STATE}/cand"})
    driver.load_replace_candidate(config=CANDIDATE)

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    message = str(failed.value)
    assert message.startswith("r1: commit failed: FRR: line 3: % Unknown command")
    assert message.endswith("; the previous configuration was restored")
    assert router.commands()[-4:] == [
        f"{RELOAD} --reload {STATE}/candidate-frr.conf",
        f"{RELOAD} --reload {STATE}/before-commit-frr.conf",
        "ip -j -d link show",  # the kernel as it is now, to plan its way back to the snapshot
        "ip -force -batch -",
    ]
    assert "br200" not in router.kernel.links
    assert router.kernel.links["vx100"]["master"] == "br100"


@pytest.mark.parametrize("replace", [False, True])
def test_a_change_frr_refuses_while_exiting_0_fails_the_commit(replace: bool) -> None:
    apply = f"{RELOAD} --reload" if replace else "vtysh -f"
    driver, router = scripted_driver(answers={apply: (0, YANG_REFUSAL, "")})
    load = driver.load_replace_candidate if replace else driver.load_merge_candidate
    load(config=f"! section: kernel\nlink br50 type bridge\n! section: frr\n{NARROW}")

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    assert str(failed.value).startswith(
        "r1: commit failed: FRR: % Configuration failed. / Error type: validation / "
    )
    assert "- router isis core / -  metric-style narrow;" in str(failed.value)
    assert "br50" not in router.kernel.links  # the kernel half was put back
    assert "vtysh -c write memory" not in router.commands()
    assert f"{STATE}/rollback.conf" not in router.files


def test_a_change_frr_did_not_take_silently_is_found_by_the_check() -> None:
    left = "\nLines To Add\n============\nrouter isis core\n net 49.0002.1920.0000.2099.00\n"
    driver, router = scripted_driver(answers={f"{RELOAD} --test": (0, left, "")})
    driver.load_merge_candidate(config="router isis core\n net 49.0002.1920.0000.2099.00\n")

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    assert str(failed.value) == (
        "r1: commit failed: FRR: its running configuration differs from the candidate once"
        " applied (it refused part of it, or prints it otherwise: write lines as show"
        " running-config does): router isis core / net 49.0002.1920.0000.2099.00;"
        " the previous configuration was restored"
    )
    assert f"{RELOAD} --reload {STATE}/before-commit-frr.conf" in router.commands()
    assert "vtysh -c write memory" not in router.commands()


def test_a_merge_check_ignores_the_deletions_it_asked_for() -> None:
    left = "\nLines To Add\n============\nno ip prefix-list OLD seq 5 permit 192.0.2.0/24\n"
    driver, router = scripted_driver(answers={f"{RELOAD} --test": (0, left, "")})
    driver.load_merge_candidate(config="no ip prefix-list OLD seq 5 permit 192.0.2.0/24\n")

    driver.commit_config()

    assert "vtysh -c write memory" in router.commands()


def test_a_bridge_keeps_its_mtu_when_its_members_join() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(
        config="! section: kernel\nlink br7 type bridge mtu 9000\n"
        "link vx7 type vxlan id 7 local 192.0.2.1 master br7\nport eth3 master br7\n"
    )

    driver.commit_config()

    assert router.kernel.links["br7"]["mtu"] == 9000
    driver.load_merge_candidate(config="! section: kernel\nlink br7 type bridge mtu 9000\n")
    assert driver.compare_config() == ""


def test_a_failing_ip_batch_names_the_line_and_the_link() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(
        config="! section: kernel\nlink br9 type bridge\nport eth3 master br9\n"
    )
    router.kernel.links["eth3"]["link_type"] = "loopback"  # the kernel refuses it as a port

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    assert str(failed.value).startswith(
        "r1: commit failed: kernel: eth3: `link set dev eth3 master br9` (line 2 of the ip"
        " batch): RTNETLINK answers: Invalid argument; "
    )


def test_a_failed_commit_leaves_rollback_to_the_last_good_one() -> None:
    driver, router = scripted_driver(failing={"vtysh -f"})
    driver.load_merge_candidate(config="! section: kernel\nlink br50 type bridge\n")
    driver.commit_config()
    assert "br50" in router.kernel.links
    driver.load_merge_candidate(
        config="! section: kernel\nlink br51 type bridge\n! section: frr\nhostname x\n"
    )

    with pytest.raises(CommitError, match="the previous configuration was restored"):
        driver.commit_config()
    assert set(router.kernel.links) >= {"br50"}
    assert "br51" not in router.kernel.links

    driver.rollback()

    assert "br50" not in router.kernel.links  # the commit that succeeded is undone
    assert "br100" in router.kernel.links


# --- committing with revert_in ----------------------------------------------------------------


def test_with_revert_in_the_timer_is_armed_before_anything_changes() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(config=CANDIDATE)
    router.calls.clear()

    driver.commit_config(revert_in=30)

    commands = router.commands()
    arm = commands.index(f"sh {STATE}/revert.sh arm")
    assert (
        arm < commands.index("ip -batch -") < commands.index(f"vtysh -f {STATE}/candidate-frr.conf")
    )
    written = [line for line, _ in router.calls if line.startswith("dd of=")]
    ran_before_arm = [
        line for line, _ in router.calls[: router.calls.index((f"sh {STATE}/revert.sh arm", None))]
    ]
    for name in ("before-commit-frr.conf", "revert-kernel.batch", "revert.sh", "pending"):
        assert f"dd of={STATE}/{name}.tmp status=none" in ran_before_arm, name
    assert written  # and nothing is copied or saved after the change
    after = commands[commands.index(f"vtysh -f {STATE}/candidate-frr.conf") + 1 :]
    assert not [line for line in after if line.startswith(("cp ", "vtysh -c write"))]
    assert driver.has_pending_commit()
    with pytest.raises(CommitError, match="a commit is waiting for confirmation"):
        driver.commit_config()


@pytest.mark.parametrize("cut_at", ["vtysh -f", f"{RELOAD} --test"])
def test_a_commit_that_cuts_the_session_is_left_to_the_revert_timer(cut_at: str) -> None:
    """The change cuts the management path: the router stops answering while the change is
    applied (the FRR step) or just after (the check)."""
    driver, router = scripted_driver(lose_session_at=cut_at)
    driver.load_merge_candidate(config="ip route 198.51.100.0/25 blackhole\n")

    with pytest.raises(CommitError) as failed:
        driver.commit_config(revert_in=20)

    message = str(failed.value)
    assert message.startswith("r1: lost the session during the commit (r1: ")
    assert "the revert timer puts the previous configuration back by itself, 20 s after" in message
    assert f"{STATE}/pending" in router.files  # armed, and left to run
    assert router.closed  # later calls fail at once instead of each waiting for a timeout
    assert not driver.is_alive()["is_alive"]


def test_a_refused_commit_with_revert_in_restores_and_stops_its_timer() -> None:
    driver, router = scripted_driver(answers={"vtysh -f": (0, YANG_REFUSAL, "")})
    driver.load_merge_candidate(config=NARROW)

    with pytest.raises(CommitError, match=r"the previous configuration was restored$"):
        driver.commit_config(revert_in=20)

    assert not driver.has_pending_commit()
    assert (
        router.commands()[-2:]
        == [
            f"{RELOAD} --reload {STATE}/before-commit-frr.conf",
            "ip -j -d link show",
        ]
        or f"{RELOAD} --reload {STATE}/before-commit-frr.conf" in router.commands()
    )


def test_a_confirmed_commit_becomes_the_rollback_snapshot() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(config="! section: kernel\nlink br50 type bridge\n")

    driver.commit_config(revert_in=30)
    assert f"{STATE}/rollback.conf" not in router.files  # not before confirmation
    driver.confirm_commit()

    assert router.files[f"{STATE}/rollback.conf"] == router.files[f"{STATE}/before-commit.conf"]
    assert "vtysh -c write memory" in router.commands()


def test_rolling_back_a_pending_commit_goes_back_to_before_it() -> None:
    driver, router = scripted_driver()
    driver.load_merge_candidate(config="! section: kernel\nlink br50 type bridge\n")
    driver.commit_config()
    driver.load_merge_candidate(config="! section: kernel\nlink br51 type bridge\n")
    driver.commit_config(revert_in=30)

    driver.rollback()

    assert "br50" in router.kernel.links
    assert "br51" not in router.kernel.links
    assert not driver.has_pending_commit()


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


def test_every_file_in_the_state_folder_is_written_private() -> None:
    driver, router = scripted_driver()
    driver.load_replace_candidate(config=CANDIDATE)
    driver.commit_config(revert_in=30)
    driver.confirm_commit()

    writes = [argv for argv in router.raw if "dd" in argv or "cp" in argv]
    into_state = [
        argv
        for argv in writes
        if any(word.startswith(f"of={STATE}") or word.startswith(f"{STATE}/") for word in argv[-2:])
    ]
    assert into_state
    for argv in into_state:
        assert argv[:3] == ["sh", "-c", 'umask 077 && exec "$@"'], argv
    assert ["install", "-d", "-m", "0700", STATE] in router.raw
