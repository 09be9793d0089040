"""The FRR driver against the lab's live routers (the ``lab`` fixture of tests/lab/conftest.py).

Reads run on every router, over SSH as in production and through Nornir. Changes run on one
router and are undone: each changing test restores the router's running configuration,
its saved ``frr.conf`` and the driver's state folder to what they were, so the lab is left
as found even when an assertion fails half-way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from napalm.base.exceptions import (
    CommitError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir_napalm.plugins.tasks import napalm_get

from gigalis_nms.devices.frr import FrrDriver
from gigalis_nms.devices.frr.driver import GETTERS
from gigalis_nms.devices.payloads import check_getter_payload
from gigalis_nms.lab.nornir import lab_nornir
from gigalis_nms.lab.state import LabRouter, LabState

FRRINIT = "/usr/lib/frr/frrinit.sh"
# Names no lab object uses, short enough for the kernel's 15 characters.
BRIDGE = "gt-br3999"
VXLAN = "gt-vx3999"
OTHER_VXLAN = "gt-vx3998"
DESCRIPTION = "gigalis driver test"
PREFIX_LIST = "ip prefix-list GIGALIS-DRIVER-TEST seq 5 permit 203.0.113.0/24"
# More specific than the management subnet's connected /24, and holding the lab's end of it
# (198.51.100.1): the router's answers to the NMS go nowhere.
CUT_MANAGEMENT = "ip route 198.51.100.0/25 blackhole"
# A second area address whose system ID differs from the router's: FRR refuses it, exiting 0.
SECOND_NET = " net 49.0002.1920.0000.2099.00"
# IS-IS metrics of 64 and more need wide metrics: FRR refuses narrow ones, exiting 0.
NARROW_METRICS = "router isis GIGALIS\n metric-style narrow\nexit\n"


def open_driver(
    lab: LabState, router: LabRouter, transport: str = "ssh", timeout: int = 60
) -> FrrDriver:
    driver = FrrDriver(
        router.management_address,
        lab.ssh_user,
        "",
        timeout=timeout,
        optional_args=lab.napalm_optional_args(router, transport=transport),
    )
    driver.open()
    return driver


def open_when_reachable(lab: LabState, router: LabRouter, seconds: float) -> FrrDriver:
    """A session to a router that may be cut off for a while (by a test, or its timer)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return open_driver(lab, router, timeout=5)
        except ConnectionException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(1)


@pytest.fixture
def router(lab: LabState) -> LabRouter:
    """The router the changing tests work on: one with a customer port to hang a bridge on."""
    with_customers = [router for router in lab.routers if router.customer_ports]
    return (with_customers or list(lab.routers))[-1]


@pytest.fixture
def driver(lab: LabState, router: LabRouter) -> Iterator[FrrDriver]:
    """An SSH session to ``router``; afterwards the router is put back as it was found."""
    startup = Path("/etc/frr", router.netns, "frr.conf")
    saved = Path(tempfile.mkdtemp(prefix="gigalis-driver-test-"))
    state_dir = Path(router.device_state_dir)
    had_state_dir = state_dir.exists()
    shutil.copy2(startup, saved / "frr.conf")
    if had_state_dir:
        shutil.copytree(state_dir, saved / "state", symlinks=True)

    session = open_driver(lab, router)
    before = session.get_config(retrieve="running")["running"]
    try:
        yield session
    finally:
        session.close()
        # A new session: a test may have cut the one above, and its router for a while.
        fresh = open_when_reachable(lab, router, 120)
        try:
            _put_back(fresh, before)
        finally:
            fresh.close()
        shutil.copy2(saved / "frr.conf", startup)
        shutil.rmtree(state_dir, ignore_errors=True)
        if had_state_dir:
            shutil.copytree(saved / "state", state_dir, symlinks=True)
        shutil.rmtree(saved)


def _put_back(session: FrrDriver, before: str) -> None:
    """Undo whatever a test left: a pending commit's timer, then any configuration change."""
    wait_until(lambda: not _reverting(session), 60, "a revert timer at work")
    if session.has_pending_commit():
        session.confirm_commit()
    if session.get_config(retrieve="running")["running"] != before:
        session.load_replace_candidate(config=before)
        session.commit_config()


def _reverting(session: FrrDriver) -> bool:
    return Path(session.files.reverting).exists()  # the lab's routers share our files


def candidate_from(running: str, router: LabRouter) -> str:
    """The running document plus a bridge with a VXLAN tunnel (and the router's first
    customer port) in the kernel, and a description and a prefix list in FRR."""
    kernel, frr = running.split("! section: frr\n")
    port = ""
    if router.customer_ports:
        name = router.customer_ports[0]
        # The port moves to the test bridge, from whichever bridge it may be in now.
        kernel = "".join(
            line
            for line in kernel.splitlines(keepends=True)
            if not line.startswith(f"port {name} ")
        )
        port = f"port {name} master {BRIDGE}\n"
    kernel += (
        f"link {BRIDGE} type bridge\n"
        f"link {VXLAN} type vxlan id 3999 local {router.loopback_ipv4} nolearning"
        f" master {BRIDGE}\n{port}"
    )
    frr += f"interface {BRIDGE}\n description {DESCRIPTION}\nexit\n{PREFIX_LIST}\n"
    return f"{kernel}! section: frr\n{frr}"


# --- reading ----------------------------------------------------------------------------------


def test_every_getter_returns_typed_data_from_every_router_over_ssh(lab: LabState) -> None:
    for router in lab.routers:
        driver = open_driver(lab, router)
        try:
            for getter in GETTERS:
                check_getter_payload(getter, getattr(driver, getter)())
            facts = driver.get_facts()
        finally:
            driver.close()
        assert facts["hostname"] == router.hostname
        assert set(router.backbone_ports) <= set(facts["interface_list"])


def test_the_lab_transport_reads_the_same_router(lab: LabState, router: LabRouter) -> None:
    over_ssh, in_netns = open_driver(lab, router), open_driver(lab, router, "netns")
    try:
        assert over_ssh.get_facts()["interface_list"] == in_netns.get_facts()["interface_list"]
        assert over_ssh.get_interfaces_ip() == in_netns.get_interfaces_ip()
    finally:
        over_ssh.close()
        in_netns.close()


def test_nornir_gets_typed_data_from_every_router(lab: LabState) -> None:
    # InitNornir registers the installed connection plugins (nornir_napalm's "napalm");
    # a Nornir built directly from an inventory needs it done once by hand.
    ConnectionPluginRegister.auto_register()
    nornir = lab_nornir(lab)
    getters = ["facts", "interfaces", "bgp_neighbors", "lldp_neighbors"]
    try:
        results = nornir.run(task=napalm_get, getters=getters)
    finally:
        nornir.close_connections(on_good=True, on_failed=True)

    assert not results.failed, {host: str(result.exception) for host, result in results.items()}
    assert set(results) == {router.hostname for router in lab.routers}
    for host, result in results.items():
        payload = result[0].result
        for getter in getters:
            check_getter_payload(f"get_{getter}", payload[getter])
        assert payload["facts"]["hostname"] == host


def test_lldp_sees_the_neighbours_the_lab_wired(lab: LabState) -> None:
    expected: dict[str, set[tuple[str, str]]] = {}
    for link in (link for link in lab.links if link.enabled):
        expected.setdefault(link.a_host, set()).add((link.a_port, link.z_host))
        expected.setdefault(link.z_host, set()).add((link.z_port, link.a_host))
    router = lab.routers[0]
    driver = open_driver(lab, router)
    try:
        wait_until(
            lambda: (
                {
                    (port, neighbour["hostname"])
                    for port, neighbours in driver.get_lldp_neighbors().items()
                    for neighbour in neighbours
                }
                >= expected.get(router.hostname, set())
            ),
            60,
            f"{router.hostname}: LLDP neighbours",
        )
    finally:
        driver.close()


# --- changing ---------------------------------------------------------------------------------


def test_load_compare_commit_and_rollback(driver: FrrDriver, router: LabRouter) -> None:
    before = driver.get_config(retrieve="running")["running"]
    candidate = candidate_from(before, router)

    driver.load_replace_candidate(config=candidate)
    diff = driver.compare_config()

    assert f"+link {BRIDGE} type bridge\n" in diff
    assert f"+link {VXLAN} type vxlan id 3999" in diff
    assert "Lines To Add" in diff
    assert f" description {DESCRIPTION}\n" in diff
    assert PREFIX_LIST in diff
    assert driver.get_config(retrieve="candidate")["candidate"] == candidate

    driver.commit_config(message="driver test")

    interfaces = driver.get_interfaces()
    assert interfaces[BRIDGE]["description"] == DESCRIPTION
    assert interfaces[BRIDGE]["is_enabled"]
    config = driver.get_config()
    assert f"link {BRIDGE} type bridge" in config["running"]
    assert f"link {BRIDGE} type bridge" in config["startup"]  # kernel.conf was saved
    assert PREFIX_LIST in config["startup"]  # and so was frr.conf
    driver.load_replace_candidate(config=candidate)
    assert driver.compare_config() == ""  # the same candidate again changes nothing
    driver.discard_config()

    driver.rollback()

    assert driver.get_config(retrieve="running")["running"] == before
    assert BRIDGE not in driver.get_interfaces()


def test_a_vlan_sub_interface_in_a_bridge(driver: FrrDriver, router: LabRouter) -> None:
    """An 802.1Q link where the kernel has them, else the driver's emulation of one: the
    same document either way."""
    if not router.customer_ports:
        pytest.skip(f"{router.hostname} has no customer port to put a VLAN on")
    before = driver.get_config(retrieve="running")["running"]
    port = router.customer_ports[0]
    vlan = f"{port}.3999"[-15:]
    kernel, frr = before.split("! section: frr\n")
    kernel += (
        f"link {BRIDGE} type bridge\nlink {vlan} type vlan link {port} id 3999 master {BRIDGE}\n"
    )

    driver.load_replace_candidate(config=f"{kernel}! section: frr\n{frr}")
    assert f"+link {vlan} type vlan link {port} id 3999 master {BRIDGE}\n" in (
        driver.compare_config()
    )
    driver.commit_config()
    assert driver.get_interfaces()[vlan]["is_enabled"]

    driver.rollback()

    assert driver.get_config(retrieve="running")["running"] == before


def test_an_unconfirmed_commit_reverts_by_itself(driver: FrrDriver, router: LabRouter) -> None:
    before = driver.get_config()
    driver.load_replace_candidate(config=candidate_from(before["running"], router))

    driver.commit_config(revert_in=10)

    assert driver.has_pending_commit()
    assert BRIDGE in driver.get_interfaces()
    assert driver.get_config(retrieve="startup")["startup"] == before["startup"]  # not saved
    driver.load_merge_candidate(config=f"{PREFIX_LIST}\n")
    with pytest.raises(CommitError, match="a commit is waiting for confirmation"):
        driver.commit_config()
    driver.discard_config()

    wait_until(lambda: not driver.has_pending_commit(), 60, "the revert timer")

    after = driver.get_config()
    assert after["running"] == before["running"]
    assert after["startup"] == before["startup"]


def test_a_confirmed_commit_stays(driver: FrrDriver, router: LabRouter) -> None:
    before = driver.get_config(retrieve="running")["running"]
    driver.load_replace_candidate(config=candidate_from(before, router))

    # The delay counts from before the change: it must leave time to apply and check it.
    armed = time.monotonic()
    driver.commit_config(revert_in=8)
    driver.confirm_commit()
    time.sleep(max(0, armed + 10 - time.monotonic()))  # past the delay: the timer is gone

    assert not driver.has_pending_commit()
    assert PREFIX_LIST in driver.get_config(retrieve="running")["running"]
    assert PREFIX_LIST in driver.get_config(retrieve="startup")["startup"]


def test_a_commit_that_cuts_management_comes_back_by_itself(
    lab: LabState, router: LabRouter, driver: FrrDriver
) -> None:
    """The case revert_in exists for: the change cuts the session that made it. The timer is
    armed before the change, so the router comes back with no help from the session."""
    before = driver.get_config()
    revert_in = 20
    # A short timeout, so that the driver finds the session gone well before the timer fires.
    cutting = open_driver(lab, router, timeout=8)
    cutting.load_merge_candidate(config=f"{CUT_MANAGEMENT}\n")

    started = time.monotonic()
    try:
        cutting.commit_config(message="cuts management", revert_in=revert_in)
        outcome = None  # returned before the cut took effect: the timer reverts all the same
    except CommitError as lost:
        outcome = str(lost)
    alive = cutting.is_alive()["is_alive"]
    cutting.close()
    if outcome is not None and "lost the session" in outcome:
        assert "the revert timer puts the previous configuration back by itself" in outcome
        assert not alive  # closed: later calls fail at once rather than time out
    elif outcome is not None:  # the session came back only once the timer had fired
        assert "its revert timer fired before the commit was checked" in outcome

    back = open_when_reachable(lab, router, revert_in + 40)
    try:
        wait_until(lambda: not back.has_pending_commit(), 30, "the revert timer finishing")
        assert time.monotonic() - started < revert_in + 40
        after = back.get_config()
    finally:
        back.close()
    assert CUT_MANAGEMENT not in after["running"]
    assert after["running"] == before["running"]
    assert after["startup"] == before["startup"]


def _with_second_net(running: str) -> str:
    lines = running.splitlines(keepends=True)
    net = next(number for number, line in enumerate(lines) if line.startswith(" net 49."))
    return "".join([*lines[: net + 1], f"{SECOND_NET}\n", *lines[net + 1 :]])


@pytest.mark.parametrize(
    ("replace", "frr"),
    [
        (False, NARROW_METRICS),
        (False, f"router isis GIGALIS\n{SECOND_NET}\nexit\n"),
        (True, None),  # the running configuration with a second net
    ],
    ids=["merge-narrow-metrics", "merge-second-net", "replace-second-net"],
)
def test_a_change_frr_refuses_fails_the_commit_and_restores_both_halves(
    driver: FrrDriver, router: LabRouter, replace: bool, frr: str | None
) -> None:
    before = driver.get_config()
    kernel, running_frr = before["running"].split("! section: frr\n")
    if replace:
        candidate = f"{kernel}link {BRIDGE} type bridge\n! section: frr\n"
        candidate += _with_second_net(running_frr)
        driver.load_replace_candidate(config=candidate)
    else:
        candidate = f"! section: kernel\nlink {BRIDGE} type bridge\n! section: frr\n{frr}"
        driver.load_merge_candidate(config=candidate)

    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    message = str(failed.value)
    assert message.startswith(f"{router.management_address}: commit failed: FRR: ")
    assert "% Configuration failed" in message
    assert message.endswith("; the previous configuration was restored")
    after = driver.get_config()
    assert after["running"] == before["running"]  # both halves: no bridge either
    assert after["startup"] == before["startup"]  # and nothing saved


def test_a_failed_commit_leaves_rollback_to_the_last_good_one(
    driver: FrrDriver, router: LabRouter
) -> None:
    before = driver.get_config(retrieve="running")["running"]
    tunnel = f"type vxlan id 3999 local {router.loopback_ipv4}"
    driver.load_merge_candidate(config=f"! section: kernel\nlink {VXLAN} {tunnel}\n")
    driver.commit_config()
    # The kernel refuses a second tunnel with the same VNI, address and port.
    driver.load_merge_candidate(config=f"! section: kernel\nlink {OTHER_VXLAN} {tunnel}\n")
    with pytest.raises(CommitError) as failed:
        driver.commit_config()

    driver.rollback()

    assert driver.get_config(retrieve="running")["running"] == before
    # The failure named the line of the batch and the link, not just "Command failed -:1".
    assert str(failed.value).startswith(
        f"{router.management_address}: commit failed: kernel: {OTHER_VXLAN}: `link add"
        f" name {OTHER_VXLAN} type vxlan id 3999"
    )
    assert "(line 1 of the ip batch): Error: A VXLAN device with the specified VNI" in str(
        failed.value
    )


def test_a_bridge_mtu_holds_once_its_ports_join(driver: FrrDriver, router: LabRouter) -> None:
    if not router.customer_ports:
        pytest.skip(f"{router.hostname} has no customer port")
    port = router.customer_ports[-1]
    candidate = (
        f"! section: kernel\nlink {BRIDGE} type bridge mtu 9000\n"
        f"link {VXLAN} type vxlan id 3999 local {router.loopback_ipv4} master {BRIDGE}\n"
        f"port {port} master {BRIDGE}\n"
    )
    driver.load_merge_candidate(config=candidate)

    driver.commit_config()

    assert driver.get_interfaces()[BRIDGE]["mtu"] == 9000
    driver.load_merge_candidate(config=candidate)
    assert driver.compare_config() == ""
    driver.discard_config()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("link br:1 type bridge", "line 2: name: 'br:1' is not a valid interface name"),
        ("port lo master BR", "line 3: lo: a loopback cannot be a bridge port"),
        ("port mgmt0 master BR", "line 3: mgmt0: holds the address 198.51.100."),
    ],
)
def test_a_kernel_line_the_kernel_would_refuse_is_refused_at_load(
    driver: FrrDriver, line: str, reason: str
) -> None:
    kernel = f"link {BRIDGE} type bridge\n" if "master" in line else ""
    candidate = f"! section: kernel\n{kernel}{line.replace('BR', BRIDGE)}\n"

    with pytest.raises(MergeConfigException) as refused:
        driver.load_merge_candidate(config=candidate)

    assert reason in str(refused.value)


def test_the_state_folder_is_made_private_even_if_it_exists(
    driver: FrrDriver, router: LabRouter
) -> None:
    state = Path(router.device_state_dir)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # as labs made it before they made it private
    driver.load_merge_candidate(config=f"{PREFIX_LIST}\n")

    driver.commit_config(revert_in=30)
    driver.confirm_commit()

    assert state.stat().st_mode & 0o777 == 0o700
    modes = {path.name: path.stat().st_mode & 0o777 for path in state.iterdir()}
    assert modes
    assert set(modes.values()) == {0o600}, modes


def test_a_candidate_with_a_syntax_error_is_refused_and_nothing_changes(
    driver: FrrDriver,
) -> None:
    before = driver.get_config(retrieve="running")["running"]
    broken = before.replace(
        "! section: frr\n", f"! section: frr\ninterface {BRIDGE}\n descripton typo\nexit\n"
    )
    typo_line = broken.splitlines().index(" descripton typo") + 1

    with pytest.raises(ReplaceConfigException, match=rf"line {typo_line}: % Unknown command"):
        driver.load_replace_candidate(config=broken)

    with pytest.raises(CommitError, match="no candidate loaded"):
        driver.commit_config()
    assert driver.get_config(retrieve="running")["running"] == before


def test_stopped_frr_is_reported_as_a_connection_error(lab: LabState) -> None:
    router = lab.routers[0]
    baseline = _established_peers(lab, router)
    subprocess.run([FRRINIT, "stop", router.netns], check=True, capture_output=True)
    try:
        with pytest.raises(ConnectionException) as refused:
            open_driver(lab, router)
        assert str(refused.value) == (
            f"{router.management_address}: FRR is not running (pathspace {router.netns}):"
            " vtysh cannot connect to any of its daemons"
        )
    finally:
        # As the lab starts it: inside the router's namespaces, so FRR takes its hostname.
        start = [FRRINIT, "start", router.netns]
        subprocess.run(
            ["ip", "netns", "exec", router.netns, "nsenter", f"--uts={router.uts_file}", *start],
            check=True,
            capture_output=True,
        )
        wait_until(
            lambda: _established_peers(lab, router) >= baseline,
            120,
            f"{router.hostname}: BGP sessions back after FRR restart",
        )


def _established_peers(lab: LabState, router: LabRouter) -> set[str]:
    try:
        driver = open_driver(lab, router)
    except ConnectionException:
        return set()
    try:
        return {
            f"{vrf}/{address}"
            for vrf, table in driver.get_bgp_neighbors().items()
            for address, peer in table["peers"].items()
            if peer["is_up"]
        }
    finally:
        driver.close()
