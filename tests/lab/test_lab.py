"""The default lab, built once for the session from the real inventory, with real FRR, sshd
and lldpd: routing converges, every router answers on its management address with the lab's
key, neighbours see each other, operators' CPEs hang off their hand-off ports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from gigalis_nms.cli import app
from gigalis_nms.lab import LabState, lab_status, lab_up, read_lab_state
from gigalis_nms.lab.frr import bgp_sessions
from gigalis_nms.lab.health import expected_adjacencies, missing_adjacencies
from gigalis_nms.lab.lldpd import lldp_neighbors
from gigalis_nms.lab.state import read_record
from tests.conftest import need


def eventually(check: Callable[[], list[str]], seconds: float) -> list[str]:
    """Poll ``check`` (what is still wrong) until it is empty or time is up."""
    deadline = time.monotonic() + seconds
    while (wrong := check()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return wrong


def in_netns(netns: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *command], capture_output=True, text=True, check=False
    )


def links_in(netns: str) -> dict[str, dict[str, Any]]:
    """The namespace's links by name, as ``ip -json link show`` describes them."""
    result = subprocess.run(
        ["ip", "-n", netns, "-json", "link", "show"], capture_output=True, text=True, check=True
    )
    return {link["ifname"]: link for link in json.loads(result.stdout)}


def test_isis_adjacencies_are_up_on_every_backbone_link(lab: LabState) -> None:
    expected = expected_adjacencies(lab)
    assert sum(len(ports) for ports in expected.values()) == 2 * len(lab.links) == 24
    assert missing_adjacencies(lab) == []


def test_every_loopback_is_reachable_from_every_router(lab: LabState) -> None:
    need(shutil.which("ping") is not None, "ping (Debian iputils-ping)")
    pairs = [
        (router.netns, address)
        for router in lab.routers
        for other in lab.routers
        for address in (other.loopback_ipv4, other.loopback_ipv6)
    ]

    def unreachable(pair: tuple[str, str]) -> str | None:
        netns, address = pair
        answer = in_netns(netns, "ping", "-c", "1", "-W", "2", address)
        return None if answer.returncode == 0 else f"{netns} -> {address}"

    def still_unreachable() -> list[str]:
        with ThreadPoolExecutor(max_workers=16) as pool:
            return [failure for failure in pool.map(unreachable, pairs) if failure]

    assert len(pairs) == 9 * 9 * 2
    assert eventually(still_unreachable, 20) == []


def test_ssh_reaches_every_router_with_the_lab_key_and_strict_host_checking(
    lab: LabState, tmp_path: Path
) -> None:
    def ssh(
        router_address: str, known_hosts: str, command: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "ssh",
                "-i",
                lab.ssh_key_file,
                "-o",
                f"UserKnownHostsFile={known_hosts}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
                f"{lab.ssh_user}@{router_address}",
                command,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    for router in lab.routers:
        answer = ssh(
            router.management_address,
            lab.known_hosts_file,
            f"vtysh -N {router.netns} -c 'show version'",
        )
        assert answer.returncode == 0, answer.stderr
        # FRR names itself after the UTS namespace it was started in: the router's own.
        assert re.search(rf"^FRRouting \S+ \({router.hostname}\)", answer.stdout, re.M)

    unknown = tmp_path / "empty_known_hosts"
    unknown.write_text("")
    refused = ssh(lab.routers[0].management_address, str(unknown), "true")
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stderr


def test_lldp_neighbours_are_seen_on_backbone_ports(lab: LabState) -> None:
    expected = expected_adjacencies(lab)

    def missing() -> list[str]:
        wrong = []
        for router in lab.routers:
            seen = lldp_neighbors(router)
            for port, neighbour in expected[router.hostname].items():
                if seen.get(port) != neighbour:
                    wrong.append(f"{router.hostname} {port}: {seen.get(port)} != {neighbour}")
            # lldpd runs on backbone ports only, not on customer ports or mgmt0
            assert set(seen) <= set(router.backbone_ports)
        return wrong

    assert eventually(missing, 20) == []


def test_cpe_namespaces_hang_off_the_hand_off_ports(lab: LabState) -> None:
    assert len(lab.cpes) == 10
    for cpe in lab.cpes:
        by_name = links_in(cpe.namespace)
        for port in cpe.ports:
            link = by_name[port.cpe_ifname]
            inventory_port = next(
                name
                for name, linux in lab.router(port.router).port_names.items()
                if linux == port.router_port
            )
            assert link["ifalias"] == f"{port.router} {inventory_port}"
            assert link["operstate"] == "UP"  # carrier: the router's end is there and up


def test_spare_ports_exist_with_nothing_attached(lab: LabState) -> None:
    router = lab.router("nte1-cr2")
    by_name = links_in(router.netns)
    for spare in ("eth11", "eth12", "eth13"):  # "spare" in the inventory
        assert "NO-CARRIER" in by_name[spare]["flags"]
    assert "NO-CARRIER" in by_name["eth1"]["flags"]  # to snz1-cr1, outside the default lab
    assert "LOWER_UP" in by_name["eth10"]["flags"]  # the Orange wavelength hand-off


def test_ibgp_sessions_establish(lab: LabState) -> None:
    def down() -> list[str]:
        wrong = []
        for router in lab.routers:
            established, configured = bgp_sessions(router.netns)
            if configured == 0 or established < configured:
                wrong.append(f"{router.hostname}: {established}/{configured}")
        return wrong

    assert eventually(down, 60) == []


def test_status_says_fully_up(lab: LabState, monkeypatch: pytest.MonkeyPatch) -> None:
    health = lab_status()
    assert health is not None
    assert health.fully_up
    assert [router.hostname for router in health.routers] == [r.hostname for r in lab.routers]
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["lab", "status"])
    assert result.exit_code == 0, result.output
    assert "The lab is fully up." in result.output


def test_up_again_changes_nothing(lab: LabState, inventory_engine: Engine) -> None:
    before = read_record()
    assert lab_up(inventory_engine, None) == lab
    assert read_record() == before
    assert read_lab_state() == lab
