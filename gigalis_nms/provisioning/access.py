"""Where jobs, drift checks and backups reach devices: the production routers of the
inventory, or the routers of the running lab.

Both give a Nornir over the wanted hosts (built by the Gigalis inventory plugin) and the
base configuration those routers are meant to run: for production, the one computed from the
whole inventory; for the lab, exactly the one the lab built (its iBGP plan covers only the
routers that are up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nornir import InitNornir
from nornir.core import Nornir
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit, Device, Interface
from gigalis_nms.lab.state import LabState, read_lab_state
from gigalis_nms.provisioning.credentials import check_credentials
from gigalis_nms.provisioning.devices import NAPALM_CONNECTION
from gigalis_nms.provisioning.models import CircuitDesign
from gigalis_nms.provisioning.render import BaseConfigs, lab_base_configs, production_base_configs
from gigalis_nms.settings import DeviceSource, Settings, get_settings

INVENTORY_PLUGIN = "GigalisInventory"
# Enough parallel sessions for a large job without opening hundreds of SSH connections.
MAX_WORKERS = 50


def _init_nornir(options: dict[str, object], workers: int, timeout: int | None = None) -> Nornir:
    nornir = InitNornir(
        runner={
            "plugin": "threaded",
            "options": {"num_workers": max(1, min(workers, MAX_WORKERS))},
        },
        inventory={"plugin": INVENTORY_PLUGIN, "options": options},
        # Nornir's own logging writes nornir.log into the working folder; ours goes to the
        # service's log instead.
        logging={"enabled": False},
    )
    if timeout is not None:
        # NAPALM's own timeout, for each device's session: how long a device that stopped
        # answering holds a job up before it counts as failed.
        for host in nornir.inventory.hosts.values():
            connection = host.connection_options[NAPALM_CONNECTION]
            connection.extras = {**(connection.extras or {}), "timeout": timeout}
    return nornir


# Platforms whose templates describe a router's whole configuration, so that loading them as
# a replace leaves nothing out. The junos, eos and iosxr templates hold the base and the
# services only (no management access, users, logging): checked against golden files, never
# against a device, they would cut a production router off if loaded as a replace.
WHOLE_CONFIGURATION_PLATFORMS = frozenset({"frr"})
LIVE_STATUSES = (
    CircuitStatus.DESIGNED,
    CircuitStatus.PROVISIONING,
    CircuitStatus.ACTIVE,
    CircuitStatus.SUSPENDED,
)


def undesigned_circuits(session: Session, hostnames: Sequence[str]) -> dict[str, list[str]]:
    """Hostname → references of live E-Lines ending on it that have no design: configured by
    hand before Gigalis managed the routers, so absent from the intended configuration."""
    designed = select(CircuitDesign.circuit_id)
    rows = session.exec(
        select(Device.hostname, Circuit.ref)
        .join(Interface, col(Interface.device_id) == col(Device.id))
        .join(
            Circuit,
            (col(Circuit.a_interface_id) == col(Interface.id))
            | (col(Circuit.z_interface_id) == col(Interface.id)),
        )
        .where(col(Device.hostname).in_(hostnames))
        .where(col(Circuit.service_type) == ServiceType.ETHERNET_ELINE)
        .where(col(Circuit.status).in_(LIVE_STATUSES))
        .where(col(Circuit.id).not_in(designed))
    ).all()
    found: dict[str, list[str]] = {}
    for hostname, ref in rows:
        found.setdefault(hostname, []).append(ref)
    return {hostname: sorted(set(refs)) for hostname, refs in found.items()}


def production_refusals(session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
    """Production routers a job must not replace the configuration of, and why."""
    platforms = dict(
        session.exec(
            select(Device.hostname, Device.platform).where(col(Device.hostname).in_(hostnames))
        ).all()
    )
    problems = [
        FieldProblem(
            "device",
            f"{hostname} runs {platform}, whose templates do not describe a whole"
            " configuration (management access, users): jobs change only platforms in "
            + ", ".join(sorted(WHOLE_CONFIGURATION_PLATFORMS)),
        )
        for hostname, platform in sorted(platforms.items())
        if platform not in WHOLE_CONFIGURATION_PLATFORMS
    ]
    for hostname, refs in sorted(undesigned_circuits(session, hostnames).items()):
        problems.append(
            FieldProblem(
                "device",
                f"{hostname} carries {', '.join(refs)}, configured by hand before Gigalis"
                " managed it: a replace of its configuration would remove them (design them"
                " or take them off the router first)",
            )
        )
    return problems


@dataclass(frozen=True)
class InventoryAccess:
    """The production routers, with credentials from the settings or the secret file."""

    database_url: str
    credentials_file: Path | None = None
    timeout: int | None = None  # seconds; NAPALM's default (60) when None

    @property
    def target(self) -> str:
        return DeviceSource.INVENTORY.value

    def nornir(self, hostnames: Sequence[str]) -> Nornir:
        options: dict[str, object] = {
            "database_url": self.database_url,
            "devices": list(hostnames),
        }
        if self.credentials_file is not None:
            options["credentials_file"] = str(self.credentials_file)
        return _init_nornir(options, len(hostnames), self.timeout)

    def base_configs(self, session: Session) -> BaseConfigs:
        return production_base_configs(session)

    def refusals(self, session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
        # Logins first: a job queued by an order inside `gigalis serve` must fail with the
        # reason, before any connection, on a service that was never given router logins
        # (the embedded default), rather than knock at the management addresses.
        return login_problems(self.credentials_file) + production_refusals(session, hostnames)


def login_problems(credentials_file: Path | None) -> list[FieldProblem]:
    """Why the production routers' logins cannot work, from the settings and the file."""
    try:
        check_credentials(get_settings(), credentials_file)
    except InvalidInput as refused:
        return refused.problems
    return []


@dataclass(frozen=True)
class LabAccess:
    """The routers of the running lab, over SSH on its management network."""

    database_url: str
    state: LabState
    timeout: int | None = None  # seconds; NAPALM's default (60) when None

    @property
    def target(self) -> str:
        return DeviceSource.LAB.value

    def nornir(self, hostnames: Sequence[str]) -> Nornir:
        options: dict[str, object] = {
            "database_url": self.database_url,
            "devices": list(hostnames),
            "lab_runtime_dir": self.state.runtime_dir,
        }
        return _init_nornir(options, len(hostnames), self.timeout)

    def base_configs(self, session: Session) -> BaseConfigs:
        return lab_base_configs(session, self.state)

    def refusals(self, session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
        # The lab's routers run what the lab rendered for them, and circuits only from jobs:
        # the inventory's hand-made circuits were never configured there, and its junos, eos
        # and iosxr routers are FRR stand-ins.
        return []


def access_from_settings(settings: Settings, engine: Engine) -> InventoryAccess | LabAccess:
    """The routers the settings name (``GIGALIS_DEVICES``): production's, or the lab's."""
    url = engine.url.render_as_string(hide_password=False)
    if settings.devices is DeviceSource.LAB:
        state = read_lab_state(settings.lab_runtime_dir)
        if state is None:
            raise InvalidInput.of(
                "GIGALIS_DEVICES",
                f"lab: no lab is up (no state in {settings.lab_runtime_dir}); `gigalis lab up`",
            )
        return LabAccess(url, state)
    return InventoryAccess(url, settings.device_credentials_file)
