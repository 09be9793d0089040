"""One FRR instance per lab router, each in its own pathspace named like its namespace:
``/etc/frr/<netns>/`` for its files, ``/var/run/frr/<netns>/`` for its sockets and pid
files, ``frrinit.sh start|stop <netns>`` to run it and ``vtysh -N <netns>`` to talk to it."""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path

from gigalis_nms.lab.plan import RouterPlan
from gigalis_nms.lab.state import LabRouter
from gigalis_nms.lab.system import (
    FRR_CONFIG_ROOT,
    FRR_RUN_ROOT,
    FRRINIT,
    in_router,
    run,
    start_time_of,
    tool,
)
from gigalis_nms.provisioning.templates import render_base

DAEMONS = ("zebra", "bgpd", "isisd", "staticd")
FRR_ACCOUNT = "frr"


def daemons_file(hostname: str) -> str:
    enabled = "".join(f"{daemon}=yes\n" for daemon in DAEMONS)
    # -P 0: no TCP vty port; vtysh -N reaches each daemon through its Unix socket.
    options = "".join(f'{daemon}_options="-P 0"\n' for daemon in DAEMONS)
    return (
        f"# FRR daemons of the lab router {hostname}; written by `gigalis lab up`.\n"
        f"{enabled}vtysh_enable=yes\n"
        "# watchfrr starts each daemon in the network namespace named like the pathspace.\n"
        'watchfrr_options="--netns"\n'
        f"{options}"
    )


def write_frr_files(router: RouterPlan) -> None:
    """``daemons``, ``frr.conf`` and ``vtysh.conf`` in the router's pathspace, owned by FRR's
    account as the Debian package sets up /etc/frr."""
    folder = FRR_CONFIG_ROOT / router.lab.netns
    folder.mkdir(mode=0o750, exist_ok=True)
    files = {
        "daemons": daemons_file(router.lab.hostname),
        "frr.conf": render_base("frr", router.config),
        "vtysh.conf": "service integrated-vtysh-config\n",
    }
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o640)
        shutil.chown(path, FRR_ACCOUNT, FRR_ACCOUNT)
    shutil.chown(folder, FRR_ACCOUNT, FRR_ACCOUNT)


def start_frr(router: LabRouter) -> None:
    # Started from inside the router's UTS namespace: FRR names itself after uname, and the
    # `hostname` line of frr.conf does not stick in FRR 8.4.
    run(in_router(router.netns, router.uts_file, [FRRINIT, "start", router.netns]))


def stop_frr(pathspace: str) -> bool:
    """Stop an instance through FRR's own pid files; True if it stopped cleanly."""
    if not (FRR_CONFIG_ROOT / pathspace / "daemons").exists():
        return False  # frrinit.sh cannot even read the instance's settings
    return run([FRRINIT, "stop", pathspace], check=False).returncode == 0


def frr_running(pathspace: str) -> bool:
    """Whether watchfrr and every daemon of the instance run, by their pid files."""
    names = ("watchfrr", *DAEMONS)
    return all(_pid_file_alive(FRR_RUN_ROOT / pathspace / f"{name}.pid") for name in names)


def _pid_file_alive(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    return start_time_of(pid) is not None


def vtysh_json(pathspace: str, command: str) -> object:
    result = run([tool("vtysh"), "-N", pathspace, "-c", command], check=False)
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def isis_up_ports(pathspace: str) -> dict[str, str]:
    """Port -> neighbour's hostname, for every IS-IS adjacency in state Up."""
    answer = vtysh_json(pathspace, "show isis neighbor json")
    up: dict[str, str] = {}
    if not isinstance(answer, dict):
        return up
    for area in answer.get("areas", []):
        for circuit in area.get("circuits", []):
            if circuit.get("state") == "Up" and "interface" in circuit:
                up[circuit["interface"]] = circuit.get("adj", "")
    return up


def bgp_sessions(pathspace: str) -> tuple[int, int]:
    """(established, configured) iBGP sessions."""
    answer = vtysh_json(pathspace, "show bgp neighbors json")
    if not isinstance(answer, dict):
        return 0, 0
    peers = {key: value for key, value in answer.items() if _is_address(key)}
    established = sum(1 for peer in peers.values() if peer.get("bgpState") == "Established")
    return established, len(peers)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def pathspace_folders(prefix: str) -> list[Path]:
    """FRR folders of every pathspace starting with ``prefix``: /etc/frr/<p>, /var/run/frr/<p>
    (FRR leaves the latter behind when it stops)."""
    folders: list[Path] = []
    for root in (FRR_CONFIG_ROOT, FRR_RUN_ROOT):
        if root.is_dir():
            folders += sorted(p for p in root.iterdir() if p.name.startswith(prefix))
    return folders
