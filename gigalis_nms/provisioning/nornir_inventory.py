"""The Nornir inventory of the network, read from the database: the ``GigalisInventory`` plugin.

One host per device, named by its hostname and reached at its management address through
NAPALM, with the driver of its platform. Hosts belong to the groups ``site_<code>``,
``role_<role>`` and ``platform_<platform>`` (the inventory platform) and carry the site,
role, device id, inventory platform and status as data. Logins come from the settings or the
credentials file (:mod:`gigalis_nms.provisioning.credentials`) and live in memory only.

Only devices that are *active* or *staged* are hosts: a staged router is installed and
reachable, being prepared for service (its base configuration is pushed then); a planned one
is not there yet, and an offline, decommissioning or retired one is not to be touched.

Given a lab (``lab_state``, or ``lab_runtime_dir`` to read it from), the hosts are the
devices that are routers of the running lab, reached as the lab reaches them: over SSH on
the lab's management network with its key, through the FRR driver, which every lab router
runs (stand-ins for other platforms included).

The plugin is registered under the ``nornir.plugins.inventory`` entry point::

    InitNornir(inventory={"plugin": "GigalisInventory", "options": {"sites": ["NTE1"]}})
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Group,
    Groups,
    Host,
    Hosts,
    Inventory,
    ParentGroups,
)
from pydantic import SecretStr
from sqlmodel import Session, col, select

from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.enums import DeviceStatus
from gigalis_nms.inventory.models import Device, Site
from gigalis_nms.lab.state import LabState, read_lab_state
from gigalis_nms.provisioning.credentials import CredentialsBook, device_credentials
from gigalis_nms.settings import Settings, get_settings

log = logging.getLogger(__name__)

PLUGIN_NAME = "GigalisInventory"  # the entry point's name, in pyproject.toml
NAPALM_CONNECTION = "napalm"  # the name nornir_napalm registers its connection plugin under
# Inventory platform -> NAPALM driver. The FRR driver is ours (napalm_frr); the others are
# NAPALM's stock drivers.
NAPALM_DRIVERS: Mapping[str, str] = MappingProxyType(
    {"frr": "frr", "junos": "junos", "eos": "eos", "iosxr": "iosxr"}
)
REACHED_STATUSES = frozenset({DeviceStatus.ACTIVE, DeviceStatus.STAGED})
LAB_DRIVER = "frr"  # every lab router runs FRR, whatever its inventory platform
LAB_TRANSPORTS = ("ssh", "netns")
DEFAULT_WORKERS = 20
HOSTS_NAMED = 10  # hostnames spelt out per reason in an error's message; ``problems`` has all


@dataclass(frozen=True)
class DeviceRecord:
    """What the inventory knows of a device that Nornir needs."""

    hostname: str
    site: str  # site code
    platform: str  # inventory platform: frr, junos, eos, iosxr…
    management_address: str | None
    status: str
    role: str | None = None
    device_id: int | None = None

    def host_data(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "role": self.role,
            "device_id": self.device_id,
            "inventory_platform": self.platform,
            "status": self.status,
        }

    def group_names(self) -> list[str]:
        names = [f"site_{self.site}"]
        if self.role is not None:
            names.append(f"role_{self.role}")
        return [*names, f"platform_{self.platform}"]


@dataclass(frozen=True)
class HostLogin:
    """How Nornir reaches one device: where, with which driver, as whom."""

    address: str
    driver: str  # NAPALM driver name
    username: str | None
    password: SecretStr | None
    optional_args: Mapping[str, object] = field(default_factory=dict)
    data: Mapping[str, object] = field(default_factory=dict)  # added to the host's data


Login = Callable[[DeviceRecord], HostLogin]  # raises InvalidInput when it cannot


def napalm_driver(hostname: str, platform: str) -> str:
    """The NAPALM driver for an inventory platform.

    >>> napalm_driver("nte2-cr1", "junos")
    'junos'
    >>> napalm_driver("x-er1", "vyos")
    Traceback (most recent call last):
    ...
    gigalis_nms.errors.InvalidInput: device x-er1: platform: 'vyos' has no NAPALM driver here; known: eos, frr, iosxr, junos
    """  # noqa: E501 - a doctest's expected line is as long as the message
    try:
        return NAPALM_DRIVERS[platform]
    except KeyError:
        known = ", ".join(sorted(NAPALM_DRIVERS))
        raise InvalidInput.of(
            "platform",
            f"{platform!r} has no NAPALM driver here; known: {known}",
            f"device {hostname}",
        ) from None


# --- reading the database --------------------------------------------------------------------


def read_device_records(
    session: Session,
    *,
    devices: Iterable[str] | None = None,
    sites: Iterable[str] | None = None,
) -> list[DeviceRecord]:
    """The active and staged devices, by hostname; ``devices`` and ``sites`` narrow them down
    (hostnames, site codes). Names that match nothing are not an error: callers that asked
    for particular devices check which are missing."""
    query = (
        select(Device, Site.code)
        .join(Site, col(Site.id) == col(Device.site_id))
        .where(col(Device.status).in_(REACHED_STATUSES))
        .order_by(col(Device.hostname))
    )
    if devices is not None:
        query = query.where(col(Device.hostname).in_(list(devices)))
    if sites is not None:
        query = query.where(col(Site.code).in_(list(sites)))
    return [
        DeviceRecord(
            hostname=device.hostname,
            site=site_code,
            platform=device.platform,
            management_address=device.management_address,
            status=str(device.status),
            role=str(device.role),
            device_id=device.id,
        )
        for device, site_code in session.exec(query)
    ]


def unknown_hostnames(session: Session, hostnames: Iterable[str]) -> list[str]:
    """Those of ``hostnames`` that no device of the inventory has, whatever its status."""
    wanted = sorted(set(hostnames))
    if not wanted:
        return []
    known = set(session.exec(select(Device.hostname).where(col(Device.hostname).in_(wanted))))
    return [hostname for hostname in wanted if hostname not in known]


def warn_unknown_hosts(credentials: CredentialsBook, hostnames: Sequence[str]) -> None:
    """Report host entries of the credentials file that name no device: not an error (the
    file may be ahead of the inventory, or outlive a device), but a misspelt hostname leaves
    its device on another login, so it is said."""
    if hostnames:
        log.warning(
            "credentials file %s: hosts %s name no device of the inventory; their entries"
            " are not used",
            credentials.source,
            ", ".join(hostnames),
        )


def lab_records(state: LabState) -> list[DeviceRecord]:
    """The lab's routers as the lab state describes them (no role, no device id: the state
    does not carry them)."""
    return [
        DeviceRecord(
            hostname=router.hostname,
            site=router.site,
            platform=router.platform,
            management_address=router.management_address,
            status=str(DeviceStatus.ACTIVE),
        )
        for router in state.routers
    ]


# --- logins ------------------------------------------------------------------------------------


def production_login(credentials: CredentialsBook) -> Login:
    """Devices reached at their management address with the credentials book's login."""

    def login(record: DeviceRecord) -> HostLogin:
        driver = napalm_driver(record.hostname, record.platform)
        where = f"device {record.hostname}"
        if not record.management_address:
            raise InvalidInput.of("management_address", "not set: cannot reach the device", where)
        found = credentials.for_device(record.hostname, record.platform)
        if found.username is None:
            raise InvalidInput.of(
                "username",
                "no login: set GIGALIS_DEVICE_USERNAME or give one in the credentials file",
                where,
            )
        optional_args = {"key_file": str(found.key_file)} if found.key_file else {}
        return HostLogin(
            record.management_address, driver, found.username, found.password, optional_args
        )

    return login


def lab_login(state: LabState, transport: str = "ssh") -> Login:
    """Lab routers reached as the lab reaches them: the lab's user and key, no password."""
    routers = {router.hostname: router for router in state.routers}

    def login(record: DeviceRecord) -> HostLogin:
        router = routers[record.hostname]
        return HostLogin(
            address=router.management_address,
            driver=LAB_DRIVER,
            username=state.ssh_user,
            password=None,
            optional_args=state.napalm_optional_args(router, transport=transport),
            data={"netns": router.netns},
        )

    return login


# --- building the inventory --------------------------------------------------------------------


def build_inventory(records: Iterable[DeviceRecord], login: Login) -> Inventory:
    """One host per record, in its groups; every device that cannot be reached is named in
    one error rather than the first alone."""
    defaults = Defaults()
    groups = Groups()
    hosts = Hosts()
    refused: dict[str, list[FieldProblem]] = {}
    for record in records:
        try:
            access = login(record)
        except InvalidInput as error:
            refused[record.hostname] = error.problems
            continue
        for name in record.group_names():
            groups.setdefault(name, Group(name=name, defaults=defaults))
        hosts[record.hostname] = _host(record, access, groups, defaults)
    if refused:
        problems = [problem for found in refused.values() for problem in found]
        raise InvalidInput(unreachable_message(refused), problems)
    return Inventory(hosts=hosts, groups=groups, defaults=defaults)


def unreachable_message(refused: Mapping[str, Sequence[FieldProblem]]) -> str:
    """One line naming every device refused (up to :data:`HOSTS_NAMED` per reason), grouped
    by reason: thirty devices without a login read as one reason and thirty names.

    >>> print(unreachable_message({
    ...     "a-cr1": [FieldProblem("username", "no login", "device a-cr1")],
    ...     "b-cr1": [FieldProblem("username", "no login", "device b-cr1")],
    ...     "c-cr1": [FieldProblem("platform", "'vyos' has no driver", "device c-cr1")],
    ... }))
    3 devices cannot be reached: devices a-cr1, b-cr1: username: no login; device c-cr1: platform: 'vyos' has no driver
    """  # noqa: E501 - a doctest's expected line is as long as the message
    by_reason: dict[str, list[str]] = {}
    for hostname, problems in refused.items():
        for problem in problems:
            by_reason.setdefault(f"{problem.field}: {problem.reason}", []).append(hostname)
    parts = [f"{_some(hostnames)}: {reason}" for reason, hostnames in by_reason.items()]
    count = f"{len(refused)} devices" if len(refused) > 1 else "a device"
    return f"{count} cannot be reached: {'; '.join(parts)}"


def _some(hostnames: Sequence[str]) -> str:
    if len(hostnames) == 1:
        return f"device {hostnames[0]}"
    more = len(hostnames) - HOSTS_NAMED
    shown = ", ".join(hostnames[:HOSTS_NAMED])
    return f"devices {shown} and {more} more" if more > 0 else f"devices {shown}"


def _host(record: DeviceRecord, access: HostLogin, groups: Groups, defaults: Defaults) -> Host:
    # The password is in clear from here on, in this process's memory only: NAPALM needs it so.
    password = access.password.get_secret_value() if access.password is not None else ""
    return Host(
        name=record.hostname,
        hostname=access.address,
        username=access.username,
        password=password,
        platform=access.driver,
        groups=ParentGroups([groups[name] for name in record.group_names()]),
        data={**record.host_data(), **access.data},
        connection_options={
            NAPALM_CONNECTION: ConnectionOptions(
                extras={"optional_args": dict(access.optional_args)}
            )
        },
        defaults=defaults,
    )


def lab_inventory(state: LabState, transport: str = "ssh") -> Inventory:
    """The running lab's routers from its state alone, for code that has no database."""
    return build_inventory(lab_records(state), lab_login(state, transport))


def in_lab(records: Sequence[DeviceRecord], state: LabState) -> list[DeviceRecord]:
    """The records of devices that are routers of the lab."""
    routers = {router.hostname for router in state.routers}
    return [record for record in records if record.hostname in routers]


# --- the plugin --------------------------------------------------------------------------------


class GigalisInventory:
    """Nornir inventory plugin over the Gigalis database.

    Options (all optional): ``database_url`` (default: the settings'), ``devices`` and
    ``sites`` (hostnames and site codes to keep), ``credentials_file`` (default:
    ``GIGALIS_DEVICE_CREDENTIALS_FILE``), ``lab_state`` or ``lab_runtime_dir`` (reach the
    running lab's routers instead of production ones), ``transport`` (the lab's: ``ssh`` or
    ``netns``), ``settings`` (default: the process's).
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        devices: Sequence[str] | None = None,
        sites: Sequence[str] | None = None,
        credentials_file: str | Path | None = None,
        lab_state: LabState | None = None,
        lab_runtime_dir: str | Path | None = None,
        transport: str = "ssh",
        settings: Settings | None = None,
    ) -> None:
        if lab_state is not None and lab_runtime_dir is not None:
            raise InvalidInput.of("lab_state", "give lab_state or lab_runtime_dir, not both")
        if transport not in LAB_TRANSPORTS:
            raise InvalidInput.of("transport", f"{transport!r} is neither 'ssh' nor 'netns'")
        self.database_url = database_url
        self.devices = list(devices) if devices is not None else None
        self.sites = list(sites) if sites is not None else None
        self.credentials_file = Path(credentials_file) if credentials_file else None
        self.lab_state = lab_state
        self.lab_runtime_dir = Path(lab_runtime_dir) if lab_runtime_dir else None
        self.transport = transport
        self.settings = settings

    def load(self) -> Inventory:
        settings = self.settings or get_settings()
        database_url = self.database_url or settings.resolved_database_url
        lab = self._lab()
        if lab is not None:
            records, _ = self._read(database_url, ())
            inventory = build_inventory(self._in_lab(records, lab), lab_login(lab, self.transport))
        else:
            credentials = device_credentials(settings, self.credentials_file)
            records, strangers = self._read(database_url, credentials.hosts)
            warn_unknown_hosts(credentials, strangers)
            inventory = build_inventory(records, production_login(credentials))
        log.debug("nornir inventory: %d hosts", len(inventory.hosts))
        return inventory

    def _read(
        self, database_url: str, host_entries: Iterable[str]
    ) -> tuple[list[DeviceRecord], list[str]]:
        """The devices to reach, and the credentials file's host entries that name none."""
        engine = make_engine(database_url)
        try:
            with session_scope(engine, read_only=True) as session:
                records = read_device_records(session, devices=self.devices, sites=self.sites)
                return records, unknown_hostnames(session, host_entries)
        finally:
            engine.dispose()

    def _lab(self) -> LabState | None:
        if self.lab_state is not None or self.lab_runtime_dir is None:
            return self.lab_state
        try:
            state = read_lab_state(self.lab_runtime_dir)
        except (OSError, ValueError) as error:
            raise InvalidInput.of(
                "lab_runtime_dir", f"cannot read the lab's state in {self.lab_runtime_dir}: {error}"
            ) from None
        if state is None:
            raise InvalidInput.of(
                "lab_runtime_dir", f"no lab is up (no state in {self.lab_runtime_dir})"
            )
        return state

    def _in_lab(self, records: Sequence[DeviceRecord], lab: LabState) -> list[DeviceRecord]:
        kept = in_lab(records, lab)
        unfiltered = self.devices is None and self.sites is None
        if unfiltered and lab.routers and not kept:
            raise InvalidInput.of(
                "lab_state",
                f"the database holds none of the lab's {len(lab.routers)} routers as active or"
                " staged devices: was the lab built from another database?",
            )
        return kept


def open_nornir(
    *,
    database_url: str | None = None,
    devices: Sequence[str] | None = None,
    sites: Sequence[str] | None = None,
    credentials_file: Path | None = None,
    lab_state: LabState | None = None,
    settings: Settings | None = None,
    num_workers: int = DEFAULT_WORKERS,
) -> Nornir:
    """A threaded Nornir over the ``GigalisInventory`` hosts, through ``InitNornir`` as any
    Nornir user would build it."""
    options: dict[str, object] = {
        "database_url": database_url,
        "devices": devices,
        "sites": sites,
        "credentials_file": credentials_file,
        "lab_state": lab_state,
        "settings": settings,
    }
    return InitNornir(
        inventory={"plugin": PLUGIN_NAME, "options": options},
        runner={"plugin": "threaded", "options": {"num_workers": max(1, num_workers)}},
        # Nornir's own logging would write nornir.log into the working folder; ours goes to
        # the process's log instead.
        logging={"enabled": False},
    )
