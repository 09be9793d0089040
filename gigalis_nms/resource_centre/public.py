"""The public projections of the network and of the sites needing THD: what members and the
public may read, as GeoJSON features (RFC 7946, WGS84 longitude-latitude).

Each projection names the fields it publishes, one by one: a column added to a table later
stays private until someone adds it here. Never published: prices, costs and fees, who owns
a cable or under which right (ownership, IRU dates), fibre counts and strand use, circuits
and their operators, organisations, contacts, notes, and the analysis' estimated cost and
priority.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Generic, Literal, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from shapely import LineString
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import CABLE, SITE
from gigalis_nms.resource_centre.boundaries import Outline, Outlines, geojson_geometry
from gigalis_nms.resource_centre.communes import Commune, departement_of_commune
from gigalis_nms.resource_centre.geo import line_lambert93, to_wgs84
from gigalis_nms.resource_centre.models import (
    LocatedBy,
    NeedStatus,
    SiteCategory,
    SiteNeed,
)
from gigalis_nms.resource_centre.services import (
    NETWORK_KINDS,
    CommuneServices,
    NetworkSite,
    Service,
)

P = TypeVar("P", bound=BaseModel)

# Cable routes are simplified (Douglas–Peucker, in Lambert-93) with this tolerance: 100 m is
# under a pixel at the map's closest useful zoom and does not reveal the exact duct.
CABLE_TOLERANCE_M = 100.0
POINT_DECIMALS = 6  # of a degree: 0.1 m, as stored
LINE_DECIMALS = 5  # 1 m, far below the simplification


class Feature(BaseModel, Generic[P]):
    type: Literal["Feature"] = "Feature"
    id: str | int
    geometry: dict[str, Any]
    properties: P


class FeatureCollection(BaseModel, Generic[P]):
    """A page of features: GeoJSON, with the API's paging members beside ``features``."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    count: int
    next: str | None
    previous: str | None
    features: list[Feature[P]]


def point(longitude: float, latitude: float) -> dict[str, Any]:
    return {
        "type": "Point",
        "coordinates": [round(longitude, POINT_DECIMALS), round(latitude, POINT_DECIMALS)],
    }


# --- network sites ------------------------------------------------------------------------


class PopProperties(BaseModel):
    code: str
    name: str
    kind: SiteKind
    status: LifecycleStatus
    commune_insee: str
    commune: str | None
    departement: str | None
    services: list[Service] = Field(description="what is available here (see the index)")


def departement_of(insee: str | None, communes: Mapping[str, Commune]) -> str | None:
    """The département of an INSEE code: the reference's, else its first two characters."""
    if insee is None:
        return None
    return departement_of_commune(insee, communes) or insee[:2]


def pop_feature(site: NetworkSite, communes: Mapping[str, Commune]) -> Feature[PopProperties]:
    commune = communes.get(site.insee_code)
    return Feature[PopProperties](
        id=site.code,
        geometry=point(site.longitude, site.latitude),
        properties=PopProperties(
            code=site.code,
            name=site.name,
            kind=site.kind,
            status=site.status,
            commune_insee=site.insee_code,
            commune=commune.name if commune else None,
            departement=departement_of(site.insee_code, communes),
            services=list(site.services),
        ),
    )


# --- cables -------------------------------------------------------------------------------


class CableProperties(BaseModel):
    code: str
    status: LifecycleStatus
    length_km: float = Field(description="route length, not crow-flies, to 0.1 km")
    ends: list[str] = Field(description="codes of the sites at its two ends")
    simplified_m: float = Field(description="tolerance the drawn route was simplified with")


def cable_features(session: Session) -> list[Feature[CableProperties]]:
    """Every cable not retired between two network sites, by code, with its route
    simplified. A cable to a customer site (an operator's customer's premises, often leased
    to that operator) would show where the customer is: it is never public."""
    network = sa.select(SITE).where(SITE.c.kind.in_(NETWORK_KINDS))
    sites = {row.id: row for row in execute_core(session, network)}
    query = (
        sa.select(
            CABLE.c.code,
            CABLE.c.status,
            CABLE.c.length_m,
            CABLE.c.a_site_id,
            CABLE.c.z_site_id,
            CABLE.c.route,
        )
        .where(CABLE.c.status != LifecycleStatus.RETIRED)
        .order_by(CABLE.c.code)
    )
    features = []
    for cable in execute_core(session, query):
        if cable.a_site_id not in sites or cable.z_site_id not in sites:
            continue
        a, z = sites[cable.a_site_id], sites[cable.z_site_id]
        route = cable.route or [[a.longitude, a.latitude], [z.longitude, z.latitude]]
        features.append(
            Feature[CableProperties](
                id=cable.code,
                geometry={"type": "LineString", "coordinates": simplified_route(route)},
                properties=CableProperties(
                    code=cable.code,
                    status=cable.status,
                    length_km=round(cable.length_m / 1000, 1),
                    ends=[a.code, z.code],
                    simplified_m=CABLE_TOLERANCE_M,
                ),
            )
        )
    return features


def simplified_route(route: Sequence[Sequence[float]]) -> list[list[float]]:
    """A WGS84 route simplified in Lambert-93, back in WGS84; its two ends are kept.

    >>> simplified_route([[-1.5, 47.2], [-1.25, 47.2000001], [-1.0, 47.2]])
    [[-1.5, 47.2], [-1.0, 47.2]]
    """
    line = line_lambert93(route)
    simple = line.simplify(CABLE_TOLERANCE_M, preserve_topology=False)
    if not isinstance(simple, LineString) or simple.is_empty:  # a degenerate route
        simple = line
    return [[round(value, LINE_DECIMALS) for value in to_wgs84(x, y)] for x, y in simple.coords]


# --- sites needing THD --------------------------------------------------------------------


class NeedSiteProperties(BaseModel):
    id: int
    name: str
    category: SiteCategory
    uai: str | None = Field(description="school register (public)")
    finess: str | None = Field(description="health establishments register (public)")
    siret: str | None = Field(description="establishments register (public)")
    commune_insee: str | None
    commune: str | None
    departement: str | None
    located_by: LocatedBy = Field(description="commune: placed at the commune's centre")
    status: NeedStatus
    identified_on: date | None
    studied_on: date | None
    planned_on: date | None
    connected_on: date | None
    nearest_pop: str | None = Field(description="code of the nearest active PoP")
    pop_distance_m: int | None = Field(description="straight line to the nearest PoP")
    cable_distance_m: int | None = Field(description="straight line to the nearest cable")
    distance_to_network_m: int | None = Field(description="the shorter of the two")


# The only columns of site_need the public view reads.
NEED_COLUMNS = (
    "id",
    "name",
    "category",
    "uai",
    "finess",
    "siret",
    "commune_insee",
    "departement",
    "located_by",
    "status",
    "identified_on",
    "studied_on",
    "planned_on",
    "connected_on",
    "latitude",
    "longitude",
    "nearest_pop_id",
    "pop_distance_m",
    "cable_distance_m",
)


def need_columns() -> list[sa.ColumnElement[Any]]:
    table = table_of(SiteNeed)
    return [table.c[name] for name in NEED_COLUMNS]


def need_feature(
    row: Any, communes: Mapping[str, Commune], pop_codes: Mapping[int, str]
) -> Feature[NeedSiteProperties]:
    commune = communes.get(row.commune_insee) if row.commune_insee else None
    distances = [d for d in (row.pop_distance_m, row.cable_distance_m) if d is not None]
    return Feature[NeedSiteProperties](
        id=row.id,
        geometry=point(row.longitude, row.latitude),
        properties=NeedSiteProperties(
            id=row.id,
            name=row.name,
            category=row.category,
            uai=row.uai,
            finess=row.finess,
            siret=row.siret,
            commune_insee=row.commune_insee,
            commune=commune.name if commune else None,
            departement=row.departement or departement_of(row.commune_insee, communes),
            located_by=row.located_by,
            status=row.status,
            identified_on=row.identified_on,
            studied_on=row.studied_on,
            planned_on=row.planned_on,
            connected_on=row.connected_on,
            nearest_pop=pop_codes.get(row.nearest_pop_id) if row.nearest_pop_id else None,
            pop_distance_m=row.pop_distance_m,
            cable_distance_m=row.cable_distance_m,
            distance_to_network_m=min(distances) if distances else None,
        ),
    )


# --- services per commune -----------------------------------------------------------------


class NearestPopView(BaseModel):
    code: str
    name: str
    distance_km: float = Field(description="from the commune's centre, straight line, to 0.1 km")


class NeedCounts(BaseModel):
    """Sites needing THD in the commune, by status."""

    identified: int
    studied: int
    planned: int
    connected: int


class CommuneView(BaseModel):
    insee: str
    name: str
    departement: str
    population: int
    longitude: float | None = Field(description="the commune's centre, WGS84, if known")
    latitude: float | None
    pops: list[str] = Field(description="codes of the active network sites in the commune")
    nearest_pop: NearestPopView | None
    services: list[Service]
    sites_needing_thd: NeedCounts


def commune_view(found: CommuneServices) -> CommuneView:
    commune, nearest = found.commune, found.nearest_pop
    return CommuneView(
        insee=commune.insee,
        name=commune.name,
        departement=commune.departement,
        population=commune.population,
        longitude=commune.longitude,
        latitude=commune.latitude,
        pops=[site.code for site in found.sites],
        nearest_pop=NearestPopView(
            code=nearest.code, name=nearest.name, distance_km=round(nearest.distance_km, 1)
        )
        if nearest
        else None,
        services=list(found.services),
        sites_needing_thd=NeedCounts(
            **{status.value: found.needs_by_status.get(status, 0) for status in NeedStatus}
        ),
    )


# --- boundaries ---------------------------------------------------------------------------


class CommuneOutlineProperties(BaseModel):
    insee: str
    name: str
    departement: str
    precision: str = Field(description="approximate (derived) or official")
    source: str


class DepartementOutlineProperties(BaseModel):
    departement: str
    name: str
    communes: int
    precision: str = Field(description="approximate (derived) or official")
    source: str


def commune_outline_feature(
    outline: Outline, outlines: Outlines
) -> Feature[CommuneOutlineProperties]:
    return Feature[CommuneOutlineProperties](
        id=outline.code,
        geometry=geojson_geometry(outline.shape),
        properties=CommuneOutlineProperties(
            insee=outline.code,
            name=outline.name,
            departement=outline.departement,
            precision=outlines.precision,
            source=outlines.source,
        ),
    )


def departement_outline_feature(
    outline: Outline, outlines: Outlines
) -> Feature[DepartementOutlineProperties]:
    members = sum(1 for c in outlines.communes.values() if c.departement == outline.code)
    return Feature[DepartementOutlineProperties](
        id=outline.code,
        geometry=geojson_geometry(outline.shape),
        properties=DepartementOutlineProperties(
            departement=outline.code,
            name=outline.name,
            communes=members,
            precision=outlines.precision,
            source=outlines.source,
        ),
    )
