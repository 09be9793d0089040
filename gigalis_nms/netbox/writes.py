"""Writes through the dialect: a NetBox body translated field by field into the inventory's
own Create and Update models, then the inventory's service functions, so that every rule and
the audit log hold as they do for /api/v1.

A NetBox field Gigalis stores is translated; a field it serves as a constant (an empty
description, no tags) is accepted when sent with that value; any other field answers 400
naming it, rather than being dropped while the client believes it saved. Read-only fields
(``id``, ``url``, ``display``, ``created``, ``last_updated``) are ignored, as NetBox ignores
them. Nested objects are written as their id (``{"id": n}`` is accepted too), choices as
their value. Refusals read as NetBox clients expect: 400, naming the NetBox field; a
duplicate or an object still referenced answers 409, as the inventory's conflicts do, naming
the NetBox field too.

Manufacturers, device types and platforms are the dialect's own tables: their EntitySpecs
are here, so that they are written by the same service functions as the inventory.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, SQLModel, col, select

from gigalis_nms.api.errors import reason_of
from gigalis_nms.api.inventory import strict
from gigalis_nms.db.types import fits_row_id
from gigalis_nms.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    UnsupportedMediaType,
)
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, LifecycleStatus, OrganisationKind
from gigalis_nms.inventory.models import Circuit, Device, DeviceUpdate, FibreCable
from gigalis_nms.inventory.service import EntitySpec
from gigalis_nms.netbox.choices import (
    CABLE_STATUS_IN,
    CABLE_STATUS_OUT,
    CIRCUIT_STATUS_OUT,
    CIRCUIT_TYPES,
    DEVICE_ROLES,
    METRES_PER_UNIT,
    PROVIDER_KINDS,
    EnumObject,
    metres,
)
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.endpoints import Writes
from gigalis_nms.netbox.models import (
    DeviceType,
    DeviceTypeCreate,
    DeviceTypeUpdate,
    Manufacturer,
    ManufacturerCreate,
    ManufacturerUpdate,
    Platform,
    PlatformCreate,
    PlatformUpdate,
)

Json = dict[str, Any]
# (context, the NetBox value, the object being changed or None) → Gigalis fields to set.
Converter = Callable[[Context, Any, Any], Json]
# (context, the fields translated, the object being changed or None) → the fields to write:
# where several NetBox fields make one Gigalis field (a length and its unit).
Finisher = Callable[[Context, Json, Any], Json]
# (context, the object written, the translated fields the inventory's models lack).
After = Callable[[Context, Any, Json], None]

READ_ONLY = frozenset({"id", "url", "display", "created", "last_updated"})


class DialectInvalid(InvalidInput):
    """A body the dialect refuses, naming the NetBox field: 400, as NetBox answers."""

    status_code = 400
    code = "invalid"


def refuse(name: str, reason: str) -> DialectInvalid:
    return DialectInvalid.of(name, reason)


# --- Converters ---------------------------------------------------------------------------


def to(name: str) -> Converter:
    return lambda _ctx, value, _current: {name: value}


def reference(name: str, netbox_name: str) -> Converter:
    """A nested object written as its id, or as ``{"id": n}``."""

    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        return {name: id_of(netbox_name, value)}

    return convert


def id_of(netbox_name: str, value: Any) -> int | None:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise refuse(netbox_name, "write a nested object as its id")


def value_of(netbox_name: str, value: Any) -> Any:
    """A choice, written as its value or as the ``{value, label}`` it reads as."""
    if isinstance(value, dict):
        if "value" not in value:
            raise refuse(netbox_name, "write a choice as its value")
        return value["value"]
    return value


def enum_member(items: list[EnumObject], netbox_name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        found = [item for item in items if value in (item.slug, item.value)]
    else:
        wanted = id_of(netbox_name, value)
        found = [item for item in items if item.id == wanted]
    if not found:
        raise refuse(netbox_name, f"no {netbox_name} {value!r}")
    return found[0].value


def kbps(name: str, netbox_name: str, most_mbps: int) -> Converter:
    """NetBox counts speeds and commit rates in kbps; Gigalis in whole Mb/s, up to
    ``most_mbps`` (said in kbps when refused, as the client wrote it)."""

    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        if value is None:
            return {name: None}
        if not isinstance(value, int) or isinstance(value, bool) or value % 1000:
            raise refuse(netbox_name, "kbps, in whole Mb/s (a multiple of 1000)")
        if not 0 < value <= most_mbps * 1000:
            raise refuse(netbox_name, f"from 1000 to {most_mbps * 1000} kbps")
        return {name: value // 1000}

    return convert


def number(name: str, netbox_name: str) -> Converter:
    """A JSON number; true and false are not numbers, whatever Python thinks."""

    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        if isinstance(value, bool) or not isinstance(value, int | float | None):
            raise refuse(netbox_name, f"a number, not {value!r}")
        return {name: value}

    return convert


def choice_value(name: str, netbox_name: str | None = None) -> Converter:
    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        return {name: value_of(netbox_name or name, value)}

    return convert


def is_one_of(value: Any, values: Iterable[str]) -> bool:
    """Whether a value a client wrote, of any JSON type, is one of ``values``."""
    return isinstance(value, str) and value in values


def optional_text(name: str) -> Converter:
    """A text Gigalis keeps as null when empty, which NetBox serves as ``""``."""
    return lambda _ctx, value, _current: {name: value or None}


@dataclass(frozen=True)
class Translation:
    """How one endpoint's NetBox fields become the inventory's."""

    spec: EntitySpec
    fields: Mapping[str, Converter]
    custom_fields: Mapping[str, Converter] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # Gigalis field → NetBox field
    on_create: Mapping[str, Any] = field(default_factory=dict)  # fixed fields of new objects
    defaults: Mapping[str, Any] = field(default_factory=dict)  # of new objects, unless sent
    finish: Finisher | None = None

    def values(self, ctx: Context, body: Any, current: Any) -> Json:
        if not isinstance(body, dict):
            raise refuse("body", "a JSON object")
        values: Json = {}
        for name, value in body.items():
            if name in READ_ONLY:
                continue
            if name == "custom_fields":
                values.update(self._custom(ctx, value, current))
            elif name in self.fields:
                self._merge(values, self.fields[name](ctx, value, current), name)
            elif name in self.constants and self.constants[name] == value:
                continue
            else:
                raise refuse(name, "not a field Gigalis stores on this object")
        return self.finish(ctx, values, current) if self.finish else values

    def _custom(self, ctx: Context, custom: Any, current: Any) -> Json:
        if not isinstance(custom, dict):
            raise refuse("custom_fields", "a JSON object")
        values: Json = {}
        for name, value in custom.items():
            if name not in self.custom_fields:
                raise refuse(f"custom_fields.{name}", "not a custom field of this object")
            self._merge(values, self.custom_fields[name](ctx, value, current), name)
        return values

    @staticmethod
    def _merge(values: Json, new: Json, name: str) -> None:
        for key, value in new.items():
            if key in values and values[key] != value:
                raise refuse(name, f"says {value!r} where another field says {values[key]!r}")
            values[key] = value

    def model(self, model: type[SQLModel], values: Json) -> SQLModel:
        try:
            return strict(model)(**values)
        except ValidationError as error:
            problems = [self._problem(item) for item in error.errors()]
            raise DialectInvalid("; ".join(map(str, problems)), problems) from None

    def _problem(self, item: Any) -> FieldProblem:
        ours = str(item["loc"][0]) if item["loc"] else "body"
        reason = reason_of(item["msg"])
        if item["type"] == "extra_forbidden":
            reason = "cannot be changed on an existing object"
        elif item["type"] == "missing":
            reason = "required by Gigalis"
        return FieldProblem(self.names.get(ours, ours), reason)

    def renamed(self, problems: list[FieldProblem]) -> list[FieldProblem]:
        return [FieldProblem(self.names.get(p.field, p.field), p.reason) for p in problems]

    @contextmanager
    def netbox_names(self, *, deleting: bool = False) -> Iterator[None]:
        """The service's refusals, with NetBox's field names, answering as NetBox does: 400
        for a body it refuses, a duplicate included (pynetbox reads a 409 answering a POST
        as a failed IP allocation and drops the reason), and 409 for a delete of an object
        still in use."""
        try:
            yield
        except UnsupportedMediaType:
            raise
        except DialectInvalid:
            raise
        except InvalidInput as error:
            problems = self.renamed(error.problems)
            raise DialectInvalid("; ".join(map(str, problems)) or error.message, problems) from None
        except Conflict as error:
            problems = self.renamed(error.problems)
            kind = Conflict if deleting else DialectInvalid
            raise kind("; ".join(map(str, problems)) or error.message, problems) from None


def writes_of(translation: Translation, after: After | None = None) -> Writes:
    """Create, update and delete for one endpoint through the service functions. ``after``
    writes the fields only the dialect knows (a device's type)."""
    spec = translation.spec
    own_fields = set(spec.create.model_fields) | set(spec.update.model_fields)
    create_only = set(spec.create.model_fields) - set(spec.update.model_fields)

    def split(values: Json) -> tuple[Json, Json]:
        return (
            {k: v for k, v in values.items() if k in own_fields},
            {k: v for k, v in values.items() if k not in own_fields},
        )

    def create(ctx: Context, body: Json) -> Any:
        sent = translation.values(ctx, body, None)
        values, extra = split({**translation.defaults, **sent, **translation.on_create})
        with translation.netbox_names():
            obj = service.create_object(ctx.session, spec, translation.model(spec.create, values))
            if after:
                after(ctx, obj, extra)
        return obj

    def update(ctx: Context, obj: Any, body: Json) -> Any:
        values, extra = split(translation.values(ctx, body, obj))
        # A client sends back fields set once, at creation (pynetbox sends every custom field
        # when one changes): the same value is no change; another is refused by the model.
        values = {k: v for k, v in values.items() if k not in create_only or v != getattr(obj, k)}
        with translation.netbox_names():
            changed = service.update_object(
                ctx.session, spec, obj.id, translation.model(spec.update, values)
            )
            if after:
                after(ctx, changed, extra)
        return changed

    def delete(ctx: Context, obj: Any) -> None:
        with translation.netbox_names(deleting=True):
            service.delete_object(ctx.session, spec, obj.id)

    return Writes(create, update, delete)


def guarded(writes: Writes, guard: Callable[[Context, Any], None]) -> Writes:
    """``writes`` whose deletes ``guard`` may refuse first: references the database does not
    hold (a platform named by its slug) or would silently undo (a platform's manufacturer)."""

    def delete(ctx: Context, obj: Any) -> None:
        guard(ctx, obj)
        writes.delete(ctx, obj)

    return replace(writes, delete=delete)


def _count(session: Session, table: type[SQLModel], *where: Any) -> int:
    counted = select(sa.func.count()).select_from(table).where(*where)
    return int(session.exec(counted).one())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _slug_made_from_name(slugs: Callable[[Context], Mapping[int, str]], what: str) -> After:
    """Checks a slug sent with a tenant or provider, whose slugs are made from their names,
    once the name is written (``unique_slugs`` may add the id)."""

    def check(ctx: Context, obj: Any, extra: Json) -> None:
        sent = extra.get("_slug")
        if sent is None:
            return
        ctx.session.flush()
        slug = slugs(Context(ctx.session, ctx.base))[obj.id]
        if sent != slug:
            raise refuse("slug", f"a {what}'s slug is made from its name: {slug!r}")

    return check


def _slug(_ctx: Context, value: Any, _current: Any) -> Json:
    return {"_slug": value}


# --- Sites --------------------------------------------------------------------------------


def _site_code(ctx: Context, value: Any, _current: Any) -> Json:
    return {"code": value.upper() if isinstance(value, str) else value}


SITE_WRITES = writes_of(
    Translation(
        spec=service.SITES,
        fields={
            "name": to("name"),
            "slug": _site_code,  # the slug is the code in lower case
            "facility": _site_code,
            "status": choice_value("status"),
            "physical_address": lambda _c, v, _o: {"address": v or None},
            "latitude": number("latitude", "latitude"),
            "longitude": number("longitude", "longitude"),
        },
        custom_fields={"insee_code": to("insee_code"), "kind": to("kind")},
        constants={"description": "", "comments": "", "tags": [], "time_zone": "Europe/Paris"},
        names={
            "code": "facility",
            "address": "physical_address",
            "insee_code": "custom_fields.insee_code",
            "kind": "custom_fields.kind",
        },
    )
)


# --- Tenants and providers ----------------------------------------------------------------

TENANT_WRITES = writes_of(
    Translation(
        spec=service.ORGANISATIONS,
        fields={"name": to("name"), "slug": _slug},
        custom_fields={"siren": to("siren"), "arcep_code": to("arcep_code")},
        constants={"description": "", "comments": "", "tags": [], "group": None},
        names={"siren": "custom_fields.siren", "arcep_code": "custom_fields.arcep_code"},
        on_create={"kind": OrganisationKind.OPERATOR},  # every tenant is an operator
    ),
    _slug_made_from_name(lambda ctx: ctx.tenant_slugs, "tenant"),
)


def _provider_kind(_ctx: Context, value: Any, _current: Any) -> Json:
    if not is_one_of(value, PROVIDER_KINDS):
        kinds = ", ".join(kind.value for kind in PROVIDER_KINDS)
        raise refuse("custom_fields.kind", f"one of {kinds}: operators are tenants, not providers")
    return {"kind": OrganisationKind(value)}


PROVIDER_WRITES = writes_of(
    Translation(
        spec=service.ORGANISATIONS,
        fields={"name": to("name"), "slug": _slug},
        custom_fields={
            "kind": _provider_kind,
            "siren": to("siren"),
            "arcep_code": to("arcep_code"),
        },
        constants={"description": "", "comments": "", "tags": [], "accounts": [], "asns": []},
        names={
            "kind": "custom_fields.kind",
            "siren": "custom_fields.siren",
            "arcep_code": "custom_fields.arcep_code",
        },
        defaults={"kind": OrganisationKind.SUPPLIER},
    ),
    _slug_made_from_name(lambda ctx: ctx.provider_slugs, "provider"),
)


# --- Manufacturers, device types and platforms ---------------------------------------------


def _check_platform(session: Session, values: Json, current: Any) -> None:
    """Devices name their platform by its slug (``device.platform``), which no foreign key
    follows: the slug stays while devices use it."""
    if current is None or values["slug"] == current.slug:
        return
    used = _count(session, Device, col(Device.platform) == current.slug)
    if used:
        raise InvalidInput.of(
            "slug",
            f"platform {current.slug} is run by {_plural(used, 'device')}, which name it by "
            "its slug; move them to another platform first",
        )


MANUFACTURERS = EntitySpec(
    label="manufacturer",
    table=Manufacturer,
    public=Manufacturer,
    create=ManufacturerCreate,
    update=ManufacturerUpdate,
    natural_key="name",
)
DEVICE_TYPES = EntitySpec(
    label="device type",
    table=DeviceType,
    public=DeviceType,
    create=DeviceTypeCreate,
    update=DeviceTypeUpdate,
    natural_key="model",
)
PLATFORMS = EntitySpec(
    label="platform",
    table=Platform,
    public=Platform,
    create=PlatformCreate,
    update=PlatformUpdate,
    natural_key="name",
    check=_check_platform,
)


def _manufacturer_in_use(ctx: Context, maker: Manufacturer) -> None:
    # The database would set a platform's manufacturer to null, unaudited; NetBox protects it.
    uses = {
        "device type": _count(ctx.session, DeviceType, col(DeviceType.manufacturer_id) == maker.id),
        "platform": _count(ctx.session, Platform, col(Platform.manufacturer_id) == maker.id),
    }
    if any(uses.values()):
        referrers = ", ".join(_plural(n, noun) for noun, n in uses.items() if n)
        raise Conflict.of("id", f"manufacturer {maker.name} is still referenced by {referrers}")


def _platform_in_use(ctx: Context, platform: Platform) -> None:
    used = _count(ctx.session, Device, col(Device.platform) == platform.slug)
    if used:
        raise Conflict.of(
            "id", f"platform {platform.slug} is still used by {_plural(used, 'device')}"
        )


MANUFACTURER_WRITES = guarded(
    writes_of(
        Translation(
            spec=MANUFACTURERS,
            fields={"name": to("name"), "slug": to("slug"), "description": to("description")},
            constants={"tags": []},
        )
    ),
    _manufacturer_in_use,
)
DEVICE_TYPE_WRITES = writes_of(
    Translation(
        spec=DEVICE_TYPES,
        fields={
            "manufacturer": reference("manufacturer_id", "manufacturer"),
            "model": to("model"),
            "slug": to("slug"),
            "part_number": to("part_number"),
            "u_height": to("u_height"),
            "description": to("description"),
        },
        constants={"is_full_depth": True, "comments": "", "tags": []},
        names={"manufacturer_id": "manufacturer"},
    )
)
PLATFORM_WRITES = guarded(
    writes_of(
        Translation(
            spec=PLATFORMS,
            fields={
                "name": to("name"),
                "slug": to("slug"),
                "manufacturer": reference("manufacturer_id", "manufacturer"),
                "napalm_driver": to("napalm_driver"),
                "description": to("description"),
            },
            constants={"napalm_args": None, "config_template": None, "tags": []},
            names={"manufacturer_id": "manufacturer"},
        )
    ),
    _platform_in_use,
)


# --- Devices and interfaces ---------------------------------------------------------------

PRIMARY_IP_IS_MANAGEMENT = (
    "a device's primary IP is its management address: write it through ipam/ip-addresses "
    "with custom_fields.device"
)


def _role(_ctx: Context, value: Any, _current: Any) -> Json:
    return {"role": enum_member(DEVICE_ROLES, "role", value)}


def _platform(ctx: Context, value: Any, _current: Any) -> Json:
    wanted = id_of("platform", value)
    if wanted is None:
        return {"platform": None}
    slugs = [slug for slug, p in ctx.platforms.items() if p.id == wanted]
    if not slugs:
        raise refuse("platform", f"no platform with id {wanted}")
    return {"platform": slugs[0]}


def _device_type(ctx: Context, value: Any, _current: Any) -> Json:
    wanted = id_of("device_type", value)
    if wanted is not None and wanted not in ctx.device_types:
        raise refuse("device_type", f"no device type with id {wanted}")
    return {"device_type_id": wanted}


def _set_device_type(ctx: Context, device: Any, extra: Json) -> None:
    if "device_type_id" in extra:
        device.device_type_id = extra["device_type_id"]
        ctx.session.add(device)


def _family(address: str | None) -> int | None:
    return ipaddress.ip_address(address).version if address else None


def _primary_ip(version: int) -> Converter:
    """A device's primary IP of one family, which is its management address: null clears the
    address of that family, the address's own id keeps it, anything else is refused."""
    name = f"primary_ip{version}"

    def convert(_ctx: Context, value: Any, current: Device | None) -> Json:
        wanted = id_of(name, value)
        family = _family(current.management_address) if current is not None else None
        if wanted is None:
            return {"management_address": None} if family == version else {}
        if current is not None and wanted == current.id and family == version:
            return {}
        raise refuse(name, PRIMARY_IP_IS_MANAGEMENT)

    return convert


DEVICE_WRITES = writes_of(
    Translation(
        spec=service.DEVICES,
        fields={
            "name": to("hostname"),
            "site": reference("site_id", "site"),
            "role": _role,
            "platform": _platform,
            "device_type": _device_type,
            "status": choice_value("status"),
            "serial": optional_text("serial"),
            "primary_ip4": _primary_ip(4),
            "primary_ip6": _primary_ip(6),
        },
        constants={"description": "", "comments": "", "tags": [], "tenant": None},
        names={"hostname": "name", "site_id": "site"},
    ),
    _set_device_type,
)

INTERFACE_WRITES = writes_of(
    Translation(
        spec=service.INTERFACES,
        fields={
            "device": reference("device_id", "device"),
            "name": to("name"),
            "type": choice_value("type"),
            "enabled": to("enabled"),
            "speed": kbps("speed_mbps", "speed", most_mbps=1_600_000),
            "description": optional_text("description"),
        },
        constants={"label": "", "tags": [], "mgmt_only": False, "mtu": None},
        names={"device_id": "device", "speed_mbps": "speed"},
    )
)


# --- Management addresses -----------------------------------------------------------------


def _address(_ctx: Context, value: Any, _current: Any) -> Json:
    # NetBox stores an interface's address with its prefix; a management address is a host.
    try:
        host = ipaddress.ip_interface(value).ip if isinstance(value, str) else None
    except ValueError:
        host = None
    if host is None:
        raise refuse("address", f"{value!r} is not an IPv4 or IPv6 address, as 192.0.2.10/32")
    return {"management_address": str(host)}


def _ip_status(_ctx: Context, value: Any, _current: Any) -> Json:
    if value_of("status", value) != "active":
        raise refuse("status", "a management address is active")
    return {}


IP_TRANSLATION = Translation(
    spec=service.DEVICES,
    fields={
        "address": _address,
        "status": _ip_status,
        "dns_name": lambda _c, value, _o: {"_dns_name": value},
    },
    custom_fields={"device": reference("_device", "custom_fields.device")},
    constants={
        "description": "",
        "comments": "",
        "tags": [],
        "vrf": None,
        "tenant": None,
        "role": None,
        "assigned_object_type": None,
        "assigned_object_id": None,
        "nat_inside": None,
    },
    names={"management_address": "address"},
)


def _set_management_address(ctx: Context, device: Device, values: Json) -> Device:
    """Checks the fields only a management address has, then writes the address."""
    dns_name = values.pop("_dns_name", "")
    if dns_name not in ("", device.hostname):
        raise refuse(
            "dns_name",
            f"a management address's DNS name is its device's hostname, {device.hostname}",
        )
    assert device.id is not None
    with IP_TRANSLATION.netbox_names():
        body = IP_TRANSLATION.model(DeviceUpdate, values)
        changed: Device = service.update_object(ctx.session, service.DEVICES, device.id, body)
    return changed


def _create_ip(ctx: Context, body: Json) -> Device:
    values = IP_TRANSLATION.values(ctx, body, None)
    device_id = values.pop("_device", None)
    if device_id is None:
        raise refuse("custom_fields.device", "required: the device this address manages")
    device = ctx.session.get(Device, device_id) if fits_row_id(device_id) else None
    if device is None:
        raise refuse("custom_fields.device", f"no device with id {device_id}")
    if "management_address" not in values:
        raise refuse("address", "required")
    if device.management_address is not None:
        raise refuse(
            "address",
            f"device {device.hostname} already has management address "
            f"{device.management_address}; PATCH ip-address {device.id}",
        )
    return _set_management_address(ctx, device, values)


def _update_ip(ctx: Context, device: Device, body: Json) -> Device:
    values = IP_TRANSLATION.values(ctx, body, device)
    moved_to = values.pop("_device", device.id)
    if moved_to != device.id:
        raise refuse(
            "custom_fields.device",
            "a management address stays with its device: delete it and create one on the other",
        )
    return _set_management_address(ctx, device, values)


def _delete_ip(ctx: Context, device: Device) -> None:
    _set_management_address(ctx, device, {"management_address": None})


IP_ADDRESS_WRITES = Writes(_create_ip, _update_ip, _delete_ip)


# --- Cables -------------------------------------------------------------------------------

DERIVED_TERMINATIONS = (
    "Gigalis derives a cable's terminations from the backbone links riding it; "
    "create the link at /api/v1/links"
)


def _cable_status(_ctx: Context, value: Any, _current: Any) -> Json:
    value = value_of("status", value)
    if not is_one_of(value, CABLE_STATUS_IN):
        raise refuse("status", f"{value!r} is not a cable status: {', '.join(CABLE_STATUS_IN)}")
    return {"_status": CABLE_STATUS_IN[value]}


def _cable_lifecycle(_ctx: Context, value: Any, _current: Any) -> Json:
    if not is_one_of(value, [status.value for status in LifecycleStatus]):
        statuses = ", ".join(LifecycleStatus)
        raise refuse("custom_fields.lifecycle", f"one of {statuses}, not {value!r}")
    return {"_lifecycle": LifecycleStatus(value)}


def _cable_state(values: Json, current: FibreCable | None) -> Json:
    """The Gigalis status from the exact lifecycle, or else from the NetBox status, which
    reads retired as decommissioning: decommissioning keeps a retired cable retired."""
    status, lifecycle = values.pop("_status", None), values.pop("_lifecycle", None)
    if lifecycle is not None:
        if status is not None and CABLE_STATUS_OUT[lifecycle] != CABLE_STATUS_OUT[status]:
            raise refuse(
                "custom_fields.lifecycle",
                f"{lifecycle} reads as status {CABLE_STATUS_OUT[lifecycle]}, "
                f"not {CABLE_STATUS_OUT[status]}",
            )
        values["status"] = lifecycle
    elif status is not None:
        retired = current is not None and current.status is LifecycleStatus.RETIRED
        keep = retired and status is LifecycleStatus.DECOMMISSIONING
        values["status"] = LifecycleStatus.RETIRED if keep else status
    return values


def _cable_type(_ctx: Context, value: Any, _current: Any) -> Json:
    if value_of("type", value) not in ("smf", "", None):
        raise refuse("type", "Gigalis's cables are single-mode fibre: smf")
    return {}


def _length(_ctx: Context, value: Any, _current: Any) -> Json:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise refuse("length", f"a positive number, not {value!r}")
    return {"_length": value}


def _length_unit(_ctx: Context, value: Any, _current: Any) -> Json:
    unit = value_of("length_unit", value) or None
    if unit is not None and not is_one_of(unit, METRES_PER_UNIT):
        raise refuse("length_unit", f"one of {', '.join(METRES_PER_UNIT)}, not {unit!r}")
    return {"_length_unit": unit}


def _cable_length(_ctx: Context, values: Json, _current: Any) -> Json:
    """Gigalis keeps a cable's length in whole metres; it reads in metres."""
    length, unit = values.pop("_length", None), values.pop("_length_unit", None)
    if length is None:
        if unit not in (None, "m"):
            raise refuse("length_unit", "lengths are kept in metres: send length with its unit")
        return values
    values["length_m"] = metres(length, unit or "m")
    if values["length_m"] < 1:
        raise refuse("length", "at least a metre: Gigalis keeps whole metres")
    return values


def _owner(ctx: Context, value: Any, _current: Any) -> Json:
    found = [i for i, o in ctx.organisations.items() if o.name == value]
    if not found:
        raise refuse("custom_fields.owner", f"no organisation named {value!r}")
    return {"owner_id": found[0]}


def _route(_ctx: Context, value: Any, _current: Any) -> Json:
    if value is None:
        return {"route": None}

    def is_point(point: Any) -> bool:
        numbers = isinstance(point, list) and len(point) == 2
        numbers = numbers and all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in point
        )
        return numbers and -180 <= point[0] <= 180 and -90 <= point[1] <= 90

    if not isinstance(value, list) or not all(is_point(point) for point in value):
        raise refuse("custom_fields.route", "a list of [longitude, latitude] pairs, or null")
    return {"route": [[float(lon), float(lat)] for lon, lat in value]}


def _terminations(end: str) -> Converter:
    """A cable's terminations, accepted when they are those Gigalis derives (a client sending
    back what it read)."""
    name = f"{end}_terminations"

    def convert(ctx: Context, value: Any, current: FibreCable | None) -> Json:
        if not isinstance(value, list) or not all(
            isinstance(t, dict) and {"object_type", "object_id"} <= t.keys() for t in value
        ):
            raise refuse(name, "a list of {object_type, object_id}")
        sent = {(t["object_type"], t["object_id"]) for t in value}
        derived: set[tuple[str, Any]] = set()
        if current is not None and current.id is not None:
            a_ends, b_ends = ctx.cable_terminations(current.id)
            derived = {("dcim.interface", i) for i in (a_ends if end == "a" else b_ends)}
        if sent != derived:
            raise refuse(name, DERIVED_TERMINATIONS)
        return {}

    return convert


CABLE_WRITES = writes_of(
    Translation(
        spec=service.CABLES,
        fields={
            "label": to("code"),
            "status": _cable_status,
            "type": _cable_type,
            "length": _length,
            "length_unit": _length_unit,
            "a_terminations": _terminations("a"),
            "b_terminations": _terminations("b"),
        },
        custom_fields={
            "a_site": reference("a_site_id", "custom_fields.a_site"),
            "z_site": reference("z_site_id", "custom_fields.z_site"),
            "fibre_count": number("fibre_count", "custom_fields.fibre_count"),
            "ownership": to("ownership"),
            "owner": _owner,
            "iru_end_date": to("iru_end_date"),
            "route": _route,
            "lifecycle": _cable_lifecycle,
        },
        constants={"tenant": None, "color": "", "comments": "", "description": "", "tags": []},
        names={
            "code": "label",
            "length_m": "length",
            **{
                ours: f"custom_fields.{theirs}"
                for ours, theirs in (
                    ("a_site_id", "a_site"),
                    ("z_site_id", "z_site"),
                    ("fibre_count", "fibre_count"),
                    ("ownership", "ownership"),
                    ("owner_id", "owner"),
                    ("iru_end_date", "iru_end_date"),
                    ("route", "route"),
                )
            },
        },
        finish=lambda ctx, values, current: _cable_state(
            _cable_length(ctx, values, current), current
        ),
    )
)


# --- Circuits -----------------------------------------------------------------------------

CIRCUIT_STATUS_IN = {
    "provisioning": CircuitStatus.PROVISIONING,
    "active": CircuitStatus.ACTIVE,
    "offline": CircuitStatus.SUSPENDED,
    "decommissioned": CircuitStatus.TERMINATED,
}
STILL_PLANNED = (CircuitStatus.RESERVED, CircuitStatus.DESIGNED)


def _netbox_status(_ctx: Context, value: Any, _current: Any) -> Json:
    value = value_of("status", value)
    if value != "planned" and not is_one_of(value, CIRCUIT_STATUS_IN):
        raise refuse("status", f"{value!r} is not a circuit status Gigalis has")
    return {"_status": value}


def _lifecycle(_ctx: Context, value: Any, _current: Any) -> Json:
    if not is_one_of(value, [status.value for status in CircuitStatus]):
        statuses = ", ".join(CircuitStatus)
        raise refuse("custom_fields.lifecycle", f"one of {statuses}, not {value!r}")
    return {"_lifecycle": CircuitStatus(value)}


def _circuit_status(_ctx: Context, values: Json, current: Circuit | None) -> Json:
    """The Gigalis status from the exact lifecycle, or else from the NetBox status, which
    folds reserved and designed into planned: planned keeps either, or makes reserved."""
    status, lifecycle = values.pop("_status", None), values.pop("_lifecycle", None)
    if lifecycle is not None:
        if status is not None and status != CIRCUIT_STATUS_OUT[lifecycle]:
            raise refuse(
                "custom_fields.lifecycle",
                f"{lifecycle} reads as status {CIRCUIT_STATUS_OUT[lifecycle]}, not {status}",
            )
        values["status"] = lifecycle
    elif status == "planned":
        keep = current is not None and current.status in STILL_PLANNED
        values["status"] = current.status if keep and current else CircuitStatus.RESERVED
    elif status is not None:
        values["status"] = CIRCUIT_STATUS_IN[status]
    return values


def _circuit_type(_ctx: Context, value: Any, _current: Any) -> Json:
    return {"service_type": enum_member(CIRCUIT_TYPES, "type", value)}


def _circuit_provider(ctx: Context, value: Any, _current: Any) -> Json:
    wanted = id_of("provider", value)
    provider = ctx.circuit_provider_id
    if wanted != provider:
        named = ctx.organisations.get(provider or 0)
        who = f"{named.name} (id {provider})" if named else "no provider yet (no cable of its own)"
        raise refuse("provider", f"Gigalis's circuits are provided by {who}")
    return {}


CIRCUIT_WRITES = writes_of(
    Translation(
        spec=service.CIRCUITS,
        fields={
            "cid": to("ref"),
            "provider": _circuit_provider,
            "type": _circuit_type,
            "tenant": reference("operator_id", "tenant"),
            "status": _netbox_status,
            "commit_rate": kbps("bandwidth_mbps", "commit_rate", most_mbps=400_000),
            "install_date": to("in_service_since"),
            "description": optional_text("description"),
        },
        # NetBox puts a circuit's ends on terminations made after it; a Gigalis circuit has
        # its A site from the start, so the ends are written as custom fields.
        custom_fields={
            "lifecycle": _lifecycle,
            "protected": to("protected"),
            "a_site": reference("a_site_id", "custom_fields.a_site"),
            "z_site": reference("z_site_id", "custom_fields.z_site"),
            "a_interface": reference("a_interface_id", "custom_fields.a_interface"),
            "z_interface": reference("z_interface_id", "custom_fields.z_interface"),
            "a_vlan": to("a_vlan"),
            "z_vlan": to("z_vlan"),
        },
        constants={"comments": "", "tags": [], "termination_date": None},
        names={
            "ref": "cid",
            "operator_id": "tenant",
            "service_type": "type",
            "bandwidth_mbps": "commit_rate",
            "in_service_since": "install_date",
            **{
                f"{end}_{ours}": f"custom_fields.{end}_{theirs}"
                for end in ("a", "z")
                for ours, theirs in (("site_id", "site"), ("interface_id", "interface"))
            },
            "a_vlan": "custom_fields.a_vlan",
            "z_vlan": "custom_fields.z_vlan",
            "protected": "custom_fields.protected",
        },
        finish=_circuit_status,
    )
)

WRITES_BY_PATH: dict[str, Writes] = {
    "dcim/sites": SITE_WRITES,
    "dcim/manufacturers": MANUFACTURER_WRITES,
    "dcim/device-types": DEVICE_TYPE_WRITES,
    "dcim/platforms": PLATFORM_WRITES,
    "dcim/devices": DEVICE_WRITES,
    "dcim/interfaces": INTERFACE_WRITES,
    "dcim/cables": CABLE_WRITES,
    "ipam/ip-addresses": IP_ADDRESS_WRITES,
    "tenancy/tenants": TENANT_WRITES,
    "circuits/providers": PROVIDER_WRITES,
    "circuits/circuits": CIRCUIT_WRITES,
}
