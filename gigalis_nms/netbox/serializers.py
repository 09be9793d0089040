"""Gigalis objects in NetBox's shapes (NetBox 4.1): a full form for lists and details, and a
brief form for nested objects and ``?brief=1``.

Every object carries ``id``, an absolute ``url`` and ``display``. Fields NetBox has and
Gigalis does not (racks, VRFs, tags…) are served empty, as NetBox serves them unset. Ids are
the Gigalis ids, except where an object is derived: a device's management address is the
ip-address whose id is the device's; a circuit's A termination has id ``2·circuit - 1`` and
its Z termination ``2·circuit``; device roles and circuit types are numbered in enum order.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from gigalis_nms.inventory.models import (
    Circuit,
    Device,
    FibreCable,
    Interface,
    Organisation,
    Site,
)
from gigalis_nms.netbox.choices import (
    CABLE_STATUS_OUT,
    CIRCUIT_STATUS_OUT,
    CIRCUIT_TYPES,
    DEVICE_ROLES,
    INTERFACE_TYPE_LABELS,
    EnumObject,
    choice,
)
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.models import DeviceType, Manufacturer, Platform

Json = dict[str, Any]
TIME_ZONE = "Europe/Paris"


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _common(ctx: Context, path: str, object_id: int, display: str) -> Json:
    return {"id": object_id, "url": ctx.url(path, object_id), "display": display}


def _unset() -> Json:
    return {"tags": [], "custom_fields": {}}


# --- Sites --------------------------------------------------------------------------------


def site_brief(ctx: Context, site: Site) -> Json:
    assert site.id is not None
    return {
        **_common(ctx, "dcim/sites", site.id, site.name),
        "name": site.name,
        "slug": site.code.lower(),
        "description": "",
    }


def site_full(ctx: Context, site: Site) -> Json:
    return {
        **site_brief(ctx, site),
        "status": choice(site.status.value),
        "region": None,
        "group": None,
        "tenant": None,
        "facility": site.code,
        "time_zone": TIME_ZONE,
        "physical_address": site.address or "",
        "shipping_address": "",
        "latitude": site.latitude,
        "longitude": site.longitude,
        "comments": "",
        "asns": [],
        "tags": [],
        "custom_fields": {"insee_code": site.insee_code, "kind": site.kind.value},
        "created": _stamp(site.created_at),
        "last_updated": _stamp(site.updated_at),
    }


# --- Manufacturers, device types, platforms, roles ----------------------------------------


def manufacturer_brief(ctx: Context, maker: Manufacturer) -> Json:
    assert maker.id is not None
    return {
        **_common(ctx, "dcim/manufacturers", maker.id, maker.name),
        "name": maker.name,
        "slug": maker.slug,
        "description": maker.description,
    }


def manufacturer_full(ctx: Context, maker: Manufacturer) -> Json:
    return {**manufacturer_brief(ctx, maker), **_unset(), "created": None, "last_updated": None}


def device_type_brief(ctx: Context, kind: DeviceType) -> Json:
    assert kind.id is not None
    return {
        **_common(ctx, "dcim/device-types", kind.id, kind.model),
        "manufacturer": manufacturer_brief(ctx, ctx.manufacturers[kind.manufacturer_id]),
        "model": kind.model,
        "slug": kind.slug,
        "description": kind.description,
    }


def device_type_full(ctx: Context, kind: DeviceType) -> Json:
    return {
        **device_type_brief(ctx, kind),
        "part_number": kind.part_number,
        "u_height": kind.u_height,
        "is_full_depth": True,
        "comments": "",
        **_unset(),
        "created": None,
        "last_updated": None,
    }


def platform_brief(ctx: Context, platform: Platform) -> Json:
    assert platform.id is not None
    return {
        **_common(ctx, "dcim/platforms", platform.id, platform.name),
        "name": platform.name,
        "slug": platform.slug,
        "description": platform.description,
    }


def platform_full(ctx: Context, platform: Platform) -> Json:
    maker = ctx.manufacturers.get(platform.manufacturer_id or 0)
    return {
        **platform_brief(ctx, platform),
        "manufacturer": manufacturer_brief(ctx, maker) if maker else None,
        "napalm_driver": platform.napalm_driver,
        "napalm_args": None,
        "config_template": None,
        **_unset(),
        "created": None,
        "last_updated": None,
    }


def enum_brief(ctx: Context, path: str, item: EnumObject) -> Json:
    return {
        **_common(ctx, path, item.id, item.name),
        "name": item.name,
        "slug": item.slug,
        "description": "",
    }


def role_brief(ctx: Context, item: EnumObject) -> Json:
    return enum_brief(ctx, "dcim/device-roles", item)


def role_full(ctx: Context, item: EnumObject) -> Json:
    return {**role_brief(ctx, item), "color": "", "vm_role": False, **_unset()}


def circuit_type_brief(ctx: Context, item: EnumObject) -> Json:
    return enum_brief(ctx, "circuits/circuit-types", item)


def circuit_type_full(ctx: Context, item: EnumObject) -> Json:
    return {**circuit_type_brief(ctx, item), "color": "", **_unset()}


def _enum_by_value(items: list[EnumObject], value: str) -> EnumObject:
    return next(item for item in items if item.value == value)


# --- Devices and their management addresses -----------------------------------------------


def ip_brief(ctx: Context, device: Device) -> Json | None:
    """A device's management address as the ip-address whose id is the device's."""
    if device.management_address is None or device.id is None:
        return None
    address = ipaddress.ip_address(device.management_address)
    prefixed = f"{address}/{address.max_prefixlen}"
    return {
        **_common(ctx, "ipam/ip-addresses", device.id, prefixed),
        "family": {"value": address.version, "label": f"IPv{address.version}"},
        "address": prefixed,
        "description": "",
    }


def ip_full(ctx: Context, device: Device) -> Json:
    brief = ip_brief(ctx, device)
    assert brief is not None
    return {
        **brief,
        "vrf": None,
        "tenant": None,
        "status": choice("active"),
        "role": None,
        "assigned_object_type": None,
        "assigned_object_id": None,
        "assigned_object": None,
        "nat_inside": None,
        "nat_outside": [],
        "dns_name": device.hostname,
        "comments": "",
        "tags": [],
        "custom_fields": {"device": device.id},
        "created": _stamp(device.created_at),
        "last_updated": _stamp(device.updated_at),
    }


def device_brief(ctx: Context, device: Device) -> Json:
    assert device.id is not None
    return {
        **_common(ctx, "dcim/devices", device.id, device.hostname),
        "name": device.hostname,
        "description": "",
    }


def device_full(ctx: Context, device: Device) -> Json:
    kind = ctx.device_types.get(device.device_type_id or 0)
    # A platform string no platform row names (a new vendor) reads as no platform.
    platform = ctx.platforms.get(device.platform)
    address = ip_brief(ctx, device)
    family = address["family"]["value"] if address else None
    return {
        **device_brief(ctx, device),
        "device_type": device_type_brief(ctx, kind) if kind else None,
        "role": role_brief(ctx, _enum_by_value(DEVICE_ROLES, device.role.value)),
        "tenant": None,
        "platform": platform_brief(ctx, platform) if platform else None,
        "serial": device.serial or "",
        "asset_tag": None,
        "site": site_brief(ctx, ctx.sites[device.site_id]),
        "location": None,
        "rack": None,
        "position": None,
        "face": None,
        "latitude": None,
        "longitude": None,
        "parent_device": None,
        "status": choice(device.status.value),
        "airflow": None,
        "primary_ip": address,
        "primary_ip4": address if family == 4 else None,
        "primary_ip6": address if family == 6 else None,
        "oob_ip": None,
        "cluster": None,
        "virtual_chassis": None,
        "vc_position": None,
        "vc_priority": None,
        "comments": "",
        "config_template": None,
        "config_context": {},
        "local_context_data": None,
        "tags": [],
        "custom_fields": {},
        "created": _stamp(device.created_at),
        "last_updated": _stamp(device.updated_at),
    }


# --- Interfaces and cables ----------------------------------------------------------------


def cable_brief(ctx: Context, cable: FibreCable) -> Json:
    assert cable.id is not None
    return {
        **_common(ctx, "dcim/cables", cable.id, cable.code),
        "label": cable.code,
        "description": "",
    }


def interface_brief(ctx: Context, port: Interface) -> Json:
    assert port.id is not None
    end = ctx.cable_ends.get(port.id)
    cable = ctx.cables_by_id({end.cable_id}).get(end.cable_id) if end else None
    return {
        **_common(ctx, "dcim/interfaces", port.id, port.name),
        "device": device_brief(ctx, ctx.devices[port.device_id]),
        "name": port.name,
        "description": port.description or "",
        "cable": cable_brief(ctx, cable) if cable else None,
        "_occupied": cable is not None,
    }


def interface_full(ctx: Context, port: Interface) -> Json:
    brief = interface_brief(ctx, port)
    end = ctx.cable_ends.get(port.id or 0)
    peers = ctx.interfaces({end.peer_id}) if end and end.peer_id else {}
    far = ctx.interfaces({end.far_id}) if end else {}
    return {
        **{k: v for k, v in brief.items() if k != "_occupied"},
        "module": None,
        "label": "",
        "type": choice(port.type.value, INTERFACE_TYPE_LABELS),
        "enabled": port.enabled,
        "parent": None,
        "bridge": None,
        "lag": None,
        "mtu": None,
        "mac_address": None,
        # NetBox counts interface speed in kbps.
        "speed": port.speed_mbps * 1000 if port.speed_mbps else None,
        "duplex": None,
        "wwn": None,
        "mgmt_only": False,
        "mode": None,
        "mark_connected": False,
        "cable_end": end.end if end else "",
        "link_peers": [interface_brief(ctx, p) for p in peers.values()],
        "link_peers_type": "dcim.interface" if peers else None,
        "connected_endpoints": [interface_brief(ctx, p) for p in far.values()] or None,
        "connected_endpoints_type": "dcim.interface" if far else None,
        "connected_endpoints_reachable": bool(far)
        and end is not None
        and end.link.status == "active",
        "tags": [],
        "custom_fields": {},
        "created": _stamp(port.created_at),
        "last_updated": _stamp(port.updated_at),
        "count_ipaddresses": 0,
        "occupied": brief["_occupied"],
    }


def _terminations(ctx: Context, ids: list[int]) -> list[Json]:
    ports = ctx.interfaces(set(ids))
    return [
        {"object_type": "dcim.interface", "object_id": i, "object": interface_brief(ctx, ports[i])}
        for i in ids
        if i in ports
    ]


def cable_full(ctx: Context, cable: FibreCable) -> Json:
    assert cable.id is not None
    a_ends, b_ends = ctx.cable_terminations(cable.id)
    owner = ctx.organisations[cable.owner_id]
    return {
        **cable_brief(ctx, cable),
        "type": "smf",
        "a_terminations": _terminations(ctx, a_ends),
        "b_terminations": _terminations(ctx, b_ends),
        "status": choice(CABLE_STATUS_OUT[cable.status]),
        "tenant": None,
        "color": "",
        "length": float(cable.length_m),
        "length_unit": {"value": "m", "label": "Meters"},
        "comments": "",
        "tags": [],
        "custom_fields": {
            "a_site": cable.a_site_id,
            "z_site": cable.z_site_id,
            "fibre_count": cable.fibre_count,
            "ownership": cable.ownership.value,
            "owner": owner.name,
            "iru_end_date": cable.iru_end_date.isoformat() if cable.iru_end_date else None,
            "route": cable.route,
            "lifecycle": cable.status.value,
        },
        "created": _stamp(cable.created_at),
        "last_updated": _stamp(cable.updated_at),
    }


# --- Tenancy and circuits -----------------------------------------------------------------


def tenant_brief(ctx: Context, organisation: Organisation) -> Json:
    assert organisation.id is not None
    return {
        **_common(ctx, "tenancy/tenants", organisation.id, organisation.name),
        "name": organisation.name,
        "slug": ctx.tenant_slugs[organisation.id],
        "description": "",
    }


def tenant_full(ctx: Context, organisation: Organisation) -> Json:
    return {
        **tenant_brief(ctx, organisation),
        "group": None,
        "comments": "",
        "tags": [],
        "custom_fields": {"siren": organisation.siren, "arcep_code": organisation.arcep_code},
        "created": _stamp(organisation.created_at),
        "last_updated": _stamp(organisation.updated_at),
    }


def provider_brief(ctx: Context, organisation: Organisation) -> Json:
    assert organisation.id is not None
    return {
        **_common(ctx, "circuits/providers", organisation.id, organisation.name),
        "name": organisation.name,
        "slug": ctx.provider_slugs[organisation.id],
        "description": "",
    }


def provider_full(ctx: Context, organisation: Organisation) -> Json:
    return {
        **provider_brief(ctx, organisation),
        "accounts": [],
        "asns": [],
        "comments": "",
        "tags": [],
        "custom_fields": {
            "kind": organisation.kind.value,
            "siren": organisation.siren,
            "arcep_code": organisation.arcep_code,
        },
        "created": _stamp(organisation.created_at),
        "last_updated": _stamp(organisation.updated_at),
    }


def circuit_brief(ctx: Context, circuit: Circuit) -> Json:
    assert circuit.id is not None
    # None when the owner of Gigalis's own cables is an operator, which no provider is.
    provider_id = ctx.circuit_provider_id
    provider = ctx.organisations.get(provider_id) if provider_id in ctx.provider_slugs else None
    return {
        **_common(ctx, "circuits/circuits", circuit.id, circuit.ref),
        "provider": provider_brief(ctx, provider) if provider else None,
        "cid": circuit.ref,
        "description": circuit.description or "",
    }


def termination_id(circuit_id: int, side: str) -> int:
    """
    >>> termination_id(7, "A"), termination_id(7, "Z")
    (13, 14)
    """
    return 2 * circuit_id - (1 if side == "A" else 0)


def termination_brief(ctx: Context, circuit: Circuit, side: str) -> Json:
    assert circuit.id is not None
    object_id = termination_id(circuit.id, side)
    return {
        **_common(
            ctx, "circuits/circuit-terminations", object_id, f"{circuit.ref}: Termination {side}"
        ),
        "circuit": circuit_brief(ctx, circuit),
        "term_side": side,
        "description": "",
        "cable": None,
        "_occupied": False,
    }


def termination_full(ctx: Context, circuit: Circuit, side: str) -> Json:
    end = side.lower()
    site_id = getattr(circuit, f"{end}_site_id")
    speed = circuit.bandwidth_mbps * 1000 if circuit.bandwidth_mbps else None
    return {
        **{k: v for k, v in termination_brief(ctx, circuit, side).items() if k != "_occupied"},
        "site": site_brief(ctx, ctx.sites[site_id]),
        "provider_network": None,
        "port_speed": speed,
        "upstream_speed": None,
        "xconnect_id": "",
        "pp_info": "",
        "mark_connected": False,
        "cable_end": "",
        "link_peers": [],
        "link_peers_type": None,
        "tags": [],
        "custom_fields": {
            "interface": getattr(circuit, f"{end}_interface_id"),
            "vlan": getattr(circuit, f"{end}_vlan"),
        },
        "created": _stamp(circuit.created_at),
        "last_updated": _stamp(circuit.updated_at),
        "occupied": False,
    }


def circuit_full(ctx: Context, circuit: Circuit) -> Json:
    kind = _enum_by_value(CIRCUIT_TYPES, circuit.service_type.value)
    has_z = circuit.z_site_id is not None
    return {
        **circuit_brief(ctx, circuit),
        "provider_account": None,
        "type": circuit_type_brief(ctx, kind),
        "status": choice(CIRCUIT_STATUS_OUT[circuit.status]),
        "tenant": tenant_brief(ctx, ctx.organisations[circuit.operator_id]),
        "install_date": circuit.in_service_since.isoformat() if circuit.in_service_since else None,
        "termination_date": None,
        # NetBox's commit rate is in kbps.
        "commit_rate": circuit.bandwidth_mbps * 1000 if circuit.bandwidth_mbps else None,
        "termination_a": termination_brief(ctx, circuit, "A"),
        "termination_z": termination_brief(ctx, circuit, "Z") if has_z else None,
        "comments": "",
        "tags": [],
        "custom_fields": {
            # The exact Gigalis status, which the NetBox status folds (reserved and designed
            # both read as planned).
            "lifecycle": circuit.status.value,
            "protected": circuit.protected,
            "a_site": circuit.a_site_id,
            "z_site": circuit.z_site_id,
            "a_interface": circuit.a_interface_id,
            "z_interface": circuit.z_interface_id,
            "a_vlan": circuit.a_vlan,
            "z_vlan": circuit.z_vlan,
        },
        "created": _stamp(circuit.created_at),
        "last_updated": _stamp(circuit.updated_at),
    }
