"""Writes through the dialect: a NetBox body translated field by field into the inventory's
own Create and Update models, then the inventory's service functions, so that every rule and
the audit log hold as they do for /api/v1.

A NetBox field Gigalis stores is translated; a field it serves as a constant (an empty
description, no tags) is accepted when sent with that value; any other field answers 400
naming it, rather than being dropped while the client believes it saved. Nested objects are
written as their id (``{"id": n}`` is accepted too), choices as their value. Refusals read
as NetBox clients expect: 400, naming the NetBox field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import SQLModel

from gigalis_nms.api.errors import reason_of
from gigalis_nms.api.inventory import strict
from gigalis_nms.errors import FieldProblem, InvalidInput, UnsupportedMediaType
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, OrganisationKind
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.inventory.service import EntitySpec
from gigalis_nms.netbox.choices import CIRCUIT_TYPES, DEVICE_ROLES, EnumObject
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.endpoints import Writes

Json = dict[str, Any]
# (context, the NetBox value, the object being changed or None) → Gigalis fields to set.
Converter = Callable[[Context, Any, Any], Json]


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


def kbps(name: str, netbox_name: str) -> Converter:
    """NetBox counts speeds and commit rates in kbps; Gigalis in whole Mb/s."""

    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        if value is None:
            return {name: None}
        if not isinstance(value, int) or isinstance(value, bool) or value % 1000:
            raise refuse(netbox_name, "kbps, in whole Mb/s (a multiple of 1000)")
        return {name: value // 1000}

    return convert


def choice_value(name: str) -> Converter:
    def convert(_ctx: Context, value: Any, _current: Any) -> Json:
        return {name: value["value"] if isinstance(value, dict) else value}

    return convert


@dataclass(frozen=True)
class Translation:
    """How one endpoint's NetBox fields become the inventory's."""

    spec: EntitySpec
    fields: Mapping[str, Converter]
    custom_fields: Mapping[str, Converter] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # Gigalis field → NetBox field
    on_create: Mapping[str, Any] = field(default_factory=dict)  # fixed fields of new objects

    def values(self, ctx: Context, body: Any, current: Any) -> Json:
        if not isinstance(body, dict):
            raise refuse("body", "a JSON object")
        values: Json = {}
        for name, value in body.items():
            if name in {"id", "url", "display"}:
                continue
            if name == "custom_fields":
                values.update(self._custom(ctx, value, current))
            elif name in self.fields:
                self._merge(values, self.fields[name](ctx, value, current), name)
            elif name in self.constants and self.constants[name] == value:
                continue
            else:
                raise refuse(name, "not a field Gigalis stores on this object")
        return values

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

    @contextmanager
    def netbox_names(self) -> Iterator[None]:
        """The service's refusals, with NetBox's field names and status."""
        try:
            yield
        except UnsupportedMediaType:
            raise
        except InvalidInput as error:
            if isinstance(error, DialectInvalid):
                raise
            problems = [
                FieldProblem(self.names.get(p.field, p.field), p.reason) for p in error.problems
            ]
            raise DialectInvalid("; ".join(map(str, problems)) or error.message, problems) from None


def writes_of(
    translation: Translation, after: Callable[[Context, Any, Json], None] | None = None
) -> Writes:
    """Create, update and delete for one endpoint through the service functions. ``after``
    writes the fields only the dialect knows (a device's type)."""
    spec = translation.spec
    own_fields = set(spec.create.model_fields) | set(spec.update.model_fields)

    def split(values: Json) -> tuple[Json, Json]:
        return (
            {k: v for k, v in values.items() if k in own_fields},
            {k: v for k, v in values.items() if k not in own_fields},
        )

    def create(ctx: Context, body: Json) -> Any:
        values, extra = split({**translation.values(ctx, body, None), **translation.on_create})
        with translation.netbox_names():
            obj = service.create_object(ctx.session, spec, translation.model(spec.create, values))
            if after:
                after(ctx, obj, extra)
        return obj

    def update(ctx: Context, obj: Any, body: Json) -> Any:
        values, extra = split(translation.values(ctx, body, obj))
        with translation.netbox_names():
            changed = service.update_object(
                ctx.session, spec, obj.id, translation.model(spec.update, values)
            )
            if after:
                after(ctx, changed, extra)
        return changed

    def delete(ctx: Context, obj: Any) -> None:
        with translation.netbox_names():
            service.delete_object(ctx.session, spec, obj.id)

    return Writes(create, update, delete)


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
            "latitude": to("latitude"),
            "longitude": to("longitude"),
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


# --- Tenants ------------------------------------------------------------------------------


def _tenant_slug(_ctx: Context, value: Any, _current: Any) -> Json:
    # Checked against the name once both are known, in _check_tenant_slug.
    return {"_slug": value}


def _check_tenant_slug(ctx: Context, obj: Any, extra: Json) -> None:
    sent = extra.get("_slug")
    ctx.session.flush()
    slug = Context(ctx.session, ctx.base).tenant_slugs[obj.id]
    if sent is not None and sent != slug:
        raise refuse("slug", f"a tenant's slug is made from its name: {slug!r}")


TENANT_WRITES = writes_of(
    Translation(
        spec=service.ORGANISATIONS,
        fields={"name": to("name"), "slug": _tenant_slug},
        custom_fields={"siren": to("siren"), "arcep_code": to("arcep_code")},
        constants={"description": "", "comments": "", "tags": [], "group": None},
        names={"siren": "custom_fields.siren", "arcep_code": "custom_fields.arcep_code"},
        on_create={"kind": OrganisationKind.OPERATOR},  # every tenant is an operator
    ),
    _check_tenant_slug,
)


# --- Devices and interfaces ---------------------------------------------------------------


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
            "serial": lambda _c, v, _o: {"serial": v or None},
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
            "speed": kbps("speed_mbps", "speed"),
            "description": lambda _c, v, _o: {"description": v or None},
        },
        constants={"label": "", "tags": [], "mgmt_only": False, "mtu": None},
        names={"device_id": "device", "speed_mbps": "speed"},
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


def _circuit_status(_ctx: Context, value: Any, current: Circuit | None) -> Json:
    value = value["value"] if isinstance(value, dict) else value
    if value == "planned":
        # Gigalis's reserved and designed both read as planned: planned keeps either.
        keep = current is not None and current.status in STILL_PLANNED
        return {"status": current.status if keep and current else CircuitStatus.RESERVED}
    if value not in CIRCUIT_STATUS_IN:
        raise refuse("status", f"{value!r} is not a circuit status Gigalis has")
    return {"status": CIRCUIT_STATUS_IN[value]}


def _circuit_type(_ctx: Context, value: Any, _current: Any) -> Json:
    return {"service_type": enum_member(CIRCUIT_TYPES, "type", value)}


def _circuit_provider(ctx: Context, value: Any, _current: Any) -> Json:
    wanted = id_of("provider", value)
    if wanted != ctx.circuit_provider_id:
        raise refuse("provider", f"Gigalis's circuits are provided by {ctx.circuit_provider_id}")
    return {}


def _in_service(_ctx: Context, value: Any, _current: Any) -> Json:
    return {"in_service_since": value}


CIRCUIT_WRITES = writes_of(
    Translation(
        spec=service.CIRCUITS,
        fields={
            "cid": to("ref"),
            "provider": _circuit_provider,
            "type": _circuit_type,
            "tenant": reference("operator_id", "tenant"),
            "status": _circuit_status,
            "commit_rate": kbps("bandwidth_mbps", "commit_rate"),
            "install_date": _in_service,
            "description": lambda _c, v, _o: {"description": v or None},
        },
        # NetBox puts a circuit's ends on terminations made after it; a Gigalis circuit has
        # its A site from the start, so the ends are written as custom fields.
        custom_fields={
            "protected": to("protected"),
            "a_site": to("a_site_id"),
            "z_site": to("z_site_id"),
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
            "a_site_id": "custom_fields.a_site",
            "z_site_id": "custom_fields.z_site",
            "a_vlan": "custom_fields.a_vlan",
            "z_vlan": "custom_fields.z_vlan",
            "protected": "custom_fields.protected",
        },
    )
)

WRITES_BY_PATH: dict[str, Writes] = {
    "dcim/sites": SITE_WRITES,
    "dcim/devices": DEVICE_WRITES,
    "dcim/interfaces": INTERFACE_WRITES,
    "tenancy/tenants": TENANT_WRITES,
    "circuits/circuits": CIRCUIT_WRITES,
}
