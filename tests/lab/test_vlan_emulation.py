"""VLAN sub-interfaces emulated with veth pairs, tc and eBPF (``devices/frr/vlan_emulation``),
proved on namespaces of this module's own; the shared lab is not used::

    CPE A  c0 ═══ p1  router A  t0 ═══ t0  router B  p1 ═══ c0  CPE B
    c0.100, c0.200    p1.100 in br100 with vx100, p1.200 in br200 with vx200

The routers' kernel sections are applied by the driver's own kernel code (``RouterKernel``
through the netns transport), the CPEs' sub-interfaces by ``gigalis_nms.lab.cpe``; every one
of them is emulated, whatever this kernel has. Frames are caught with packet sockets (a small
listener run inside a namespace: this machine has no tcpdump), which also tell whether a frame
arrived with a VLAN tag. Last, the whole driver runs the configuration cycle on a router
namespace of its own, with its own FRR instance.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gigalis_nms.devices.frr import FrrDriver
from gigalis_nms.devices.frr.kernel import expected_objects, parse_kernel_section
from gigalis_nms.devices.frr.kernel_access import RouterKernel
from gigalis_nms.devices.frr.router import Router
from gigalis_nms.devices.frr.transport import NetnsTransport
from gigalis_nms.devices.frr.vlan_emulation import DETECT_8021Q, hidden_end
from gigalis_nms.lab.cpe import add_cpe_vlan, remove_cpe_vlan
from tests.conftest import need
from tests.lab.frames import FRAMES, Tap, frames_seen

FRRINIT = "/usr/lib/frr/frrinit.sh"
LOCK = Path("/run/lock/gigalis-vlan-emulation-test.lock")
CPE_A, ROUTER_A, ROUTER_B, CPE_B = "glv-ca", "glv-ra", "glv-rb", "glv-cb"
FRR_ROUTER, FRR_PEER = "glv-fr", "glv-fc"
TRUNK = {ROUTER_A: ("198.51.100.1", "198.51.100.2"), ROUTER_B: ("198.51.100.2", "198.51.100.1")}
# Each VLAN's CPE addresses, in a subnet of their own.
ADDRESSES = {100: ("203.0.113.1/28", "203.0.113.2/28"), 200: ("203.0.113.17/28", "203.0.113.18/28")}
IN = ["ip", "netns", "exec"]


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


def in_ns(namespace: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", namespace, *argv, check=check)


def remove_namespaces(*namespaces: str) -> None:
    for namespace in namespaces:
        sh("ip", "netns", "del", namespace, check=False)


@pytest.fixture(scope="module")
def this_module_alone() -> Iterator[None]:
    """Another run of this module on the machine waits until this one ends."""
    need(os.geteuid() == 0, "network namespaces need root")
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class Fabric:
    objects: str  # the routers' eBPF objects (the driver keeps them in its state folder)

    def router_kernel(self, namespace: str) -> RouterKernel:
        transport = NetnsTransport(namespace)
        transport.open()
        return RouterKernel(Router(namespace, transport, None), self.objects, "emulated")


def router_section(namespace: str, vlans: tuple[int, ...]) -> str:
    local, remote = TRUNK[namespace]
    return "".join(
        f"link br{vlan} type bridge\n"
        f"link p1.{vlan} type vlan link p1 id {vlan} master br{vlan}\n"
        f"link vx{vlan} type vxlan id {vlan} local {local} remote {remote} nolearning"
        f" master br{vlan}\n"
        for vlan in vlans
    )


def configure_router(fabric: Fabric, namespace: str, vlans: tuple[int, ...]) -> None:
    """Replace the router's kernel section, as a driver commit's kernel step does."""
    kernel = fabric.router_kernel(namespace)
    state = kernel.state()
    wanted = parse_kernel_section(router_section(namespace, vlans))
    change = kernel.plan(state, expected_objects(state.objects, wanted, replace=True))
    assert kernel.apply(change) is None


FABRIC = (CPE_A, ROUTER_A, ROUTER_B, CPE_B)


@pytest.fixture(scope="module")
def fabric(this_module_alone: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fabric]:
    need(shutil.which("tc") is not None, "tc (iproute2) is needed for the emulation")
    remove_namespaces(*FABRIC)  # an interrupted run's
    try:
        built = Fabric(str(tmp_path_factory.mktemp("vlan-objects")))
        build_fabric(built)
        yield built
    finally:
        remove_namespaces(*FABRIC)


def build_fabric(fabric: Fabric) -> None:
    for namespace in FABRIC:
        sh("ip", "netns", "add", namespace)
        # No IPv6: its neighbour discovery would add frames to the counts.
        in_ns(namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        in_ns(namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
    cables = [(CPE_A, "c0", ROUTER_A, "p1"), (ROUTER_A, "t0", ROUTER_B, "t0")]
    cables.append((CPE_B, "c0", ROUTER_B, "p1"))
    for a_ns, a_port, z_ns, z_port in cables:
        sh(
            "ip",
            "link",
            "add",
            a_port,
            "netns",
            a_ns,
            "type",
            "veth",
            "peer",
            z_port,
            "netns",
            z_ns,
        )
    for namespace, port in ((CPE_A, "c0"), (CPE_B, "c0"), (ROUTER_A, "p1"), (ROUTER_B, "p1")):
        sh("ip", "-n", namespace, "link", "set", port, "up")
    for namespace, (local, _) in TRUNK.items():
        sh("ip", "-n", namespace, "addr", "add", f"{local}/30", "dev", "t0")
        sh("ip", "-n", namespace, "link", "set", "t0", "up")
    for namespace in (ROUTER_A, ROUTER_B):
        configure_router(fabric, namespace, (100, 200))
    for vlan, (a_address, b_address) in ADDRESSES.items():
        add_cpe_vlan(CPE_A, "c0", vlan, a_address, vlan_mode="emulated")
        add_cpe_vlan(CPE_B, "c0", vlan, b_address, vlan_mode="emulated")


SUBINTERFACES = {
    "router A p1.100": Tap(ROUTER_A, "p1.100"),
    "router A p1.200": Tap(ROUTER_A, "p1.200"),
    "CPE B c0.100": Tap(CPE_B, "c0.100"),
    "CPE B c0.200": Tap(CPE_B, "c0.200"),
}


def ping(namespace: str, address: str) -> bool:
    return (
        in_ns(namespace, "ping", "-c", "3", "-i", "0.2", "-W", "1", address, check=False).returncode
        == 0
    )


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vlan", [100, 200])
def test_the_cpes_of_a_vlan_ping_each_other_through_emulated_subinterfaces(
    fabric: Fabric, vlan: int
) -> None:
    far = ADDRESSES[vlan][1].split("/")[0]

    assert ping(CPE_A, far)


def test_a_vlan_100_frame_is_tagged_on_the_wire_and_untagged_on_every_subinterface(
    fabric: Fabric,
) -> None:
    taps = {"router A p1 (the wire)": Tap(ROUTER_A, "p1"), **SUBINTERFACES}

    seen = frames_seen(taps, Tap(CPE_A, "c0.100"), 0)

    assert seen == {
        "router A p1 (the wire)": [100] * FRAMES,
        "router A p1.100": [None] * FRAMES,
        "router A p1.200": [],
        "CPE B c0.100": [None] * FRAMES,
        "CPE B c0.200": [],
    }


def test_a_frame_tagged_200_never_reaches_the_vlan_100_side(fabric: Fabric) -> None:
    seen = frames_seen(SUBINTERFACES, Tap(CPE_A, "c0"), 200)

    assert seen == {
        "router A p1.100": [],
        "router A p1.200": [None] * FRAMES,
        "CPE B c0.100": [],
        "CPE B c0.200": [None] * FRAMES,
    }


@pytest.mark.parametrize("vlan", [0, 300], ids=["untagged", "undeclared-vlan-300"])
def test_untagged_and_undeclared_vlan_frames_reach_no_subinterface(
    fabric: Fabric, vlan: int
) -> None:
    seen = frames_seen(SUBINTERFACES, Tap(CPE_A, "c0"), vlan)

    assert seen == {name: [] for name in SUBINTERFACES}


def test_a_router_reads_its_emulated_links_back_and_a_recommit_plans_nothing(
    fabric: Fabric,
) -> None:
    kernel = fabric.router_kernel(ROUTER_A)
    state = kernel.state()
    wanted = parse_kernel_section(router_section(ROUTER_A, (100, 200)))

    change = kernel.plan(state, expected_objects(state.objects, wanted, replace=True))

    assert not change, change.lines()
    assert all(state.emulated[f"p1.{vlan}"].intact for vlan in (100, 200))


def tc_preferences(namespace: str, device: str) -> set[int]:
    result = in_ns(namespace, "tc", "-j", "filter", "show", "dev", device, "ingress")
    return {entry["pref"] for entry in json.loads(result.stdout or "[]")}


def links_of(namespace: str) -> set[str]:
    result = sh("ip", "-n", namespace, "-j", "link", "show")
    return {link["ifname"] for link in json.loads(result.stdout)}


def test_removing_vlan_200_takes_its_pairs_and_filters_and_leaves_vlan_100(fabric: Fabric) -> None:
    configure_router(fabric, ROUTER_A, (100,))
    remove_cpe_vlan(CPE_A, "c0", 200)
    remove_cpe_vlan(CPE_A, "c0", 200)  # again: nothing to do

    assert tc_preferences(ROUTER_A, "p1") == {40100}
    assert tc_preferences(CPE_A, "c0") == {40100}
    assert {"p1.200", hidden_end("p1.200"), "br200", "vx200"}.isdisjoint(links_of(ROUTER_A))
    assert {"c0.200", hidden_end("c0.200")}.isdisjoint(links_of(CPE_A))
    assert not ping(CPE_A, ADDRESSES[200][1].split("/")[0])
    assert ping(CPE_A, ADDRESSES[100][1].split("/")[0])


# --- the whole driver, on a router of its own -------------------------------------------------


@pytest.fixture
def frr_router(this_module_alone: None) -> Iterator[None]:
    """A router namespace running its own FRR instance (pathspace named like it), its port
    p1 cabled to a CPE namespace's port p1."""
    need(os.access(FRRINIT, os.X_OK), f"{FRRINIT} missing: install frr")
    stop_frr()
    remove_namespaces(FRR_ROUTER, FRR_PEER)
    try:
        for namespace in (FRR_ROUTER, FRR_PEER):
            sh("ip", "netns", "add", namespace)
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
        peer = ["peer", "p1", "netns", FRR_PEER]
        sh("ip", "link", "add", "p1", "netns", FRR_ROUTER, "type", "veth", *peer)
        for namespace in (FRR_ROUTER, FRR_PEER):
            sh("ip", "-n", namespace, "link", "set", "p1", "up")
        start_frr()
        yield
    finally:
        stop_frr()
        remove_namespaces(FRR_ROUTER, FRR_PEER)


def start_frr() -> None:
    folder = Path("/etc/frr") / FRR_ROUTER
    folder.mkdir(mode=0o750, exist_ok=True)
    files = {
        # -P 0: no TCP vty port; vtysh -N reaches the daemons through their sockets.
        "daemons": 'zebra=yes\nstaticd=yes\nvtysh_enable=yes\nwatchfrr_options="--netns"\n'
        'zebra_options="-P 0"\nstaticd_options="-P 0"\n',
        "frr.conf": "frr defaults traditional\n!\n",
        "vtysh.conf": "service integrated-vtysh-config\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o640)
        shutil.chown(folder / name, "frr", "frr")
    shutil.chown(folder, "frr", "frr")
    in_ns(FRR_ROUTER, FRRINIT, "start", FRR_ROUTER)


def stop_frr() -> None:
    if (Path("/etc/frr") / FRR_ROUTER / "daemons").exists():
        sh(FRRINIT, "stop", FRR_ROUTER, check=False)
    shutil.rmtree(Path("/etc/frr") / FRR_ROUTER, ignore_errors=True)
    shutil.rmtree(Path("/var/run/frr") / FRR_ROUTER, ignore_errors=True)


KERNEL_SECTION = (
    "! section: kernel\nlink br300 type bridge\nlink p1.300 type vlan link p1 id 300 master br300\n"
)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.5)


def test_the_driver_commits_reads_back_reverts_and_rolls_back_an_emulated_vlan(
    frr_router: None, tmp_path: Path
) -> None:
    emulated = in_ns(FRR_ROUTER, *DETECT_8021Q, check=False).returncode != 0
    optional_args = {"transport": "netns", "netns": FRR_ROUTER, "pathspace": FRR_ROUTER}
    optional_args["state_dir"] = str(tmp_path / "state")
    driver = FrrDriver(FRR_ROUTER, "root", "", timeout=30, optional_args=optional_args)
    driver.open()
    try:
        driver.load_replace_candidate(config=KERNEL_SECTION)
        assert driver.compare_config() == (
            "! section: kernel\n--- running\n+++ candidate\n@@ -0,0 +1,2 @@\n"
            "+link br300 type bridge\n+link p1.300 type vlan link p1 id 300 master br300\n"
        )
        driver.commit_config()

        running = driver.get_config(retrieve="running")["running"]
        assert "\nlink p1.300 type vlan link p1 id 300 master br300 mtu 1500\n" in running
        if emulated:
            assert hidden_end("p1.300") in links_of(FRR_ROUTER)
            assert tc_preferences(FRR_ROUTER, "p1") == {40300}
        # The link carries traffic: the CPE reaches an address on the circuit's bridge.
        sh("ip", "-n", FRR_ROUTER, "addr", "add", "192.0.2.1/24", "dev", "br300")
        add_cpe_vlan(FRR_PEER, "p1", 300, "192.0.2.2/24")
        assert ping(FRR_PEER, "192.0.2.1")

        driver.load_replace_candidate(config=KERNEL_SECTION)
        assert driver.compare_config() == ""  # read back as it was declared
        driver.discard_config()

        # A commit that removes it, not confirmed: its timer makes it again, filters too.
        driver.load_replace_candidate(config="! section: kernel\n")
        driver.commit_config(revert_in=2)
        assert "p1.300" not in links_of(FRR_ROUTER)
        wait_until(lambda: not driver.has_pending_commit(), 20, "the revert timer")
        running = driver.get_config(retrieve="running")["running"]
        assert "\nlink p1.300 type vlan link p1 id 300 master br300 mtu 1500\n" in running
        # The bridge was made again without the address (no business of the driver's), and
        # with another MAC address, which the CPE must learn again.
        sh("ip", "-n", FRR_ROUTER, "addr", "add", "192.0.2.1/24", "dev", "br300")
        sh("ip", "-n", FRR_PEER, "neigh", "flush", "dev", "p1.300")
        assert ping(FRR_PEER, "192.0.2.1")

        driver.rollback()  # to before the first commit: no VLAN link, no filter, no bridge
        assert {"p1.300", hidden_end("p1.300"), "br300"}.isdisjoint(links_of(FRR_ROUTER))
        assert tc_preferences(FRR_ROUTER, "p1") == set()
        assert driver.get_config(retrieve="running")["running"].startswith(
            "! section: kernel\n! section: frr\n"
        )
    finally:
        driver.close()
