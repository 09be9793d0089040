"""Coordinates and the network's geometry.

Every coordinate is stored in WGS84 (EPSG:4326, longitude and latitude in degrees); lengths
and distances are computed in Lambert-93 (EPSG:2154, metres), the projection French GIS
exchange uses, whose scale error stays under 0.1 % across mainland France.

:func:`network_geometry` reads the network as the resource centre sees it: the active PoPs
as points, and the active fibre cables between network sites as lines along their recorded
route (or straight from end to end when no route is recorded), both in Lambert-93. A cable
to a customer's site is that customer's lead-in, not backbone a new site could be joined
to, so it is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from pyproj import Transformer
from shapely import LineString, Point
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import CABLE, SITE

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"
# What mainland France spans in WGS84 (with Corsica), and in Lambert-93: a point outside
# is a swapped or mistyped coordinate, not a French site.
# The sites that make the network itself; a customer_site is a customer's premises.
NETWORK_SITE_KINDS = frozenset(
    {SiteKind.POP, SiteKind.NRO, SiteKind.SHELTER, SiteKind.HOSTING_ROOM}
)
FRANCE_LONGITUDES = (-5.5, 10.0)
FRANCE_LATITUDES = (41.0, 51.5)
LAMBERT93_X = (50_000.0, 1_300_000.0)
LAMBERT93_Y = (6_000_000.0, 7_200_000.0)


@cache
def _transformer(source: str, target: str) -> Transformer:
    # always_xy: longitude (x) first whatever the CRS's axis order says, as GeoJSON does.
    return Transformer.from_crs(source, target, always_xy=True)


def to_lambert93(longitude: float, latitude: float) -> tuple[float, float]:
    """WGS84 degrees → Lambert-93 metres (x, y).

    >>> [round(value) for value in to_lambert93(3.0, 46.5)]
    [700000, 6600000]
    """
    x, y = _transformer(WGS84, LAMBERT93).transform(longitude, latitude)
    return float(x), float(y)


def to_wgs84(x: float, y: float, crs: str = LAMBERT93) -> tuple[float, float]:
    """Projected ``crs`` coordinates (Lambert-93 metres unless told) → WGS84 (longitude,
    latitude) degrees.

    >>> [round(value, 6) for value in to_wgs84(700000, 6600000)]
    [3.0, 46.5]
    """
    longitude, latitude = _transformer(crs, WGS84).transform(x, y)
    return float(longitude), float(latitude)


def in_france(longitude: float, latitude: float) -> bool:
    return (
        FRANCE_LONGITUDES[0] <= longitude <= FRANCE_LONGITUDES[1]
        and FRANCE_LATITUDES[0] <= latitude <= FRANCE_LATITUDES[1]
    )


def in_lambert93_france(x: float, y: float) -> bool:
    return LAMBERT93_X[0] <= x <= LAMBERT93_X[1] and LAMBERT93_Y[0] <= y <= LAMBERT93_Y[1]


def line_lambert93(points: Sequence[Sequence[float]]) -> LineString:
    """A line of WGS84 ``[longitude, latitude]`` points, in Lambert-93."""
    return LineString([to_lambert93(point[0], point[1]) for point in points])


@dataclass(frozen=True)
class PopPoint:
    site_id: int
    code: str
    name: str
    insee_code: str
    longitude: float
    latitude: float
    point: Point  # Lambert-93


@dataclass(frozen=True)
class CableLine:
    cable_id: int
    code: str
    a_site_id: int
    z_site_id: int
    length_m: int
    route: list[list[float]]  # WGS84 [longitude, latitude], both ends included
    line: LineString  # Lambert-93


@dataclass(frozen=True)
class NetworkGeometry:
    pops: list[PopPoint]
    cables: list[CableLine]


def network_geometry(session: Session) -> NetworkGeometry:
    """The active PoPs and the active fibre cables between network sites, by code, in
    Lambert-93."""
    sites = {row.id: row for row in execute_core(session, sa.select(SITE))}
    pops = [
        PopPoint(
            site.id,
            site.code,
            site.name,
            site.insee_code,
            site.longitude,
            site.latitude,
            Point(to_lambert93(site.longitude, site.latitude)),
        )
        for site in sorted(sites.values(), key=lambda site: site.code)
        if site.kind == SiteKind.POP and site.status == LifecycleStatus.ACTIVE
    ]
    query = sa.select(CABLE).where(CABLE.c.status == LifecycleStatus.ACTIVE).order_by(CABLE.c.code)
    cables = []
    for cable in execute_core(session, query):
        ends = (sites[cable.a_site_id].kind, sites[cable.z_site_id].kind)
        if not all(kind in NETWORK_SITE_KINDS for kind in ends):
            continue
        route = cable.route or [
            [sites[cable.a_site_id].longitude, sites[cable.a_site_id].latitude],
            [sites[cable.z_site_id].longitude, sites[cable.z_site_id].latitude],
        ]
        cables.append(
            CableLine(
                cable.id,
                cable.code,
                cable.a_site_id,
                cable.z_site_id,
                cable.length_m,
                route,
                line_lambert93(route),
            )
        )
    return NetworkGeometry(pops, cables)
