"""The NetBox side of a sync, through pynetbox: a NetBox (a real one, or a Gigalis serving the
dialect) read into the neutral form, and a plan applied to it.

Reading maps what Gigalis can hold and skips the rest with a reason, never silently: a
NetBox object lacking something Gigalis requires (a site's INSEE code, a cable's fibre
count) is listed as skipped. Gigalis's own fields that NetBox lacks travel as custom fields
(listed in the README); a real NetBox must have them defined for an export to write them.

Mapping, both ways: tenants are operators and providers every other organisation (a
provider's kind is its ``kind`` custom field, ``supplier`` when unset); a site's code is its
facility (else its slug in capitals); speeds and commit rates are kbps in NetBox and Mb/s in
Gigalis; a device's management address is its primary IP; a cable's ends are its
``a_site``/``z_site`` custom fields (else the sites of the devices its terminations are on);
a circuit's exact Gigalis status is its ``lifecycle`` custom field (else read from NetBox's
status), its ends' sites, interfaces and VLANs its custom fields (else its terminations').
Interface types Gigalis does not know read as ``other``; a site's ``staging`` as planned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pynetbox
import pynetbox.core.query
import requests

from gigalis_nms.inventory.enums import (
    CircuitStatus,
    DeviceRole,
    InterfaceType,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
)
from gigalis_nms.netbox.choices import CABLE_STATUS_OUT, CIRCUIT_STATUS_OUT, slugify
from gigalis_nms.netbox.sync.records import (
    NOT_SERVED,
    Change,
    Inventory,
    Problem,
    Record,
    interface_key,
)

Json = dict[str, Any]

# Length units NetBox offers, in metres.
METRES_PER_UNIT = {"km": 1000.0, "m": 1.0, "cm": 0.01, "mi": 1609.344, "ft": 0.3048}
CIRCUIT_STATUS_IN = {
    "planned": CircuitStatus.RESERVED,
    "provisioning": CircuitStatus.PROVISIONING,
    "active": CircuitStatus.ACTIVE,
    "offline": CircuitStatus.SUSPENDED,
    "deprovisioning": CircuitStatus.ACTIVE,
    "decommissioned": CircuitStatus.TERMINATED,
}
CABLE_STATUS_IN = {
    "planned": "planned",
    "connected": "active",
    "decommissioning": "decommissioning",
}
SITE_STATUS_IN = {"staging": "planned"}


class TimeoutSession(requests.Session):
    """requests has no default timeout, and its timeout bounds each read, not an answer: a
    NetBox that stops answering, or trickles its answer, would hang the sync. Here each
    answer must arrive whole within ``timeout`` seconds, and a list whose ``next`` link
    leads back to a page already read (which would page forever) is refused."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.pages_read: set[str] = set()

    def request(
        self, method: str, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs["stream"] = True
        deadline = time.monotonic() + self.timeout
        response = super().request(method, url, *args, **kwargs)
        chunks = []
        # read1 gives what has arrived (read would wait for a whole chunk): the deadline is
        # checked as a trickle comes in, not only once it is complete.
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                response.close()
                raise requests.exceptions.Timeout(f"no whole answer within {self.timeout} s")
        response._content = b"".join(chunks)  # what response.content would have read
        self._check_paging(method, response)
        return response

    def _check_paging(self, method: str, response: requests.Response) -> None:
        is_page = method.upper() == "GET" and "offset=" in response.url
        if is_page and response.url in self.pages_read:
            raise requests.exceptions.TooManyRedirects(
                f"the list's next link leads back to {response.url}: it would page forever"
            )
        if is_page:
            self.pages_read.add(response.url)


def connect(url: str, token: str, timeout: float = 30.0) -> pynetbox.api:
    """A pynetbox client for ``url`` (the NetBox's root, without ``/api``)."""
    api = pynetbox.api(url.rstrip("/"), token=token)
    api.http_session = TimeoutSession(timeout)
    return api


def _value(choice: Any) -> Any:
    return choice.get("value") if isinstance(choice, dict) else choice


def _text(value: Any) -> str:
    return value or ""


def _custom(obj: Json) -> Json:
    return obj.get("custom_fields") or {}


def _all(endpoint: Any) -> list[Json]:
    return [dict(record) for record in endpoint.all()]


def _ref_id(value: Any) -> int | None:
    return value.get("id") if isinstance(value, dict) else value


@dataclass
class NetBoxInventory(Inventory):
    """What a NetBox holds, with the NetBox ids an export needs to write references."""

    ids: dict[str, dict[str, int]] = field(default_factory=dict)

    def id_of(self, kind: str, key: str | None) -> int | None:
        if key is None:
            return None
        found = self.ids.get(kind, {}).get(key)
        if found is None:
            raise MissingReference(kind, key)
        return found

    def remember(self, kind: str, key: str, object_id: int) -> None:
        self.ids.setdefault(kind, {})[key] = object_id


class MissingReference(Exception):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} is not in the NetBox (refused or skipped)")
        self.kind = kind


# --- Reading ------------------------------------------------------------------------------


def read(api: pynetbox.api) -> NetBoxInventory:
    """Everything the NetBox holds of the shared kinds that Gigalis can hold."""
    found = NetBoxInventory()
    _read_organisations(api, found)
    sites = _read_sites(api, found)
    _read_device_kinds(api, found)
    devices = _read_devices(api, found, sites)
    ports = _read_interfaces(api, found, devices)
    _read_cables(api, found, sites, devices)
    _read_circuits(api, found, sites, ports)
    return found


def _read_organisations(api: pynetbox.api, found: NetBoxInventory) -> None:
    tenant_names = set()
    for tenant in _all(api.tenancy.tenants):
        custom = _custom(tenant)
        found.add(
            "organisation",
            tenant["name"],
            {
                "kind": OrganisationKind.OPERATOR,
                "siren": custom.get("siren"),
                "arcep_code": custom.get("arcep_code"),
            },
        )
        found.remember("tenant", tenant["name"], tenant["id"])
        tenant_names.add(tenant["name"])
    for provider in _all(api.circuits.providers):
        name, custom = provider["name"], _custom(provider)
        if name in tenant_names:
            found.skip("organisation", name, "", "both a tenant and a provider: read as tenant")
            continue
        record = {
            "kind": custom.get("kind") or OrganisationKind.SUPPLIER,
            "siren": custom.get("siren"),
            "arcep_code": custom.get("arcep_code"),
        }
        found.add("organisation", name, record)
        found.remember("provider", name, provider["id"])


def _read_sites(api: pynetbox.api, found: NetBoxInventory) -> dict[int, str]:
    """Reads the sites; answers their codes by NetBox id."""
    codes = {}
    for site in _all(api.dcim.sites):
        code = site.get("facility") or site["slug"].upper()
        custom = _custom(site)
        missing = [
            name
            for name, value in (
                ("custom_fields.insee_code", custom.get("insee_code")),
                ("latitude", site.get("latitude")),
                ("longitude", site.get("longitude")),
            )
            if value is None
        ]
        if missing:
            found.skip("site", code, missing[0], "Gigalis requires it")
            continue
        status = _value(site.get("status")) or LifecycleStatus.ACTIVE
        found.add(
            "site",
            code,
            {
                "name": site["name"],
                "kind": custom.get("kind") or "pop",
                "address": _text(site.get("physical_address")),
                "insee_code": custom["insee_code"],
                "latitude": float(site["latitude"]),
                "longitude": float(site["longitude"]),
                "status": SITE_STATUS_IN.get(status, status),
            },
        )
        found.remember("site", code, site["id"])
        codes[site["id"]] = code
    return codes


def _read_device_kinds(api: pynetbox.api, found: NetBoxInventory) -> None:
    """Manufacturers, device types, platforms, and the roles and circuit types an export
    refers to."""
    makers = {}
    for maker in _all(api.dcim.manufacturers):
        found.add(
            "manufacturer", maker["slug"], {**maker, "description": _text(maker.get("description"))}
        )
        found.remember("manufacturer", maker["slug"], maker["id"])
        makers[maker["id"]] = maker["slug"]
    for kind in _all(api.dcim.device_types):
        maker_slug = makers.get(_ref_id(kind.get("manufacturer")) or 0)
        record = {
            "manufacturer": maker_slug,
            "model": kind["model"],
            "part_number": _text(kind.get("part_number")),
            "u_height": float(kind.get("u_height") or 0),
            "description": _text(kind.get("description")),
        }
        found.add("device_type", kind["slug"], record)
        found.remember("device_type", kind["slug"], kind["id"])
    for platform in _all(api.dcim.platforms):
        record = {
            "name": platform["name"],
            "manufacturer": makers.get(_ref_id(platform.get("manufacturer")) or 0),
            "napalm_driver": _text(platform["napalm_driver"])
            if "napalm_driver" in platform
            else NOT_SERVED,
            "description": _text(platform.get("description")),
        }
        found.add("platform", platform["slug"], record)
        found.remember("platform", platform["slug"], platform["id"])
    for role in _all(api.dcim.device_roles):
        found.remember("role", role["slug"], role["id"])
    for circuit_type in _all(api.circuits.circuit_types):
        found.remember("circuit_type", circuit_type["slug"], circuit_type["id"])


ROLES_BY_SLUG = {role.value.replace("_", "-"): role.value for role in DeviceRole}
SERVICES_BY_SLUG = {service.value.replace("_", "-"): service.value for service in ServiceType}


@dataclass(frozen=True)
class DeviceSeen:
    hostname: str
    site: str


def _read_devices(
    api: pynetbox.api, found: NetBoxInventory, sites: dict[int, str]
) -> dict[int, DeviceSeen]:
    devices = {}
    for device in _all(api.dcim.devices):
        hostname = device.get("name")
        if not hostname:
            found.skip("device", f"#{device['id']}", "name", "Gigalis names every device")
            continue
        site = sites.get(_ref_id(device.get("site")) or 0)
        role = (device.get("role") or device.get("device_role") or {}).get("slug")
        platform = (device.get("platform") or {}).get("slug")
        problem = (
            ("site", "its site was skipped")
            if site is None
            else ("role", f"Gigalis's roles are {', '.join(ROLES_BY_SLUG)}")
            if role not in ROLES_BY_SLUG
            else ("platform", "Gigalis needs the platform provisioning drives")
            if platform is None
            else None
        )
        if problem:
            found.skip("device", hostname, *problem)
            continue
        assert site is not None
        assert role is not None
        address = (device.get("primary_ip") or {}).get("address")
        record = {
            "site": site,
            "role": ROLES_BY_SLUG[role],
            "platform": platform,
            "device_type": (device.get("device_type") or {}).get("slug"),
            "status": _value(device.get("status")),
            "serial": _text(device.get("serial")),
            "management_address": address.split("/")[0] if address else None,
        }
        found.add("device", hostname, record)
        found.remember("device", hostname, device["id"])
        if device.get("primary_ip"):
            found.remember("ip_address", hostname, device["primary_ip"]["id"])
        devices[device["id"]] = DeviceSeen(hostname, site)
    return devices


def _read_interfaces(
    api: pynetbox.api, found: NetBoxInventory, devices: dict[int, DeviceSeen]
) -> dict[int, str]:
    """Reads the interfaces; answers their keys by NetBox id."""
    known_types = {t.value for t in InterfaceType}
    keys = {}
    for port in _all(api.dcim.interfaces):
        device = devices.get(_ref_id(port.get("device")) or 0)
        if device is None:
            continue  # on a device skipped above, which says why
        key = interface_key(device.hostname, port["name"])
        speed = port.get("speed")
        if speed is not None and speed % 1000:
            found.skip("interface", key, "speed", f"{speed} kbps is not a whole Mb/s")
            continue
        kind = _value(port.get("type"))
        record = {
            "type": kind if kind in known_types else InterfaceType.OTHER,
            "speed_mbps": speed // 1000 if speed else None,
            "enabled": bool(port.get("enabled", True)),
            "description": _text(port.get("description")),
        }
        found.add("interface", key, record)
        found.remember("interface", key, port["id"])
        keys[port["id"]] = key
    return keys


def _termination_site(
    ends: list[Json] | None, devices: dict[int, DeviceSeen], sites: dict[int, str]
) -> str | None:
    for end in ends or []:
        target = end.get("object") or {}
        if end.get("object_type") == "dcim.interface":
            device = devices.get(_ref_id(target.get("device")) or 0)
            if device:
                return device.site
        if end.get("object_type") == "circuits.circuittermination" and target.get("site"):
            return sites.get(_ref_id(target["site"]) or 0)
    return None


def _metres(length: Any, unit: Any) -> int | None:
    factor = METRES_PER_UNIT.get(_value(unit) or "m")
    if length is None or factor is None:
        return None
    return round(float(length) * factor)


def _read_cables(
    api: pynetbox.api,
    found: NetBoxInventory,
    sites: dict[int, str],
    devices: dict[int, DeviceSeen],
) -> None:
    for cable in _all(api.dcim.cables):
        code = cable.get("label")
        if not code:
            found.skip("cable", f"#{cable['id']}", "label", "Gigalis names a cable by its code")
            continue
        custom = _custom(cable)
        ends = {
            end: sites.get(custom[f"{end}_site"]) if custom.get(f"{end}_site") else None
            for end in ("a", "z")
        }
        ends["a"] = ends["a"] or _termination_site(cable.get("a_terminations"), devices, sites)
        ends["z"] = ends["z"] or _termination_site(cable.get("b_terminations"), devices, sites)
        record = {
            "a_site": ends["a"],
            "z_site": ends["z"],
            "length_m": _metres(cable.get("length"), cable.get("length_unit")),
            "fibre_count": custom.get("fibre_count"),
            "owner": custom.get("owner"),
            "ownership": custom.get("ownership"),
            "iru_end_date": custom.get("iru_end_date"),
            "route": custom.get("route"),
            "status": custom.get("lifecycle")
            or CABLE_STATUS_IN.get(_value(cable.get("status")), _value(cable.get("status"))),
        }
        missing = [
            name
            for name in ("a_site", "z_site", "length_m", "fibre_count", "owner", "ownership")
            if record[name] is None
        ]
        if missing:
            found.skip("cable", code, missing[0], "Gigalis requires it (see the README)")
            continue
        found.add("cable", code, record)
        found.remember("cable", code, cable["id"])


@dataclass(frozen=True)
class TerminationSeen:
    site: str | None
    interface: str | None
    vlan: int | None


def _terminations(
    api: pynetbox.api, sites: dict[int, str], ports: dict[int, str]
) -> dict[tuple[int, str], TerminationSeen]:
    seen = {}
    for end in _all(api.circuits.circuit_terminations):
        custom = _custom(end)
        peers = [
            p for p in end.get("link_peers") or [] if end.get("link_peers_type") == "dcim.interface"
        ]
        port = custom.get("interface") or (peers[0]["id"] if peers else None)
        circuit_id = _ref_id(end.get("circuit")) or 0
        seen[(circuit_id, end.get("term_side", ""))] = TerminationSeen(
            sites.get(_termination_site_id(end) or 0), ports.get(port or 0), custom.get("vlan")
        )
    return seen


def _termination_site_id(end: Json) -> int | None:
    """NetBox 4.1 names a termination's site in ``site``; 4.2 on in ``termination``, typed."""
    if end.get("site"):
        return _ref_id(end["site"])
    if end.get("termination_type") == "dcim.site":
        return _ref_id(end.get("termination"))
    return None


def _read_circuits(
    api: pynetbox.api, found: NetBoxInventory, sites: dict[int, str], ports: dict[int, str]
) -> None:
    terminations = _terminations(api, sites, ports)
    for circuit in _all(api.circuits.circuits):
        ref, custom = circuit["cid"], _custom(circuit)
        tenant = (circuit.get("tenant") or {}).get("name")
        service = SERVICES_BY_SLUG.get((circuit.get("type") or {}).get("slug", ""))
        if tenant is None or service is None:
            reason = (
                ("tenant", "a Gigalis circuit is leased to an operator")
                if tenant is None
                else ("type", f"Gigalis's circuit types are {', '.join(SERVICES_BY_SLUG)}")
            )
            found.skip("circuit", ref, *reason)
            continue
        ends = {}
        for end, side in (("a", "A"), ("z", "Z")):
            seen = terminations.get((circuit["id"], side), TerminationSeen(None, None, None))
            site_id = custom.get(f"{end}_site")
            port_id = custom.get(f"{end}_interface")
            ends[f"{end}_site"] = sites.get(site_id) if site_id else seen.site
            ends[f"{end}_interface"] = ports.get(port_id) if port_id else seen.interface
            ends[f"{end}_vlan"] = custom.get(f"{end}_vlan", seen.vlan)
        rate = circuit.get("commit_rate")
        status = custom.get("lifecycle") or CIRCUIT_STATUS_IN.get(_value(circuit.get("status")))
        record = {
            "operator": tenant,
            "service_type": service,
            **ends,
            "bandwidth_mbps": rate // 1000 if rate else None,
            "protected": bool(custom.get("protected", False)),
            "status": status,
            "description": _text(circuit.get("description")),
            "in_service_since": circuit.get("install_date"),
        }
        if record["a_site"] is None:
            found.skip("circuit", ref, "a_site", "no A end at a site Gigalis holds")
            continue
        found.add("circuit", ref, record)
        found.remember("circuit", ref, circuit["id"])


# --- Writing ------------------------------------------------------------------------------
# Each kind: its NetBox endpoint and, per neutral field, the NetBox body it writes. A field
# mapped to a custom field writes {"custom_fields": {name: value}}.

Writer = Callable[["NetBoxInventory", Any], Json]


def _top(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Writer:
    return lambda _ids, value: {name: convert(value)}


def _cf(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Writer:
    return lambda _ids, value: {"custom_fields": {name: convert(value)}}


def _ref(name: str, kind: str, custom: bool = False) -> Writer:
    def write(ids: NetBoxInventory, value: Any) -> Json:
        object_id = ids.id_of(kind, value)
        return {"custom_fields": {name: object_id}} if custom else {name: object_id}

    return write


def _kbps(name: str) -> Writer:
    return lambda _ids, value: {name: value * 1000 if value else None}


def _address(value: str | None) -> str | None:
    if value is None:
        return None
    return f"{value}/128" if ":" in value else f"{value}/32"


@dataclass(frozen=True)
class KindWriter:
    endpoint: Callable[[pynetbox.api, Record], Any]
    fields: dict[str, Writer]
    fixed: Callable[[str, Record], Json]  # what a new object also needs (its name, slug…)
    id_kind: Callable[[Record], str]  # where its id is remembered


def _organisation_endpoint(api: pynetbox.api, record: Record) -> Any:
    if record["kind"] == OrganisationKind.OPERATOR:
        return api.tenancy.tenants
    return api.circuits.providers


def _organisation_fields(kind: str) -> dict[str, Writer]:
    # An operator is a tenant: its kind goes without saying.
    is_operator = kind == OrganisationKind.OPERATOR
    return {
        "kind": (lambda _ids, _value: {}) if is_operator else _cf("kind"),
        "siren": _cf("siren"),
        "arcep_code": _cf("arcep_code"),
    }


WRITERS: dict[str, KindWriter] = {
    "site": KindWriter(
        endpoint=lambda api, _r: api.dcim.sites,
        fields={
            "name": _top("name"),
            "kind": _cf("kind"),
            "address": _top("physical_address"),
            "insee_code": _cf("insee_code"),
            "latitude": _top("latitude"),
            "longitude": _top("longitude"),
            "status": _top("status"),
        },
        fixed=lambda key, _r: {"slug": key.lower(), "facility": key},
        id_kind=lambda _r: "site",
    ),
    "manufacturer": KindWriter(
        endpoint=lambda api, _r: api.dcim.manufacturers,
        fields={"name": _top("name"), "description": _top("description")},
        fixed=lambda key, _r: {"slug": key},
        id_kind=lambda _r: "manufacturer",
    ),
    "device_type": KindWriter(
        endpoint=lambda api, _r: api.dcim.device_types,
        fields={
            "manufacturer": _ref("manufacturer", "manufacturer"),
            "model": _top("model"),
            "part_number": _top("part_number"),
            "u_height": _top("u_height"),
            "description": _top("description"),
        },
        fixed=lambda key, _r: {"slug": key},
        id_kind=lambda _r: "device_type",
    ),
    "platform": KindWriter(
        endpoint=lambda api, _r: api.dcim.platforms,
        fields={
            "name": _top("name"),
            "manufacturer": _ref("manufacturer", "manufacturer"),
            "napalm_driver": _top("napalm_driver"),
            "description": _top("description"),
        },
        fixed=lambda key, _r: {"slug": key},
        id_kind=lambda _r: "platform",
    ),
    "device": KindWriter(
        endpoint=lambda api, _r: api.dcim.devices,
        fields={
            "site": _ref("site", "site"),
            "role": lambda ids, role: {"role": ids.id_of("role", role.replace("_", "-"))},
            "platform": _ref("platform", "platform"),
            "device_type": _ref("device_type", "device_type"),
            "status": _top("status"),
            "serial": _top("serial"),
            # Written after the device, as an ip-address: see _write_address.
            "management_address": lambda _ids, _value: {},
        },
        fixed=lambda key, _r: {"name": key},
        id_kind=lambda _r: "device",
    ),
    "interface": KindWriter(
        endpoint=lambda api, _r: api.dcim.interfaces,
        fields={
            "type": _top("type"),
            "speed_mbps": _kbps("speed"),
            "enabled": _top("enabled"),
            "description": _top("description"),
        },
        fixed=lambda key, _r: _interface_names(key),
        id_kind=lambda _r: "interface",
    ),
    "cable": KindWriter(
        endpoint=lambda api, _r: api.dcim.cables,
        fields={
            "a_site": _ref("a_site", "site", custom=True),
            "z_site": _ref("z_site", "site", custom=True),
            "length_m": lambda _ids, metres: {"length": metres, "length_unit": "m"},
            "fibre_count": _cf("fibre_count"),
            "owner": _cf("owner"),
            "ownership": _cf("ownership"),
            "iru_end_date": _cf("iru_end_date"),
            "route": _cf("route"),
            "status": lambda _ids, status: {
                "status": CABLE_STATUS_OUT[LifecycleStatus(status)],
                "custom_fields": {"lifecycle": status},
            },
        },
        fixed=lambda key, _r: {"label": key, "type": "smf"},
        id_kind=lambda _r: "cable",
    ),
    "circuit": KindWriter(
        endpoint=lambda api, _r: api.circuits.circuits,
        fields={
            "operator": _ref("tenant", "tenant"),
            "service_type": lambda ids, kind: {
                "type": ids.id_of("circuit_type", kind.replace("_", "-"))
            },
            "a_site": _ref("a_site", "site", custom=True),
            "a_interface": _ref("a_interface", "interface", custom=True),
            "a_vlan": _cf("a_vlan"),
            "z_site": _ref("z_site", "site", custom=True),
            "z_interface": _ref("z_interface", "interface", custom=True),
            "z_vlan": _cf("z_vlan"),
            "bandwidth_mbps": _kbps("commit_rate"),
            "protected": _cf("protected"),
            "status": lambda _ids, status: {
                "status": CIRCUIT_STATUS_OUT[CircuitStatus(status)],
                "custom_fields": {"lifecycle": status},
            },
            "description": _top("description"),
            "in_service_since": _top("install_date"),
        },
        fixed=lambda key, _r: {"cid": key},
        id_kind=lambda _r: "circuit",
    ),
}


def _interface_names(key: str) -> Json:
    hostname, _, name = key.partition(":")
    return {"_device": hostname, "name": name}


def _merge(body: Json, more: Json) -> None:
    for name, value in more.items():
        if name == "custom_fields":
            body.setdefault("custom_fields", {}).update(value)
        else:
            body[name] = value


def body_of(
    ids: NetBoxInventory, kind: str, key: str, record: Record, names: Iterable[str]
) -> Json:
    """The NetBox body writing ``names`` of ``record`` (all of them for a new object)."""
    writer = _writer(kind, record)
    body: Json = {}
    for name in names:
        _merge(body, writer.fields[name](ids, record[name]))
    return body


def _writer(kind: str, record: Record) -> KindWriter:
    if kind != "organisation":
        return WRITERS[kind]
    return KindWriter(
        endpoint=_organisation_endpoint,
        fields=_organisation_fields(record["kind"]),
        fixed=lambda key, _r: {"name": key, "slug": slugify(key)},
        id_kind=lambda r: "tenant" if r["kind"] == OrganisationKind.OPERATOR else "provider",
    )


# --- Applying -----------------------------------------------------------------------------


def apply(
    api: pynetbox.api, current: NetBoxInventory, changes: list[Change], circuit_provider: str | None
) -> list[Problem]:
    """Apply each change with one request (two for a device's management address); a
    refusal is reported with NetBox's answer and the rest goes on."""
    refused: list[Problem] = []
    for change in changes:
        try:
            _apply_one(api, current, change, circuit_provider)
        except MissingReference as missing:
            refused.append(Problem(change.kind, change.key, missing.kind, str(missing)))
        except pynetbox.RequestError as error:
            answer = " ".join(str(error.error).split())[:500]
            status = error.req.status_code
            refused.append(
                Problem(change.kind, change.key, "", f"NetBox answered {status}: {answer}")
            )
    return refused


def _apply_one(
    api: pynetbox.api, current: NetBoxInventory, change: Change, circuit_provider: str | None
) -> None:
    after = change.after()
    if change.action == "create":
        record = after
        writer = _writer(change.kind, record)
        body = writer.fixed(change.key, record)
        if "_device" in body:
            body["device"] = current.id_of("device", body.pop("_device"))
        _merge(body, body_of(current, change.kind, change.key, record, record))
        if change.kind == "circuit":
            body["provider"] = current.id_of("provider", circuit_provider)
        made = writer.endpoint(api, record).create(body)
        current.remember(writer.id_kind(record), change.key, made.id)
    else:
        existing = current.records[change.kind][change.key]
        record = {**existing, **after}
        writer = _writer(change.kind, record)
        body = body_of(current, change.kind, change.key, record, after)
        if body:
            object_id = current.id_of(writer.id_kind(existing), change.key)
            writer.endpoint(api, existing).update([{"id": object_id, **body}])
    if change.kind == "device" and "management_address" in after:
        _write_address(api, current, change.key, after["management_address"])
    current.records[change.kind][change.key] = record


def _write_address(
    api: pynetbox.api, current: NetBoxInventory, hostname: str, address: Any
) -> None:
    """A device's management address is the ip-address its primary IP points at."""
    known = current.ids.get("ip_address", {}).get(hostname)
    device_id = current.id_of("device", hostname)
    if address is None:
        if known is not None:
            api.ipam.ip_addresses.delete([known])
            current.ids["ip_address"].pop(hostname)
        return
    if known is not None:
        api.ipam.ip_addresses.update([{"id": known, "address": _address(address)}])
        return
    made = api.ipam.ip_addresses.create(
        {"address": _address(address), "status": "active", "custom_fields": {"device": device_id}}
    )
    current.remember("ip_address", hostname, made.id)
    # As a NetBox client would: the device's primary IP is the address just made.
    family = "primary_ip6" if ":" in address else "primary_ip4"
    api.dcim.devices.update([{"id": device_id, family: made.id}])
