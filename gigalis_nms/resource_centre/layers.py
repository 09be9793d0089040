"""The resource centre's GIS layers, as rows: typed properties and a WGS84 geometry each.

Three layers, read from the database by :func:`read_layers`:

- ``pops``: the network's sites with Gigalis equipment — PoPs, and also NROs, shelters and
  hosting rooms, which the glossary counts as points of presence (``kind`` tells them
  apart) — that are active or planned. A site being decommissioned or retired takes no new
  service, so it is not offered on a map of where the network is.
- ``cables``: the active and planned fibre cables, along their recorded route, else straight
  from end to end (``route_recorded`` says which). Every one of them, even a cable to a
  customer's own site: staff need the whole network; ``a_site_kind`` and ``z_site_kind`` let
  a GIS user keep the backbone only.
- ``site-needs``: every site needing THD, with its status, dates and analysis. These are
  staff exports, yet a site's contacts and notes stay out: a GIS file travels further than
  the database it came from.

Geometries stay in WGS84 longitude/latitude, as stored; each writer projects them
(:mod:`gigalis_nms.resource_centre.exports`, :mod:`gigalis_nms.resource_centre.gracethd`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

import sqlalchemy as sa
from shapely import LineString, Point
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import CABLE, ORGANISATION, SITE
from gigalis_nms.inventory.validators import departement_of
from gigalis_nms.resource_centre.models import SiteNeed

SITE_NEED = table_of(SiteNeed)
# The sites the glossary calls points of presence: every kind but an operator's own site.
POP_KINDS = (SiteKind.POP, SiteKind.NRO, SiteKind.SHELTER, SiteKind.HOSTING_ROOM)
# What the network is and is about to be; a map of it leaves out what is being removed.
MAPPED_STATUSES = (LifecycleStatus.ACTIVE, LifecycleStatus.PLANNED)


class LayerName(StrEnum):
    POPS = "pops"
    CABLES = "cables"
    SITE_NEEDS = "site-needs"

    @property
    def stem(self) -> str:
        """The layer's name in files: ``site_needs``, as GIS tools prefer identifiers."""
        return self.value.replace("-", "_")

    @classmethod
    def named(cls, text: str) -> LayerName:
        """The layer called ``text`` on the command line or in the files.

        >>> LayerName.named("site_needs"), LayerName.named("site-needs")
        (<LayerName.SITE_NEEDS: 'site-needs'>, <LayerName.SITE_NEEDS: 'site-needs'>)
        """
        for layer in cls:
            if text in (layer.value, layer.stem):
                return layer
        known = ", ".join(repr(layer.value) for layer in cls)
        raise ValueError(f"{text!r} is not one of {known} (or 'site_needs', as in the files)")


class FieldKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    REAL = "real"
    DATE = "date"
    DATETIME = "datetime"  # always UTC
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    name: str
    kind: FieldKind = FieldKind.TEXT


@dataclass(frozen=True)
class Feature:
    key: str | int  # the natural key, the feature's id in GeoJSON
    properties: dict[str, Any]  # by column name; None when empty
    geometry: BaseGeometry | None  # WGS84 longitude/latitude; None for a table without one


@dataclass(frozen=True)
class Layer:
    """One layer or table: its name in files, its geometry type (None: attributes only),
    its typed columns and its features."""

    name: str
    geometry_type: str | None
    columns: tuple[Column, ...]
    features: list[Feature]
    description: str = ""


def columns(*names: str, **kinds: FieldKind) -> tuple[Column, ...]:
    """Columns in order, text unless ``kinds`` says otherwise.

    >>> [(c.name, c.kind.value) for c in columns("code", "length_m", length_m=FieldKind.INTEGER)]
    [('code', 'text'), ('length_m', 'integer')]
    """
    unknown = set(kinds) - set(names)
    if unknown:
        raise ValueError(f"kinds given for columns not listed: {sorted(unknown)}")
    return tuple(Column(name, kinds.get(name, FieldKind.TEXT)) for name in names)


POP_COLUMNS = columns("code", "name", "kind", "status", "address", "insee_code", "departement")
CABLE_COLUMNS = columns(
    "code",
    "a_site",
    "a_site_kind",
    "z_site",
    "z_site_kind",
    "length_m",
    "fibre_count",
    "owner",
    "ownership",
    "iru_end_date",
    "status",
    "route_recorded",
    length_m=FieldKind.INTEGER,
    fibre_count=FieldKind.INTEGER,
    iru_end_date=FieldKind.DATE,
    route_recorded=FieldKind.BOOLEAN,
)
SITE_NEED_COLUMNS = columns(
    "id",
    "name",
    "category",
    "uai",
    "finess",
    "siret",
    "address",
    "postcode",
    "commune_insee",
    "commune",
    "departement",
    "status",
    "identified_on",
    "studied_on",
    "planned_on",
    "connected_on",
    "connectivity",
    "needed_mbps",
    "located_by",
    "source",
    "nearest_pop",
    "pop_distance_m",
    "nearest_cable",
    "cable_distance_m",
    "connect_from",
    "connection_cost",
    "priority",
    "analysed_at",
    "updated_at",
    id=FieldKind.INTEGER,
    identified_on=FieldKind.DATE,
    studied_on=FieldKind.DATE,
    planned_on=FieldKind.DATE,
    connected_on=FieldKind.DATE,
    needed_mbps=FieldKind.INTEGER,
    pop_distance_m=FieldKind.INTEGER,
    cable_distance_m=FieldKind.INTEGER,
    connection_cost=FieldKind.REAL,
    priority=FieldKind.INTEGER,
    analysed_at=FieldKind.DATETIME,
    updated_at=FieldKind.DATETIME,
)


def plain(value: Any) -> Any:
    """A value as files hold it: an enumeration by its value, money as a number.

    Money leaves ``Decimal`` here only because GIS formats have no decimal type; a cost
    rounded to the cent prints back exactly from a float.

    >>> plain(SiteKind.POP), plain(Decimal("1234.50")), plain(None)
    ('pop', 1234.5, None)
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def read_layers(
    session: Session,
    names: Collection[LayerName] = tuple(LayerName),
    *,
    communes: Mapping[str, str] | None = None,
) -> list[Layer]:
    """The layers asked for, in ``LayerName`` order; ``communes`` (INSEE code → name) names
    the commune of each site needing THD."""
    sites = {row.id: row for row in execute_core(session, sa.select(SITE))}
    readers = {
        LayerName.POPS: lambda: pop_layer(sites.values()),
        LayerName.CABLES: lambda: cable_layer(session, sites),
        LayerName.SITE_NEEDS: lambda: site_need_layer(session, sites, communes or {}),
    }
    return [readers[name]() for name in LayerName if name in names]


def pop_layer(sites: Collection[Any]) -> Layer:
    chosen = sorted(
        (site for site in sites if site.kind in POP_KINDS and site.status in MAPPED_STATUSES),
        key=lambda site: site.code,
    )
    features = [
        Feature(
            site.code,
            {
                "code": site.code,
                "name": site.name,
                "kind": plain(site.kind),
                "status": plain(site.status),
                "address": site.address,
                "insee_code": site.insee_code,
                "departement": departement_of(site.insee_code),
            },
            Point(site.longitude, site.latitude),
        )
        for site in chosen
    ]
    return Layer(
        LayerName.POPS.stem,
        "Point",
        POP_COLUMNS,
        features,
        "Gigalis points of presence (PoP, NRO, shelter, hosting room), active or planned",
    )


def cable_route(cable: Any, sites: Mapping[int, Any]) -> list[tuple[float, float]]:
    """A cable's WGS84 points: its recorded route, else its two ends."""
    if cable.route:
        return [(float(point[0]), float(point[1])) for point in cable.route]
    ends = (sites[cable.a_site_id], sites[cable.z_site_id])
    return [(site.longitude, site.latitude) for site in ends]


def cable_layer(session: Session, sites: Mapping[int, Any]) -> Layer:
    query_owners = sa.select(ORGANISATION.c.id, ORGANISATION.c.name)
    owners: dict[int, str] = {row.id: row.name for row in execute_core(session, query_owners)}
    query = sa.select(CABLE).where(CABLE.c.status.in_(MAPPED_STATUSES)).order_by(CABLE.c.code)
    features = [
        Feature(
            cable.code,
            {
                "code": cable.code,
                "a_site": sites[cable.a_site_id].code,
                "a_site_kind": plain(sites[cable.a_site_id].kind),
                "z_site": sites[cable.z_site_id].code,
                "z_site_kind": plain(sites[cable.z_site_id].kind),
                "length_m": cable.length_m,
                "fibre_count": cable.fibre_count,
                "owner": owners[cable.owner_id],
                "ownership": plain(cable.ownership),
                "iru_end_date": cable.iru_end_date,
                "status": plain(cable.status),
                "route_recorded": bool(cable.route),
            },
            LineString(cable_route(cable, sites)),
        )
        for cable in execute_core(session, query)
    ]
    return Layer(
        LayerName.CABLES.stem,
        "LineString",
        CABLE_COLUMNS,
        features,
        "Gigalis fibre cables, active or planned, along their route",
    )


def site_need_layer(
    session: Session, sites: Mapping[int, Any], communes: Mapping[str, str]
) -> Layer:
    query_codes = sa.select(CABLE.c.id, CABLE.c.code)
    cable_codes: dict[int, str] = {row.id: row.code for row in execute_core(session, query_codes)}
    query = sa.select(SITE_NEED).order_by(SITE_NEED.c.id)
    features = [
        Feature(row.id, site_need_properties(row, sites, cable_codes, communes), _point(row))
        for row in execute_core(session, query)
    ]
    return Layer(
        LayerName.SITE_NEEDS.stem,
        "Point",
        SITE_NEED_COLUMNS,
        features,
        "Sites needing very-high-speed access, with their distance to the network",
    )


def site_need_properties(
    row: Any, sites: Mapping[int, Any], cable_codes: Mapping[int, str], communes: Mapping[str, str]
) -> dict[str, Any]:
    """A site needing THD as its layer shows it: never its contacts or notes."""
    properties = {
        column.name: plain(getattr(row, column.name, None)) for column in SITE_NEED_COLUMNS
    }
    pop = sites.get(row.nearest_pop_id) if row.nearest_pop_id is not None else None
    properties.update(
        commune=communes.get(row.commune_insee) if row.commune_insee else None,
        nearest_pop=pop.code if pop is not None else None,
        nearest_cable=cable_codes.get(row.nearest_cable_id),
    )
    return properties


def _point(row: Any) -> Point:
    return Point(row.longitude, row.latitude)


def feature_counts(layers: Sequence[Layer]) -> dict[str, int]:
    return {layer.name: len(layer.features) for layer in layers}
