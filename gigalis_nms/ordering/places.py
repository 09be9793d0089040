"""Where an operator's point meets the network: the nearest PoP, and distances between sites.

A PoP can serve a point when it is an active site of kind ``pop`` with at least one active
router: a PoP without one has nothing to hand a circuit off on. Distances are great-circle
(haversine) metres from WGS84 coordinates: close enough to rank PoPs a few kilometres apart
and to tell an operator how far its point is, not a cable length (see inventory/paths.py for
those).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.enums import DeviceStatus, LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import DEVICE, SITE
from gigalis_nms.inventory.topology import great_circle_m


@dataclass(frozen=True)
class SitePoint:
    """A site where it stands."""

    site_id: int
    code: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class NearbyPop:
    """A PoP and how far it is from the point asked about, in whole metres."""

    site_id: int
    code: str
    distance_m: int


def serving_pops(session: Session) -> list[SitePoint]:
    """Every active PoP with an active router, by code."""
    has_router = sa.exists().where(
        DEVICE.c.site_id == SITE.c.id, DEVICE.c.status == DeviceStatus.ACTIVE
    )
    query = (
        sa.select(SITE.c.id, SITE.c.code, SITE.c.latitude, SITE.c.longitude)
        .where(SITE.c.kind == SiteKind.POP, SITE.c.status == LifecycleStatus.ACTIVE, has_router)
        .order_by(SITE.c.code)
    )
    return [
        SitePoint(row.id, row.code, row.latitude, row.longitude)
        for row in execute_core(session, query)
    ]


def pops_by_distance(pops: list[SitePoint], latitude: float, longitude: float) -> list[NearbyPop]:
    """``pops`` nearest first (ties by code), with their distance to the point.

    >>> pops = [SitePoint(1, "NTE1", 47.2181, -1.5528), SitePoint(2, "ANG1", 47.4784, -0.5632)]
    >>> [(pop.code, pop.distance_m) for pop in pops_by_distance(pops, 47.47, -0.55)]
    [('ANG1', 1363), ('NTE1', 80580)]
    """
    nearby = [
        NearbyPop(
            pop.site_id,
            pop.code,
            round(great_circle_m(latitude, longitude, pop.latitude, pop.longitude)),
        )
        for pop in pops
    ]
    return sorted(nearby, key=lambda pop: (pop.distance_m, pop.code))


def nearest_pop(session: Session, latitude: float, longitude: float) -> NearbyPop:
    """The serving PoP nearest to a WGS84 point; NotFound when the network has none."""
    nearby = pops_by_distance(serving_pops(session), latitude, longitude)
    if not nearby:
        raise NotFound.of("place", "no active PoP with an active router serves any point")
    return nearby[0]


def site_point(session: Session, site_id: int) -> SitePoint:
    query = sa.select(SITE.c.id, SITE.c.code, SITE.c.latitude, SITE.c.longitude).where(
        SITE.c.id == site_id
    )
    row = execute_core(session, query).one_or_none()
    if row is None:
        raise NotFound.of("site", f"no site with id {site_id}")
    return SitePoint(row.id, row.code, row.latitude, row.longitude)


def site_distance_m(session: Session, a_site_id: int, z_site_id: int) -> int:
    """Great-circle metres between two sites (not the fibre route: see inventory.paths)."""
    a, z = site_point(session, a_site_id), site_point(session, z_site_id)
    return round(great_circle_m(a.latitude, a.longitude, z.latitude, z.longitude))


def pops_near_site(
    session: Session,
    site_id: int,
    within_m: int,
    *,
    pops: list[SitePoint] | None = None,
    exclude: Collection[int] = (),
) -> list[NearbyPop]:
    """The serving PoPs other than ``site_id`` and those of ``exclude`` within ``within_m`` of
    it, nearest first."""
    here = site_point(session, site_id)
    candidates = serving_pops(session) if pops is None else pops
    return pops_near_point(
        candidates, here.latitude, here.longitude, within_m, exclude={site_id, *exclude}
    )


def pops_near_point(
    pops: list[SitePoint],
    latitude: float,
    longitude: float,
    within_m: int,
    *,
    exclude: Collection[int] = (),
) -> list[NearbyPop]:
    """``pops`` within ``within_m`` of a point, nearest first, without those of ``exclude``.

    >>> pops = [SitePoint(1, "NTE1", 47.2181, -1.5528), SitePoint(2, "ANG1", 47.4784, -0.5632)]
    >>> [pop.code for pop in pops_near_point(pops, 47.47, -0.55, 100_000, exclude={2})]
    ['NTE1']
    >>> pops_near_point(pops, 47.47, -0.55, 1000)
    []
    """
    nearby = pops_by_distance(pops, latitude, longitude)
    return [pop for pop in nearby if pop.site_id not in exclude and pop.distance_m <= within_m]
