"""What a lab is made of, as others read it: routers, links, operator CPEs, and how to reach
each router. Written to ``<runtime dir>/state.json`` by ``lab up`` and read back by the NAPALM
driver's tests, Nornir and ``lab status``.

The file also carries the lab's *build record*: the phase the build reached and every process
the lab started, with its pid, so that ``lab down`` stops exactly those and nothing else.
The record is written before each thing it names is created, so that even an interrupted
``up`` leaves enough behind for ``down`` to clean up.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_RUNTIME_DIR = Path("/run/gigalis-lab")
STATE_FILE = "state.json"
STATE_FORMAT = 1


@dataclass(frozen=True)
class LabRouter:
    hostname: str  # inventory hostname, e.g. "nte1-cr1"
    site: str  # site code
    platform: str  # inventory platform (frr, or junos/eos/iosxr for stand-ins)
    netns: str  # "gl-nte1-cr1"; also the FRR pathspace
    uts_file: str  # the bind-mounted UTS namespace file
    management_address: str  # "198.51.100.11"
    loopback_ipv4: str  # "192.0.2.N"
    loopback_ipv6: str
    lldpd_socket: str
    device_state_dir: str  # device-side folder for the driver (candidate, rollback files)
    backbone_ports: tuple[str, ...]  # Linux port names on backbone links
    customer_ports: tuple[str, ...]
    port_names: dict[str, str]  # inventory name -> Linux name (may be the same)


@dataclass(frozen=True)
class LabLink:
    """A backbone link built as a veth pair; addresses carry their length ("203.0.113.0/31")."""

    code: str
    a_host: str
    a_port: str  # Linux name
    z_host: str
    z_port: str
    a_address: str
    z_address: str
    igp_metric: int
    enabled: bool  # both ends enabled in the inventory: an IS-IS adjacency is expected


@dataclass(frozen=True)
class LabCpePort:
    router: str  # hostname
    router_port: str  # Linux name on the router
    cpe_ifname: str  # the other end, inside the CPE namespace


@dataclass(frozen=True)
class LabCpe:
    """One operator's equipment at one site: every hand-off port of that operator there."""

    namespace: str  # "gl-cpe-nte1-orng"
    operator: str  # ARCEP code, e.g. "ORNG"
    site: str
    ports: tuple[LabCpePort, ...]


@dataclass(frozen=True)
class LabState:
    runtime_dir: str
    sites: tuple[str, ...]
    ssh_user: str  # "root"
    ssh_key_file: str
    known_hosts_file: str
    routers: tuple[LabRouter, ...]
    links: tuple[LabLink, ...]
    cpes: tuple[LabCpe, ...]

    def router(self, hostname: str) -> LabRouter:
        for router in self.routers:
            if router.hostname == hostname:
                return router
        raise KeyError(f"no router {hostname!r} in the lab")

    def napalm_optional_args(self, router: LabRouter, transport: str = "ssh") -> dict[str, object]:
        """The FRR driver's optional_args for ``router``; NAPALM's hostname is the management
        address, its username ``ssh_user`` and its password empty (the lab key is used)."""
        common: dict[str, object] = {
            "pathspace": router.netns,
            "state_dir": router.device_state_dir,
            "lldpd_socket": router.lldpd_socket,
        }
        if transport == "ssh":
            return {
                "transport": "ssh",
                "key_file": self.ssh_key_file,
                "known_hosts_file": self.known_hosts_file,
                **common,
            }
        if transport == "netns":
            return {
                "transport": "netns",
                "netns": router.netns,
                "uts_file": router.uts_file,
                **common,
            }
        raise ValueError(f"transport: {transport!r} is neither 'ssh' nor 'netns'")


class BuildPhase(StrEnum):
    BUILDING = "building"  # up has started creating things; down must clean up
    RUNNING = "running"  # everything is created and every process started


@dataclass(frozen=True)
class StartedProcess:
    """A process the lab started itself (sshd, lldpd). ``start_time`` is the kernel's start
    tick of the process: with it, a pid the kernel has since given to another process is
    never mistaken for ours."""

    role: str  # "sshd" or "lldpd"
    router: str
    pid: int
    start_time: int


@dataclass(frozen=True)
class LabRecord:
    """The state file: the lab as others read it, plus what ``down`` needs to undo it."""

    state: LabState
    phase: BuildPhase
    processes: tuple[StartedProcess, ...] = ()
    # System folders that did not exist before this lab made them (/run/sshd, the lldpd
    # chroot): down removes them unless another sshd or lldpd on the machine uses them.
    created_system_dirs: tuple[str, ...] = ()

    def with_process(self, process: StartedProcess) -> LabRecord:
        return replace(self, processes=(*self.processes, process))


def state_file(runtime_dir: Path) -> Path:
    return runtime_dir / STATE_FILE


def write_record(record: LabRecord) -> None:
    """Write atomically: a reader (or an interrupted writer) never sees half a file."""
    path = state_file(Path(record.state.runtime_dir))
    document = {"format": STATE_FORMAT, **asdict(record)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)


def read_record(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> LabRecord | None:
    path = state_file(runtime_dir)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if document.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: unknown state format {document.get('format')!r}")
    return _record_from_json(document)


def read_lab_state(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> LabState | None:
    """The lab described by the state file, or None when no lab has been built."""
    record = read_record(runtime_dir)
    return record.state if record else None


def _record_from_json(document: dict[str, Any]) -> LabRecord:
    state = document["state"]
    return LabRecord(
        state=LabState(
            runtime_dir=state["runtime_dir"],
            sites=tuple(state["sites"]),
            ssh_user=state["ssh_user"],
            ssh_key_file=state["ssh_key_file"],
            known_hosts_file=state["known_hosts_file"],
            routers=tuple(_router_from_json(router) for router in state["routers"]),
            links=tuple(LabLink(**link) for link in state["links"]),
            cpes=tuple(_cpe_from_json(cpe) for cpe in state["cpes"]),
        ),
        phase=BuildPhase(document["phase"]),
        processes=tuple(StartedProcess(**process) for process in document["processes"]),
        created_system_dirs=tuple(document["created_system_dirs"]),
    )


def _router_from_json(router: dict[str, Any]) -> LabRouter:
    return LabRouter(
        **{
            **router,
            "backbone_ports": tuple(router["backbone_ports"]),
            "customer_ports": tuple(router["customer_ports"]),
        }
    )


def _cpe_from_json(cpe: dict[str, Any]) -> LabCpe:
    return LabCpe(
        namespace=cpe["namespace"],
        operator=cpe["operator"],
        site=cpe["site"],
        ports=tuple(LabCpePort(**port) for port in cpe["ports"]),
    )
