"""The dialect's endpoints, declared as data: where the objects come from, how they read,
which filters and choices they have, and whether and how they are written.

Objects stored in a table are paged in SQL; objects made in Python (device roles and circuit
types from their enums, circuit terminations from their circuits) are listed whole and then
paged, which suits lists of a few hundred at most.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select

from gigalis_nms.db.types import RowId, fits_row_id
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.enums import InterfaceType, OrganisationKind
from gigalis_nms.inventory.models import Circuit, Device, FibreCable, Interface, Organisation, Site
from gigalis_nms.netbox import serializers as out
from gigalis_nms.netbox.choices import (
    CABLE_STATUS_OUT,
    CABLE_STATUSES,
    CIRCUIT_STATUSES,
    CIRCUIT_TYPES,
    DEVICE_ROLES,
    DEVICE_STATUSES,
    INTERFACE_TYPE_LABELS,
    LENGTH_UNIT_LABELS,
    PROVIDER_KINDS,
    SITE_STATUSES,
    circuit_statuses_in,
    label_of,
)
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.filters import BadFilterValue, Filter
from gigalis_nms.netbox.models import DeviceType, Manufacturer, Platform

Json = dict[str, Any]
Serializer = Callable[[Context, Any], Json]


@dataclass(frozen=True)
class Writes:
    """How an endpoint's objects are made, changed and deleted (see writes.py)."""

    create: Callable[[Context, Json], Any]
    update: Callable[[Context, Any, Json], Any]
    delete: Callable[[Context, Any], None]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    app: str  # "dcim"
    name: str  # "sites", as in the URL
    label: str  # "site", for messages
    full: Serializer
    brief: Serializer
    filters: Mapping[str, Filter]
    choices: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    writes: Writes | None = None
    read_only: str = "Gigalis does not take changes to these objects through the dialect"

    @property
    def path(self) -> str:
        return f"{self.app}/{self.name}"

    def page(
        self, ctx: Context, filters: Mapping[str, list[Any]], limit: int, offset: int
    ) -> tuple[int, list[Any]]:
        raise NotImplementedError

    def get(self, ctx: Context, object_id: int) -> Any:
        raise NotImplementedError

    def missing(self, object_id: int) -> NotFound:
        return NotFound.of("id", f"no {self.label} with id {object_id}")


@dataclass(frozen=True, kw_only=True)
class TableEndpoint(Endpoint):
    table: type[SQLModel]
    where: Callable[[Context], list[Any]] = lambda _ctx: []  # which rows are these objects

    def _conditions(self, ctx: Context, filters: Mapping[str, list[Any]]) -> list[Any]:
        made = [self.filters[name].select(ctx, values) for name, values in filters.items()]
        return [*self.where(ctx), *made]

    def page(
        self, ctx: Context, filters: Mapping[str, list[Any]], limit: int, offset: int
    ) -> tuple[int, list[Any]]:
        where = self._conditions(ctx, filters)
        key = sa.inspect(self.table).primary_key[0]
        counted = sa.select(sa.func.count()).select_from(self.table).where(*where)
        count = ctx.session.connection().execute(counted).scalar_one()
        rows = ctx.session.exec(
            select(self.table).where(*where).order_by(key).limit(limit).offset(offset)
        )
        return count, list(rows)

    def get(self, ctx: Context, object_id: int) -> Any:
        obj = ctx.session.get(self.table, object_id) if fits_row_id(object_id) else None
        key = sa.inspect(self.table).primary_key[0]
        if obj is not None and self.where(ctx):
            statement = sa.select(key).where(key == object_id, *self.where(ctx))
            if ctx.session.connection().execute(statement).first() is None:
                obj = None
        if obj is None:
            raise self.missing(object_id)
        return obj


@dataclass(frozen=True, kw_only=True)
class ListEndpoint(Endpoint):
    items: Callable[[Context], list[Any]]

    def page(
        self, ctx: Context, filters: Mapping[str, list[Any]], limit: int, offset: int
    ) -> tuple[int, list[Any]]:
        tests = [self.filters[name].select(ctx, values) for name, values in filters.items()]
        found = [item for item in self.items(ctx) if all(test(item) for test in tests)]
        return len(found), found[offset : offset + limit]

    def get(self, ctx: Context, object_id: int) -> Any:
        for item in self.items(ctx):
            if item.id == object_id:
                return item
        raise self.missing(object_id)


# --- Filter makers ------------------------------------------------------------------------


def column_in(column: Any, value_type: Any = str) -> Filter:
    return Filter(value_type, lambda _ctx, values: column.in_(values))


def ids_of(column: Any) -> Filter:
    return column_in(column, RowId)


def attribute_in(name: str, value_type: Any = str) -> Filter:
    return Filter(value_type, lambda _ctx, values: lambda item: getattr(item, name) in values)


def by_slug(column: Any, slugs: Callable[[Context], Mapping[int, str]], what: str) -> Filter:
    """Rows whose ``column`` holds the id of an object named by slug; an unknown slug is a
    400, as in NetBox."""

    def select(ctx: Context, values: list[str]) -> Any:
        known = {slug: object_id for object_id, slug in slugs(ctx).items()}
        for value in values:
            if value not in known:
                raise BadFilterValue.of(f"query.{what}", f"no {what} with slug {value!r}")
        return column.in_([known[value] for value in values])

    return Filter(str, select)


def one_of(values: Sequence[str]) -> Any:
    return Literal[tuple(values)]


def _site_slugs(ctx: Context) -> dict[int, str]:
    return {i: s.code.lower() for i, s in ctx.sites.items()}


def _platform_slugs(ctx: Context) -> dict[int, str]:
    return {p.id: slug for slug, p in ctx.platforms.items() if p.id is not None}


def _device_names(ctx: Context) -> dict[int, str]:
    return {i: d.hostname for i, d in ctx.devices.items()}


def _enum_filters() -> dict[str, Filter]:
    return {
        "id": attribute_in("id", RowId),
        "name": attribute_in("name"),
        "slug": attribute_in("slug"),
    }


def _role_ids(values: list[int]) -> list[str]:
    return [item.value for item in DEVICE_ROLES if item.id in values]


def _circuit_type_values(ids: list[int] | None = None, slugs: list[str] | None = None) -> list[str]:
    return [i.value for i in CIRCUIT_TYPES if i.id in (ids or []) or i.slug in (slugs or [])]


def _choices(
    values: Sequence[str], labels: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    return [(value, (labels or {}).get(value) or label_of(value)) for value in values]


# --- Objects made in Python ---------------------------------------------------------------


@dataclass(frozen=True)
class Termination:
    """A circuit's end at a site, as NetBox's circuit termination."""

    id: int
    circuit: Circuit
    side: str


def _terminations(ctx: Context) -> list[Termination]:
    made = []
    for circuit in ctx.session.exec(select(Circuit).order_by(col(Circuit.id))):
        assert circuit.id is not None
        made.append(Termination(out.termination_id(circuit.id, "A"), circuit, "A"))
        if circuit.z_site_id is not None:
            made.append(Termination(out.termination_id(circuit.id, "Z"), circuit, "Z"))
    return made


def _termination_at(ctx: Context, values: list[int]) -> Callable[[Termination], bool]:
    return lambda t: getattr(t.circuit, f"{t.side.lower()}_site_id") in values


# --- The endpoints ------------------------------------------------------------------------

SITES = TableEndpoint(
    app="dcim",
    name="sites",
    label="site",
    table=Site,
    full=out.site_full,
    brief=out.site_brief,
    filters={
        "id": ids_of(col(Site.id)),
        "name": column_in(col(Site.name)),
        "slug": Filter(str, lambda _ctx, v: sa.func.lower(col(Site.code)).in_(v)),
        "facility": column_in(col(Site.code)),
        "status": column_in(col(Site.status), one_of(SITE_STATUSES)),
        "cf_insee_code": column_in(col(Site.insee_code)),
        "cf_kind": column_in(col(Site.kind)),
    },
    choices={"status": _choices(SITE_STATUSES)},
)
MANUFACTURERS = TableEndpoint(
    app="dcim",
    name="manufacturers",
    label="manufacturer",
    table=Manufacturer,
    full=out.manufacturer_full,
    brief=out.manufacturer_brief,
    filters={
        "id": ids_of(col(Manufacturer.id)),
        "name": column_in(col(Manufacturer.name)),
        "slug": column_in(col(Manufacturer.slug)),
    },
)
DEVICE_TYPES = TableEndpoint(
    app="dcim",
    name="device-types",
    label="device type",
    table=DeviceType,
    full=out.device_type_full,
    brief=out.device_type_brief,
    filters={
        "id": ids_of(col(DeviceType.id)),
        "model": column_in(col(DeviceType.model)),
        "slug": column_in(col(DeviceType.slug)),
        "manufacturer_id": ids_of(col(DeviceType.manufacturer_id)),
    },
)
PLATFORMS = TableEndpoint(
    app="dcim",
    name="platforms",
    label="platform",
    table=Platform,
    full=out.platform_full,
    brief=out.platform_brief,
    filters={
        "id": ids_of(col(Platform.id)),
        "name": column_in(col(Platform.name)),
        "slug": column_in(col(Platform.slug)),
        "manufacturer_id": ids_of(col(Platform.manufacturer_id)),
    },
)
DEVICE_ROLE_OBJECTS = ListEndpoint(
    app="dcim",
    name="device-roles",
    label="device role",
    items=lambda _ctx: list(DEVICE_ROLES),
    full=out.role_full,
    brief=out.role_brief,
    filters=_enum_filters(),
    read_only="device roles are Gigalis's fixed roles (core, aggregation, edge)",
)
DEVICES = TableEndpoint(
    app="dcim",
    name="devices",
    label="device",
    table=Device,
    full=out.device_full,
    brief=out.device_brief,
    filters={
        "id": ids_of(col(Device.id)),
        "name": column_in(col(Device.hostname)),
        "site_id": ids_of(col(Device.site_id)),
        "site": by_slug(col(Device.site_id), _site_slugs, "site"),
        "role": column_in(col(Device.role), one_of([r.slug for r in DEVICE_ROLES])),
        "role_id": Filter(RowId, lambda _ctx, v: col(Device.role).in_(_role_ids(v))),
        "platform": Filter(
            str,
            lambda ctx, v: col(Device.platform).in_(
                [_platform_slugs(ctx)[i] for i in by_slug_ids(ctx, v, _platform_slugs, "platform")]
            ),
        ),
        "platform_id": Filter(
            RowId,
            lambda ctx, v: col(Device.platform).in_(
                [s for i, s in _platform_slugs(ctx).items() if i in v]
            ),
        ),
        "status": column_in(col(Device.status), one_of(DEVICE_STATUSES)),
        "serial": column_in(col(Device.serial)),
        "device_type_id": ids_of(col(Device.device_type_id)),
    },
    choices={"status": _choices(DEVICE_STATUSES)},
)
IP_ADDRESSES = TableEndpoint(
    app="ipam",
    name="ip-addresses",
    label="IP address",
    table=Device,
    where=lambda _ctx: [col(Device.management_address).is_not(None)],
    full=out.ip_full,
    brief=out.ip_brief,  # type: ignore[arg-type]
    filters={
        "id": ids_of(col(Device.id)),
        "address": Filter(
            str, lambda _ctx, v: col(Device.management_address).in_([a.split("/")[0] for a in v])
        ),
        "device_id": ids_of(col(Device.id)),
        "device": column_in(col(Device.hostname)),
    },
    choices={"status": [("active", "Active")]},
)
INTERFACES = TableEndpoint(
    app="dcim",
    name="interfaces",
    label="interface",
    table=Interface,
    full=out.interface_full,
    brief=out.interface_brief,
    filters={
        "id": ids_of(col(Interface.id)),
        "device_id": ids_of(col(Interface.device_id)),
        "device": by_slug(col(Interface.device_id), _device_names, "device"),
        "name": column_in(col(Interface.name)),
        "type": column_in(col(Interface.type), one_of([t.value for t in InterfaceType])),
        "enabled": column_in(col(Interface.enabled), bool),
    },
    choices={"type": _choices([t.value for t in InterfaceType], INTERFACE_TYPE_LABELS)},
)
CABLES = TableEndpoint(
    app="dcim",
    name="cables",
    label="cable",
    table=FibreCable,
    full=out.cable_full,
    brief=out.cable_brief,
    filters={
        "id": ids_of(col(FibreCable.id)),
        "label": column_in(col(FibreCable.code)),
        "status": Filter(
            one_of(CABLE_STATUSES),
            lambda _ctx, v: col(FibreCable.status).in_(
                [ours for ours, theirs in CABLE_STATUS_OUT.items() if theirs in v]
            ),
        ),
        "site_id": Filter(
            RowId,
            lambda _ctx, v: sa.or_(
                col(FibreCable.a_site_id).in_(v), col(FibreCable.z_site_id).in_(v)
            ),
        ),
    },
    choices={
        "status": _choices(CABLE_STATUSES),
        "type": [("smf", "Singlemode Fiber")],
        "length_unit": list(LENGTH_UNIT_LABELS.items()),
    },
)
TENANTS = TableEndpoint(
    app="tenancy",
    name="tenants",
    label="tenant",
    table=Organisation,
    where=lambda _ctx: [col(Organisation.kind) == OrganisationKind.OPERATOR],
    full=out.tenant_full,
    brief=out.tenant_brief,
    filters={
        "id": ids_of(col(Organisation.id)),
        "name": column_in(col(Organisation.name)),
        "slug": by_slug(col(Organisation.id), lambda ctx: ctx.tenant_slugs, "tenant"),
    },
)
PROVIDERS = TableEndpoint(
    app="circuits",
    name="providers",
    label="provider",
    table=Organisation,
    where=lambda _ctx: [col(Organisation.kind).in_(PROVIDER_KINDS)],
    full=out.provider_full,
    brief=out.provider_brief,
    filters={
        "id": ids_of(col(Organisation.id)),
        "name": column_in(col(Organisation.name)),
        "slug": by_slug(col(Organisation.id), lambda ctx: ctx.provider_slugs, "provider"),
    },
)
CIRCUIT_TYPE_OBJECTS = ListEndpoint(
    app="circuits",
    name="circuit-types",
    label="circuit type",
    items=lambda _ctx: list(CIRCUIT_TYPES),
    full=out.circuit_type_full,
    brief=out.circuit_type_brief,
    filters=_enum_filters(),
    read_only="circuit types are Gigalis's fixed service types",
)
CIRCUITS = TableEndpoint(
    app="circuits",
    name="circuits",
    label="circuit",
    table=Circuit,
    full=out.circuit_full,
    brief=out.circuit_brief,
    filters={
        "id": ids_of(col(Circuit.id)),
        "cid": column_in(col(Circuit.ref)),
        "tenant_id": ids_of(col(Circuit.operator_id)),
        "tenant": by_slug(col(Circuit.operator_id), lambda ctx: ctx.tenant_slugs, "tenant"),
        "type": Filter(
            one_of([t.slug for t in CIRCUIT_TYPES]),
            lambda _ctx, v: col(Circuit.service_type).in_(_circuit_type_values(slugs=v)),
        ),
        "type_id": Filter(
            RowId, lambda _ctx, v: col(Circuit.service_type).in_(_circuit_type_values(ids=v))
        ),
        "status": Filter(
            one_of(CIRCUIT_STATUSES),
            lambda _ctx, v: col(Circuit.status).in_(circuit_statuses_in(v)),
        ),
        "site_id": Filter(
            RowId,
            lambda _ctx, v: sa.or_(col(Circuit.a_site_id).in_(v), col(Circuit.z_site_id).in_(v)),
        ),
        "provider_id": Filter(
            RowId, lambda ctx, v: sa.true() if ctx.circuit_provider_id in v else sa.false()
        ),
    },
    choices={"status": _choices(CIRCUIT_STATUSES)},
)
CIRCUIT_TERMINATIONS = ListEndpoint(
    app="circuits",
    name="circuit-terminations",
    label="circuit termination",
    items=_terminations,
    full=lambda ctx, t: out.termination_full(ctx, t.circuit, t.side),
    brief=lambda ctx, t: out.termination_brief(ctx, t.circuit, t.side),
    filters={
        "id": attribute_in("id", RowId),
        "circuit_id": Filter(RowId, lambda _ctx, v: lambda t: t.circuit.id in v),
        "term_side": attribute_in("side", one_of(["A", "Z"])),
        "site_id": Filter(RowId, _termination_at),
    },
    choices={"term_side": [("A", "A"), ("Z", "Z")]},
    read_only="a circuit's ends are fields of the circuit; change the circuit",
)


def by_slug_ids(
    ctx: Context, values: list[str], slugs: Callable[[Context], Mapping[int, str]], what: str
) -> list[int]:
    known = {slug: object_id for object_id, slug in slugs(ctx).items()}
    for value in values:
        if value not in known:
            raise BadFilterValue.of(f"query.{what}", f"no {what} with slug {value!r}")
    return [known[value] for value in values]


ENDPOINTS: tuple[Endpoint, ...] = (
    SITES,
    MANUFACTURERS,
    DEVICE_TYPES,
    PLATFORMS,
    DEVICE_ROLE_OBJECTS,
    DEVICES,
    INTERFACES,
    CABLES,
    IP_ADDRESSES,
    TENANTS,
    PROVIDERS,
    CIRCUIT_TYPE_OBJECTS,
    CIRCUITS,
    CIRCUIT_TERMINATIONS,
)
