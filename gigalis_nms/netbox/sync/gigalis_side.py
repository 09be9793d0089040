"""The Gigalis side of a sync: its database read into the neutral form, and a plan applied
to it through the inventory's service functions, so that an import obeys every rule the API
obeys and the audit log records each change under the session's actor.

Optional texts are ``""`` when empty in the neutral form, as NetBox serves them; Gigalis
stores ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from gigalis_nms.api.errors import reason_of
from gigalis_nms.api.inventory import strict
from gigalis_nms.errors import FieldProblem, GigalisError, InvalidInput
from gigalis_nms.inventory import service
from gigalis_nms.inventory.models import (
    Circuit,
    Device,
    FibreCable,
    Interface,
    Organisation,
    Site,
)
from gigalis_nms.inventory.service import EntitySpec
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.models import DeviceType, Manufacturer, Platform
from gigalis_nms.netbox.sync.records import (
    Change,
    Inventory,
    Problem,
    Record,
    interface_key,
    split_interface_key,
)
from gigalis_nms.netbox.writes import DEVICE_TYPES, MANUFACTURERS, PLATFORMS

Values = dict[str, Any]


def _text(value: str | None) -> str:
    return value or ""


# --- Reading ------------------------------------------------------------------------------


def read(session: Session) -> Inventory:
    """Everything Gigalis holds of the shared kinds, in the neutral form."""
    found = Inventory()
    organisations = {o.id: o for o in session.exec(select(Organisation))}
    sites = {s.id: s for s in session.exec(select(Site))}
    makers: dict[int | None, Manufacturer] = {m.id: m for m in session.exec(select(Manufacturer))}
    kinds: dict[int | None, DeviceType] = {t.id: t for t in session.exec(select(DeviceType))}
    devices = {d.id: d for d in session.exec(select(Device))}
    ports = {p.id: p for p in session.exec(select(Interface))}

    def port_key(port_id: int | None) -> str | None:
        if port_id is None:
            return None
        port = ports[port_id]
        return interface_key(devices[port.device_id].hostname, port.name)

    for organisation in organisations.values():
        found.add("organisation", organisation.name, organisation.model_dump(exclude={"contacts"}))
    for site in sites.values():
        found.add("site", site.code, {**site.model_dump(), "address": _text(site.address)})
    for maker in makers.values():
        found.add("manufacturer", maker.slug, maker.model_dump())
    for kind in kinds.values():
        found.add(
            "device_type",
            kind.slug,
            {**kind.model_dump(), "manufacturer": makers[kind.manufacturer_id].slug},
        )
    for platform in session.exec(select(Platform)):
        platform_maker = makers.get(platform.manufacturer_id)
        found.add(
            "platform",
            platform.slug,
            {**platform.model_dump(), "manufacturer": platform_maker and platform_maker.slug},
        )
    for device in devices.values():
        device_kind = kinds.get(device.device_type_id)
        found.add(
            "device",
            device.hostname,
            {
                **device.model_dump(),
                "site": sites[device.site_id].code,
                "device_type": device_kind.slug if device_kind else None,
                "serial": _text(device.serial),
            },
        )
    for port in ports.values():
        found.add(
            "interface",
            interface_key(devices[port.device_id].hostname, port.name),
            {**port.model_dump(), "description": _text(port.description)},
        )
    for cable in session.exec(select(FibreCable)):
        found.add(
            "cable",
            cable.code,
            {
                **cable.model_dump(),
                "a_site": sites[cable.a_site_id].code,
                "z_site": sites[cable.z_site_id].code,
                "owner": organisations[cable.owner_id].name,
            },
        )
    for circuit in session.exec(select(Circuit)):
        found.add(
            "circuit",
            circuit.ref,
            {
                **circuit.model_dump(),
                "operator": organisations[circuit.operator_id].name,
                "a_site": sites[circuit.a_site_id].code,
                "z_site": sites[circuit.z_site_id].code if circuit.z_site_id else None,
                "a_interface": port_key(circuit.a_interface_id),
                "z_interface": port_key(circuit.z_interface_id),
                "description": _text(circuit.description),
            },
        )
    return found


# --- Resolving natural keys ---------------------------------------------------------------


def _id_where(session: Session, column: Any, value: Any, field: str, what: str) -> int | None:
    if value is None:
        return None
    found = session.exec(select(column.table.c.id).where(column == value)).first()
    if found is None:
        raise InvalidInput.of(field, f"no {what} {value!r} in Gigalis")
    return int(found)


def _site_id(session: Session, code: str | None, field: str) -> int | None:
    return _id_where(session, col(Site.code), code, field, "site")


def _organisation_id(session: Session, name: str | None, field: str) -> int | None:
    return _id_where(session, col(Organisation.name), name, field, "organisation")


def _maker_id(session: Session, slug: str | None, field: str) -> int | None:
    return _id_where(session, col(Manufacturer.slug), slug, field, "manufacturer")


def _slug_id(session: Session, table: type[DeviceType] | type[Platform], slug: str) -> int | None:
    what = "device type" if table is DeviceType else "platform"
    return _id_where(session, col(table.slug), slug, "slug", what)


def _device_id(session: Session, hostname: str, field: str) -> int | None:
    return _id_where(session, col(Device.hostname), hostname, field, "device")


def _interface_id(session: Session, key: str | None, field: str) -> int | None:
    if key is None:
        return None
    hostname, name = split_interface_key(key)
    found = session.exec(
        select(Interface.id)
        .join(Device, col(Device.id) == col(Interface.device_id))
        .where(col(Device.hostname) == hostname, col(Interface.name) == name)
    ).first()
    if found is None:
        raise InvalidInput.of(field, f"no interface {key!r} in Gigalis")
    return found


def _none_if_empty(value: str | None) -> str | None:
    return value or None


# --- Records as the inventory's fields ----------------------------------------------------
# Each takes the fields being written (all of a new object's, or those changing) and returns
# the inventory's fields, references resolved to ids.


def _organisation_values(_session: Session, key: str, record: Record) -> Values:
    return {"name": key, **record}


def _site_values(_session: Session, key: str, record: Record) -> Values:
    values = {"code": key, **record}
    if "address" in values:
        values["address"] = _none_if_empty(values["address"])
    return values


def _device_values(session: Session, key: str, record: Record) -> Values:
    values: Values = {"hostname": key, **record}
    if "site" in values:
        values["site_id"] = _site_id(session, values.pop("site"), "site")
    if "serial" in values:
        values["serial"] = _none_if_empty(values["serial"])
    if "device_type" in values:
        slug = values.pop("device_type")
        values["device_type_id"] = _id_where(
            session, col(DeviceType.slug), slug, "device_type", "device type"
        )
    return values


def _interface_values(session: Session, key: str, record: Record) -> Values:
    hostname, name = split_interface_key(key)
    values: Values = {"device_id": _device_id(session, hostname, "device"), "name": name}
    values.update(record)
    if "description" in values:
        values["description"] = _none_if_empty(values["description"])
    return values


def _slugged_values(session: Session, key: str, record: Record) -> Values:
    """Manufacturers, device types and platforms, known by their slug."""
    values: Values = {"slug": key, **record}
    if "manufacturer" in values:
        values["manufacturer_id"] = _maker_id(session, values.pop("manufacturer"), "manufacturer")
    return values


def _cable_values(session: Session, key: str, record: Record) -> Values:
    values: Values = {"code": key, **record}
    for end in ("a", "z"):
        if f"{end}_site" in values:
            values[f"{end}_site_id"] = _site_id(session, values.pop(f"{end}_site"), f"{end}_site")
    if "owner" in values:
        values["owner_id"] = _organisation_id(session, values.pop("owner"), "owner")
    return values


def _circuit_values(session: Session, key: str, record: Record) -> Values:
    values: Values = {"ref": key, **record}
    if "operator" in values:
        values["operator_id"] = _organisation_id(session, values.pop("operator"), "operator")
    for end in ("a", "z"):
        if f"{end}_site" in values:
            values[f"{end}_site_id"] = _site_id(session, values.pop(f"{end}_site"), f"{end}_site")
        if f"{end}_interface" in values:
            port = values.pop(f"{end}_interface")
            values[f"{end}_interface_id"] = _interface_id(session, port, f"{end}_interface")
    if "description" in values:
        values["description"] = _none_if_empty(values["description"])
    return values


# The inventory's field names back to the neutral ones, for messages.
NEUTRAL_NAMES = {
    "site_id": "site",
    "device_id": "device",
    "device_type_id": "device_type",
    "owner_id": "owner",
    "operator_id": "operator",
    "a_site_id": "a_site",
    "z_site_id": "z_site",
    "a_interface_id": "a_interface",
    "z_interface_id": "z_interface",
    "manufacturer_id": "manufacturer",
}

INVENTORY_KINDS: dict[str, tuple[EntitySpec, Callable[[Session, str, Record], Values]]] = {
    "organisation": (service.ORGANISATIONS, _organisation_values),
    "site": (service.SITES, _site_values),
    "manufacturer": (MANUFACTURERS, _slugged_values),
    "device_type": (DEVICE_TYPES, _slugged_values),
    "platform": (PLATFORMS, _slugged_values),
    "device": (service.DEVICES, _device_values),
    "interface": (service.INTERFACES, _interface_values),
    "cable": (service.CABLES, _cable_values),
    "circuit": (service.CIRCUITS, _circuit_values),
}


# --- Applying -----------------------------------------------------------------------------


def apply(session: Session, changes: list[Change]) -> list[Problem]:
    """Apply each change in a savepoint of ``session``; what a rule refuses is rolled back
    alone and reported. Committing or rolling back the whole is the caller's choice."""
    refused: list[Problem] = []
    for change in changes:
        try:
            with session.begin_nested():
                _apply_one(session, change)
        except ValidationError as error:
            refused.extend(_validation_problems(change, error))
        except GigalisError as error:
            refused.extend(_gigalis_problems(change, error))
        except sa.exc.IntegrityError as error:
            reason = f"the database refused it: {error.orig}"
            refused.append(Problem(change.kind, change.key, "", reason))
    return refused


def _apply_one(session: Session, change: Change) -> None:
    _apply_inventory(session, change)
    session.flush()


def _apply_inventory(session: Session, change: Change) -> None:
    spec, values_of = INVENTORY_KINDS[change.kind]
    values = values_of(session, change.key, change.after())
    type_id = values.pop("device_type_id", ...)
    if change.action == "create":
        obj = service.create_object(session, spec, strict(spec.create)(**values))
    else:
        # A key is the object's identity, not a change: drop it from the update.
        keys = {"name", "code", "slug", "hostname", "ref", "device_id"} - change.fields.keys()
        for name in keys:
            values.pop(name, None)
        obj = service.get_object(session, spec, _current_id(session, change))
        if values:
            obj = service.update_object(session, spec, obj.id, strict(spec.update)(**values))
    if type_id is not ...:
        obj.device_type_id = type_id
        session.add(obj)


def _current_id(session: Session, change: Change) -> int:
    lookups: dict[str, Callable[[], int | None]] = {
        "organisation": lambda: _organisation_id(session, change.key, "name"),
        "site": lambda: _site_id(session, change.key, "code"),
        "manufacturer": lambda: _maker_id(session, change.key, "slug"),
        "device_type": lambda: _slug_id(session, DeviceType, change.key),
        "platform": lambda: _slug_id(session, Platform, change.key),
        "device": lambda: _device_id(session, change.key, "hostname"),
        "interface": lambda: _interface_id(session, change.key, "name"),
        "cable": lambda: _id_where(session, col(FibreCable.code), change.key, "code", "cable"),
        "circuit": lambda: _id_where(session, col(Circuit.ref), change.key, "ref", "circuit"),
    }
    found = lookups[change.kind]()
    assert found is not None
    return found


def _validation_problems(change: Change, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        reason = reason_of(item["msg"])
        if item["type"] == "extra_forbidden":
            reason = f"cannot be changed on an existing {change.kind}"
        problems.append(Problem(change.kind, change.key, NEUTRAL_NAMES.get(name, name), reason))
    return problems


def _gigalis_problems(change: Change, error: GigalisError) -> list[Problem]:
    found: list[FieldProblem] = error.problems or [FieldProblem("", error.message)]
    return [
        Problem(change.kind, change.key, NEUTRAL_NAMES.get(p.field, p.field), p.reason)
        for p in found
    ]


def circuit_provider(session: Session) -> str | None:
    """The organisation the dialect names as provider of Gigalis's circuits."""
    provider_id = Context(session, "").circuit_provider_id
    found = session.get(Organisation, provider_id) if provider_id is not None else None
    return found.name if found else None
