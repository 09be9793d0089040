"""The dialect's endpoints, declared as data: where the objects come from, how they read,
which filters, search fields, orderings and choices they have, and whether and how they are
written.

Objects stored in a table are filtered, searched, ordered and paged in SQL; objects made in
Python (device roles and circuit types from their enums, circuit terminations from their
circuits) are listed whole, then filtered, searched, ordered and paged in Python, which suits
lists of a few hundred at most.

``q`` searches, case-insensitively, the Gigalis columns behind the fields each NetBox 4.1
filterset's ``search()`` looks in; NetBox fields Gigalis does not hold (comments, shipping
addresses, asset tags…) are always empty and never match. ``ordering`` takes the fields an
object serves that one column (or, for objects made in Python, one attribute) holds; a nested
object (a device's site, a circuit's tenant) is not one, and answers 400 where NetBox would
order by that object's own order. Every order ends with the id, so that pages never overlap,
and a missing value (NULL) sorts last ascending and first descending on both databases, as
PostgreSQL sorts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select

from gigalis_nms.db.types import RowId, fits_row_id
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.enums import InterfaceType, OrganisationKind, SiteKind
from gigalis_nms.inventory.models import Circuit, Device, FibreCable, Interface, Organisation, Site
from gigalis_nms.netbox import serializers as out
from gigalis_nms.netbox.choices import (
    CABLE_STATUS_OUT,
    CABLE_STATUSES,
    CIRCUIT_STATUS_OUT,
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
from gigalis_nms.netbox.filters import (
    IN_PYTHON,
    IN_SQL,
    PYTHON_TESTS,
    BadFilterValue,
    Filter,
    Lookups,
    Query,
)
from gigalis_nms.netbox.models import DeviceType, Manufacturer, Platform

Json = dict[str, Any]
Serializer = Callable[[Context, Any], Json]
SearchTerm = Callable[[Context, str], Any]  # the SQL condition one searched field makes


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
    ordering: Mapping[str, Any]  # NetBox field → what orders by it
    choices: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    writes: Writes | None = None
    read_only: str = "Gigalis does not take changes to these objects through the dialect"

    @property
    def path(self) -> str:
        return f"{self.app}/{self.name}"

    def page(self, ctx: Context, query: Query, limit: int, offset: int) -> tuple[int, list[Any]]:
        raise NotImplementedError

    def get(self, ctx: Context, object_id: int) -> Any:
        raise NotImplementedError

    def missing(self, object_id: int) -> NotFound:
        return NotFound.of("id", f"no {self.label} with id {object_id}")


@dataclass(frozen=True, kw_only=True)
class TableEndpoint(Endpoint):
    table: type[SQLModel]
    search: Sequence[SearchTerm]  # the fields q looks in
    where: Callable[[Context], list[Any]] = lambda _ctx: []  # which rows are these objects

    def _conditions(self, ctx: Context, query: Query) -> list[Any]:
        made = [selection.select(ctx, IN_SQL) for selection in query.selections]
        if query.search is not None:
            text = query.search
            made.append(sa.or_(*(term(ctx, text) for term in self.search)))
        return [*self.where(ctx), *made]

    def _order(self, query: Query) -> list[Any]:
        order = [
            self.ordering[name].desc().nulls_first()
            if descending
            else self.ordering[name].asc().nulls_last()
            for name, descending in query.ordering
        ]
        return [*order, sa.inspect(self.table).primary_key[0]]

    def page(self, ctx: Context, query: Query, limit: int, offset: int) -> tuple[int, list[Any]]:
        where = self._conditions(ctx, query)
        counted = sa.select(sa.func.count()).select_from(self.table).where(*where)
        count = ctx.session.connection().execute(counted).scalar_one()
        rows = ctx.session.exec(
            select(self.table)
            .where(*where)
            .order_by(*self._order(query))
            .limit(limit)
            .offset(offset)
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
    search: Sequence[Callable[[Any], str]]  # the texts of an object q looks in

    def page(self, ctx: Context, query: Query, limit: int, offset: int) -> tuple[int, list[Any]]:
        tests = [selection.select(ctx, IN_PYTHON) for selection in query.selections]
        if query.search is not None:
            texts = [IN_PYTHON.test(text, "contains", query.search) for text in self.search]
            tests.append(IN_PYTHON.any_of(texts))
        found = [item for item in self.items(ctx) if all(test(item) for test in tests)]
        # Stable sorts from the last key to the first; the items come in id order.
        for name, descending in reversed(query.ordering):
            found = _sorted(found, self.ordering[name], descending)
        return len(found), found[offset : offset + limit]

    def get(self, ctx: Context, object_id: int) -> Any:
        for item in self.items(ctx):
            if item.id == object_id:
                return item
        raise self.missing(object_id)


def _sorted(items: list[Any], key: Callable[[Any], Any], descending: bool) -> list[Any]:
    # None after every value, as PostgreSQL sorts NULL (before every value when descending).
    return sorted(items, key=lambda item: (key(item) is None, key(item)), reverse=descending)


# --- Filter makers ------------------------------------------------------------------------
#
# Each says which suffixes NetBox derives for the filter it stands for: text and choice
# fields take the text suffixes, an object's own id the number ones, a related object by id
# or slug only __n, and booleans and the filters NetBox computes in a method none.


def column_in(column: Any, value_type: Any = str, lookups: Lookups = Lookups.TEXT) -> Filter:
    return Filter(value_type, lambda _ctx, values: column.in_(values), lookups, compared=column)


def own_ids(column: Any) -> Filter:
    return column_in(column, RowId, Lookups.NUMBER)


def ids_of(column: Any, lookups: Lookups = Lookups.NEGATION) -> Filter:
    return column_in(column, RowId, lookups)


def attribute_in(name: str, value_type: Any = str, lookups: Lookups = Lookups.TEXT) -> Filter:
    read = attrgetter(name)
    return Filter(value_type, lambda _ctx, values: lambda item: read(item) in values, lookups, read)


def by_slug(
    column: Any,
    slugs: Callable[[Context], Mapping[int, str]],
    what: str,
    lookups: Lookups = Lookups.NEGATION,
) -> Filter:
    """Rows whose ``column`` holds the id of an object named by slug; an unknown slug is a
    400, as in NetBox. Text suffixes, where NetBox has them, test the known slugs."""

    def select(ctx: Context, values: list[str]) -> Any:
        known = {slug: object_id for object_id, slug in slugs(ctx).items()}
        for value in values:
            if value not in known:
                raise BadFilterValue.of(f"query.{what}", f"no {what} with slug {value!r}")
        return column.in_([known[value] for value in values])

    return Filter(str, select, lookups, choices=lambda ctx: slugs(ctx).values())


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
        "id": attribute_in("id", RowId, Lookups.NUMBER),
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


# --- Search and ordering makers -----------------------------------------------------------


def contains(column: Any) -> SearchTerm:
    return lambda _ctx, text: IN_SQL.test(column, "contains", text)


def slug_contains(key: Any, slugs: Callable[[Context], Mapping[int, str]]) -> SearchTerm:
    """Objects whose slug, made from their name in Python, holds the text."""

    def term(ctx: Context, text: str) -> Any:
        holds = PYTHON_TESTS["contains"]
        return key.in_([i for i, slug in slugs(ctx).items() if holds(slug, text)])

    return term


def related_contains(foreign_key: Any, key: Any, column: Any) -> SearchTerm:
    """Rows pointing at an object whose ``column`` holds the text (a device type's
    manufacturer's name)."""
    return lambda _ctx, text: foreign_key.in_(
        sa.select(key).where(IN_SQL.test(column, "contains", text))
    )


def served_address(column: Any) -> Any:
    """A management address as the dialect serves it, with its host prefix length."""
    return sa.case((column.contains(":"), column + "/128"), else_=column + "/32")


def address_starts(column: Any, *, folded: bool) -> SearchTerm:
    """Addresses beginning with the text: case-sensitively for a device, whose NetBox search
    uses ``startswith``, folded for an IP address, whose search uses ``istartswith``."""
    served = served_address(column)
    if folded:
        return lambda _ctx, text: IN_SQL.test(served, "starts", text)
    # substr, not LIKE, which SQLite folds for ASCII whatever is asked.
    return lambda _ctx, text: sa.func.substr(served, 1, len(text)) == text


def text_of(column: Any) -> Any:
    """A nullable text column as served, an empty string for NULL, for ordering."""
    return sa.func.coalesce(column, "")


def served_as(column: Any, mapping: Mapping[Any, str]) -> Any:
    """A Gigalis value as the NetBox value it is served as, for ordering."""
    return sa.case({ours.value: theirs for ours, theirs in mapping.items()}, value=column)


def _enum_ordering() -> dict[str, Callable[[Any], Any]]:
    return {"id": attrgetter("id"), "name": attrgetter("name"), "slug": attrgetter("slug")}


def _enum_search() -> list[Callable[[Any], str]]:
    # NetBox's organizational search: name, slug and description, always empty here.
    return [attrgetter("name"), attrgetter("slug")]


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
        "id": own_ids(col(Site.id)),
        "name": column_in(col(Site.name)),
        "slug": Filter(
            str,
            lambda _ctx, v: sa.func.lower(col(Site.code)).in_(v),
            Lookups.TEXT,
            compared=sa.func.lower(col(Site.code)),
        ),
        "facility": column_in(col(Site.code)),
        "status": column_in(col(Site.status), one_of(SITE_STATUSES)),
        # As NetBox's text custom fields with exact filter logic, which take the text suffixes.
        "cf_insee_code": column_in(col(Site.insee_code)),
        "cf_kind": column_in(col(Site.kind), one_of([kind.value for kind in SiteKind])),
    },
    # NetBox: name, facility, description, physical and shipping addresses, comments, ASN.
    search=[contains(col(Site.name)), contains(col(Site.code)), contains(col(Site.address))],
    ordering={
        "id": col(Site.id),
        "name": col(Site.name),
        "slug": sa.func.lower(col(Site.code)),
        "facility": col(Site.code),
        "status": col(Site.status),
        "physical_address": text_of(col(Site.address)),
        "latitude": col(Site.latitude),
        "longitude": col(Site.longitude),
        "created": col(Site.created_at),
        "last_updated": col(Site.updated_at),
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
        "id": own_ids(col(Manufacturer.id)),
        "name": column_in(col(Manufacturer.name)),
        "slug": column_in(col(Manufacturer.slug)),
    },
    search=[
        contains(col(Manufacturer.name)),
        contains(col(Manufacturer.slug)),
        contains(col(Manufacturer.description)),
    ],
    ordering={
        "id": col(Manufacturer.id),
        "name": col(Manufacturer.name),
        "slug": col(Manufacturer.slug),
        "description": col(Manufacturer.description),
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
        "id": own_ids(col(DeviceType.id)),
        "model": column_in(col(DeviceType.model)),
        "slug": column_in(col(DeviceType.slug)),
        "manufacturer_id": ids_of(col(DeviceType.manufacturer_id)),
    },
    # NetBox: the manufacturer's name, model, part number, description, comments.
    search=[
        related_contains(
            col(DeviceType.manufacturer_id), col(Manufacturer.id), col(Manufacturer.name)
        ),
        contains(col(DeviceType.model)),
        contains(col(DeviceType.part_number)),
        contains(col(DeviceType.description)),
    ],
    ordering={
        "id": col(DeviceType.id),
        "model": col(DeviceType.model),
        "slug": col(DeviceType.slug),
        "part_number": col(DeviceType.part_number),
        "u_height": col(DeviceType.u_height),
        "description": col(DeviceType.description),
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
        "id": own_ids(col(Platform.id)),
        "name": column_in(col(Platform.name)),
        "slug": column_in(col(Platform.slug)),
        "manufacturer_id": ids_of(col(Platform.manufacturer_id)),
    },
    search=[
        contains(col(Platform.name)),
        contains(col(Platform.slug)),
        contains(col(Platform.description)),
    ],
    ordering={
        "id": col(Platform.id),
        "name": col(Platform.name),
        "slug": col(Platform.slug),
        "napalm_driver": col(Platform.napalm_driver),
        "description": col(Platform.description),
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
    search=_enum_search(),
    ordering=_enum_ordering(),
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
        "id": own_ids(col(Device.id)),
        "name": column_in(col(Device.hostname)),
        "site_id": ids_of(col(Device.site_id)),
        "site": by_slug(col(Device.site_id), _site_slugs, "site"),
        "role": column_in(
            col(Device.role), one_of([r.slug for r in DEVICE_ROLES]), Lookups.NEGATION
        ),
        "role_id": Filter(
            RowId, lambda _ctx, v: col(Device.role).in_(_role_ids(v)), Lookups.NEGATION
        ),
        "platform": Filter(
            str,
            lambda ctx, v: col(Device.platform).in_(
                [_platform_slugs(ctx)[i] for i in by_slug_ids(ctx, v, _platform_slugs, "platform")]
            ),
            Lookups.NEGATION,
        ),
        "platform_id": Filter(
            RowId,
            lambda ctx, v: col(Device.platform).in_(
                [s for i, s in _platform_slugs(ctx).items() if i in v]
            ),
            Lookups.NEGATION,
        ),
        "status": column_in(col(Device.status), one_of(DEVICE_STATUSES)),
        "serial": column_in(col(Device.serial)),
        "device_type_id": ids_of(col(Device.device_type_id)),
    },
    # NetBox: name, serial (its inventory items' too), asset tag, description, comments, and
    # the start of the primary IPv4 or IPv6 address.
    search=[
        contains(col(Device.hostname)),
        contains(col(Device.serial)),
        address_starts(col(Device.management_address), folded=False),
    ],
    ordering={
        "id": col(Device.id),
        "name": col(Device.hostname),
        "serial": text_of(col(Device.serial)),
        "status": col(Device.status),
        "created": col(Device.created_at),
        "last_updated": col(Device.updated_at),
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
        "id": own_ids(col(Device.id)),
        # NetBox computes these three in methods, which take no suffixes.
        "address": Filter(
            str, lambda _ctx, v: col(Device.management_address).in_([a.split("/")[0] for a in v])
        ),
        "device_id": ids_of(col(Device.id), Lookups.NONE),
        "device": column_in(col(Device.hostname), lookups=Lookups.NONE),
    },
    # NetBox: DNS name, description, and the start of the address.
    search=[
        contains(col(Device.hostname)),
        address_starts(col(Device.management_address), folded=True),
    ],
    # Not the address: as text, 192.0.2.10 would sort before 192.0.2.9.
    ordering={
        "id": col(Device.id),
        "dns_name": col(Device.hostname),
        "created": col(Device.created_at),
        "last_updated": col(Device.updated_at),
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
        "id": own_ids(col(Interface.id)),
        "device_id": ids_of(col(Interface.device_id)),
        "device": by_slug(col(Interface.device_id), _device_names, "device"),
        "name": column_in(col(Interface.name)),
        "type": column_in(col(Interface.type), one_of([t.value for t in InterfaceType])),
        "enabled": column_in(col(Interface.enabled), bool, Lookups.NONE),
    },
    # NetBox: name, label, description.
    search=[contains(col(Interface.name)), contains(col(Interface.description))],
    ordering={
        "id": col(Interface.id),
        "name": col(Interface.name),
        "type": col(Interface.type),
        "enabled": col(Interface.enabled),
        "speed": col(Interface.speed_mbps),
        "description": text_of(col(Interface.description)),
        "created": col(Interface.created_at),
        "last_updated": col(Interface.updated_at),
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
        "id": own_ids(col(FibreCable.id)),
        "label": column_in(col(FibreCable.code)),
        "status": Filter(
            one_of(CABLE_STATUSES),
            lambda _ctx, v: col(FibreCable.status).in_(
                [ours for ours, theirs in CABLE_STATUS_OUT.items() if theirs in v]
            ),
            Lookups.TEXT,
        ),
        # NetBox computes it in a method, which takes no suffixes.
        "site_id": Filter(
            RowId,
            lambda _ctx, v: sa.or_(
                col(FibreCable.a_site_id).in_(v), col(FibreCable.z_site_id).in_(v)
            ),
        ),
    },
    # NetBox: label, description.
    search=[contains(col(FibreCable.code))],
    ordering={
        "id": col(FibreCable.id),
        "label": col(FibreCable.code),
        "status": served_as(col(FibreCable.status), CABLE_STATUS_OUT),
        "length": col(FibreCable.length_m),
        "created": col(FibreCable.created_at),
        "last_updated": col(FibreCable.updated_at),
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
        "id": own_ids(col(Organisation.id)),
        "name": column_in(col(Organisation.name)),
        "slug": by_slug(col(Organisation.id), lambda ctx: ctx.tenant_slugs, "tenant", Lookups.TEXT),
    },
    # NetBox: name, slug, description, comments.
    search=[
        contains(col(Organisation.name)),
        slug_contains(col(Organisation.id), lambda ctx: ctx.tenant_slugs),
    ],
    ordering={
        "id": col(Organisation.id),
        "name": col(Organisation.name),
        "created": col(Organisation.created_at),
        "last_updated": col(Organisation.updated_at),
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
        "id": own_ids(col(Organisation.id)),
        "name": column_in(col(Organisation.name)),
        "slug": by_slug(
            col(Organisation.id), lambda ctx: ctx.provider_slugs, "provider", Lookups.TEXT
        ),
    },
    # NetBox: name, description, accounts, comments; not the slug.
    search=[contains(col(Organisation.name))],
    ordering={
        "id": col(Organisation.id),
        "name": col(Organisation.name),
        "created": col(Organisation.created_at),
        "last_updated": col(Organisation.updated_at),
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
    search=_enum_search(),
    ordering=_enum_ordering(),
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
        "id": own_ids(col(Circuit.id)),
        "cid": column_in(col(Circuit.ref)),
        "tenant_id": ids_of(col(Circuit.operator_id)),
        "tenant": by_slug(col(Circuit.operator_id), lambda ctx: ctx.tenant_slugs, "tenant"),
        "type": Filter(
            one_of([t.slug for t in CIRCUIT_TYPES]),
            lambda _ctx, v: col(Circuit.service_type).in_(_circuit_type_values(slugs=v)),
            Lookups.NEGATION,
        ),
        "type_id": Filter(
            RowId,
            lambda _ctx, v: col(Circuit.service_type).in_(_circuit_type_values(ids=v)),
            Lookups.NEGATION,
        ),
        "status": Filter(
            one_of(CIRCUIT_STATUSES),
            lambda _ctx, v: col(Circuit.status).in_(circuit_statuses_in(v)),
            Lookups.TEXT,
        ),
        "site_id": Filter(
            RowId,
            lambda _ctx, v: sa.or_(col(Circuit.a_site_id).in_(v), col(Circuit.z_site_id).in_(v)),
            Lookups.NEGATION,
        ),
        "provider_id": Filter(
            RowId,
            lambda ctx, v: sa.true() if ctx.circuit_provider_id in v else sa.false(),
            Lookups.NEGATION,
        ),
    },
    # NetBox: cid, description, comments, and its terminations' cross-connect ids, patch
    # panel details and descriptions.
    search=[contains(col(Circuit.ref)), contains(col(Circuit.description))],
    ordering={
        "id": col(Circuit.id),
        "cid": col(Circuit.ref),
        "status": served_as(col(Circuit.status), CIRCUIT_STATUS_OUT),
        "install_date": col(Circuit.in_service_since),
        "commit_rate": col(Circuit.bandwidth_mbps),
        "description": text_of(col(Circuit.description)),
        "created": col(Circuit.created_at),
        "last_updated": col(Circuit.updated_at),
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
        "id": attribute_in("id", RowId, Lookups.NUMBER),
        "circuit_id": Filter(RowId, lambda _ctx, v: lambda t: t.circuit.id in v, Lookups.NEGATION),
        "term_side": attribute_in("side", one_of(["A", "Z"])),
        "site_id": Filter(RowId, _termination_at, Lookups.NEGATION),
    },
    # NetBox: the circuit's cid, cross-connect id, patch panel details, description.
    search=[attrgetter("circuit.ref")],
    ordering={
        "id": attrgetter("id"),
        "term_side": attrgetter("side"),
        "port_speed": attrgetter("circuit.bandwidth_mbps"),
        "created": attrgetter("circuit.created_at"),
        "last_updated": attrgetter("circuit.updated_at"),
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
