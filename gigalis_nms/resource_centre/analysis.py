"""Distances from each site needing THD to the network, the estimated cost of connecting it,
and its priority.

For every site, in Lambert-93 metres: the nearest active PoP and its distance, the nearest
active cable route and the distance to it (from the point to the line, so a joint may sit
anywhere along the cable). The connection is estimated both ways with the catalogue's
``site_connection`` rates — a new cable from a splice joint on that cable, or straight from
the PoP — and the cheaper is kept (the PoP on a tie: no joint to open). The priority follows
:mod:`gigalis_nms.resource_centre.priority`.

The columns are written by one bulk UPDATE, not through the ORM, so they are not in the
audit log: they are computed, rewritten at each analysis, and ``analysed_at`` dates them.
``updated_at`` is left alone, since the site's own data did not change.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel
from pyproj import Transformer
from shapely import STRtree, points
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session

from gigalis_nms.billing.money import cents
from gigalis_nms.catalogue.models import Catalogue, SiteConnection
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.tables import CABLE, SITE
from gigalis_nms.ordering.pricing import band_for
from gigalis_nms.resource_centre.geo import LAMBERT93, WGS84, NetworkGeometry, network_geometry
from gigalis_nms.resource_centre.models import (
    ConnectFrom,
    Connectivity,
    NeedStatus,
    SiteCategory,
    SiteNeed,
)
from gigalis_nms.resource_centre.priority import priority_of

METRES_PER_KM = Decimal(1000)
ID_BATCH = 500  # ids per SELECT … IN: well within SQLite's and PostgreSQL's parameter limits
SITE_NEED = table_of(SiteNeed)


@dataclass(frozen=True)
class AnalysisSummary:
    analysed: int  # sites whose analysis columns were written
    unreachable: int  # sites left without a distance: the network has no active PoP or cable


@dataclass(frozen=True)
class Connection:
    """The cheaper way to bring fibre to a site, and its estimated cost (None: no rates)."""

    connect_from: ConnectFrom
    cost: Decimal | None


def metres(distance: float) -> int:
    """A distance rounded half up to the metre.

    >>> metres(1233.5), metres(1233.49)
    (1234, 1233)
    """
    return math.floor(distance + 0.5)


def route_cost(rates: SiteConnection, distance_m: int, start_fee: Decimal) -> Decimal:
    """The estimated cost of a new cable over ``distance_m`` crow-flies: the civil-works
    route (``route_factor`` times longer) at the rate of the band holding its whole length,
    plus the fee at its start and the site's termination, rounded to the cent."""
    route_m = Decimal(distance_m) * rates.route_factor
    band = band_for(rates.bands, route_m / METRES_PER_KM)
    return cents(route_m * band.per_metre + start_fee + rates.site_termination_fee)


def cheaper_connection(
    rates: SiteConnection | None, pop_distance_m: int | None, cable_distance_m: int | None
) -> Connection | None:
    """From the PoP or from a joint on the cable, whichever costs less (the PoP on a tie);
    without rates, whichever is nearer. None when neither distance is known."""
    options: list[tuple[ConnectFrom, int, Decimal]] = []
    if pop_distance_m is not None:
        fee = rates.pop_termination_fee if rates else Decimal(0)
        options.append((ConnectFrom.POP, pop_distance_m, fee))
    if cable_distance_m is not None:
        fee = rates.cable_splice_fee if rates else Decimal(0)
        options.append((ConnectFrom.CABLE, cable_distance_m, fee))
    if not options:
        return None
    if rates is None:
        closest = min(options, key=lambda option: option[1])  # stable: the PoP first
        return Connection(closest[0], None)
    costed = [(route_cost(rates, distance, fee), start) for start, distance, fee in options]
    cost, start = min(costed, key=lambda item: item[0])
    return Connection(start, cost)


@cache
def _to_lambert93() -> Transformer:
    return Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)


def nearest(
    tree_items: Sequence[BaseGeometry], xs: np.ndarray[Any, Any], ys: np.ndarray[Any, Any]
) -> list[tuple[int, float] | None]:
    """For each point (Lambert-93), the index of the nearest geometry and its distance.

    Equidistant geometries (two cables from the same PoP) resolve to the lowest index, so
    that the answer does not depend on the tree's internals."""
    if not tree_items or len(xs) == 0:
        return [None] * len(xs)
    tree = STRtree(list(tree_items))
    (point_index, item_index), distances = tree.query_nearest(
        points(xs, ys), return_distance=True, all_matches=True
    )
    found: list[tuple[int, float] | None] = [None] * len(xs)
    for point, item, distance in zip(
        point_index.tolist(), item_index.tolist(), distances.tolist(), strict=True
    ):
        current = found[point]
        if current is None or item < current[0]:
            found[point] = (item, distance)
    return found


def analyse_sites(
    session: Session,
    catalogue: Catalogue,
    site_ids: Collection[int] | None = None,
    *,
    now: datetime | None = None,
) -> AnalysisSummary:
    """Write the analysis columns of the sites ``site_ids`` (every site when None).

    Runs in the session's transaction; the caller commits."""
    now = now or datetime.now(UTC)
    sites = _sites(session, site_ids)
    if not sites:
        return AnalysisSummary(0, 0)

    network = network_geometry(session)
    rows = _analysed_rows(sites, network, catalogue.site_connection, now)
    _write(session, rows)
    unreachable = sum(1 for row in rows if row["connect_from"] is None)
    return AnalysisSummary(len(rows), unreachable)


def _sites(session: Session, site_ids: Collection[int] | None) -> list[Any]:
    """What the analysis reads of each site, by id; a long list of ids is read in batches,
    within the number of bound parameters a database takes in one statement."""
    query = sa.select(
        SITE_NEED.c.id,
        SITE_NEED.c.longitude,
        SITE_NEED.c.latitude,
        SITE_NEED.c.category,
        SITE_NEED.c.connectivity,
        SITE_NEED.c.needed_mbps,
        SITE_NEED.c.status,
    ).order_by(SITE_NEED.c.id)
    if site_ids is None:
        return list(execute_core(session, query))
    wanted = sorted(set(site_ids))
    return [
        site
        for start in range(0, len(wanted), ID_BATCH)
        for site in execute_core(
            session, query.where(SITE_NEED.c.id.in_(wanted[start : start + ID_BATCH]))
        )
    ]


def _analysed_rows(
    sites: Sequence[Any],
    network: NetworkGeometry,
    rates: SiteConnection | None,
    now: datetime,
) -> list[dict[str, Any]]:
    longitudes = np.array([site.longitude for site in sites], dtype=float)
    latitudes = np.array([site.latitude for site in sites], dtype=float)
    xs, ys = _to_lambert93().transform(longitudes, latitudes)
    to_pop = nearest([pop.point for pop in network.pops], xs, ys)
    to_cable = nearest([cable.line for cable in network.cables], xs, ys)

    rows = []
    for site, pop, cable in zip(sites, to_pop, to_cable, strict=True):
        pop_distance = metres(pop[1]) if pop else None
        cable_distance = metres(cable[1]) if cable else None
        connection = cheaper_connection(rates, pop_distance, cable_distance)
        cost = connection.cost if connection else None
        rows.append(
            {
                "site_id": site.id,
                "nearest_pop_id": network.pops[pop[0]].site_id if pop else None,
                "pop_distance_m": pop_distance,
                "nearest_cable_id": network.cables[cable[0]].cable_id if cable else None,
                "cable_distance_m": cable_distance,
                "connect_from": connection.connect_from if connection else None,
                "connection_cost": cost,
                "priority": priority_of(
                    SiteCategory(site.category),
                    Connectivity(site.connectivity),
                    site.needed_mbps,
                    NeedStatus(site.status),
                    cost,
                ),
                "analysed_at": now,
            }
        )
    return rows


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    # Bound under other names than the columns': SQLAlchemy keeps those for itself.
    values: dict[str, Any] = {
        name: sa.bindparam(f"new_{name}") for name in rows[0] if name != "site_id"
    }
    # Set to itself so that the column's onupdate does not date a computed change.
    values["updated_at"] = SITE_NEED.c.updated_at
    statement = sa.update(SITE_NEED).where(SITE_NEED.c.id == sa.bindparam("site_id")).values(values)
    parameters = [
        {"site_id": row["site_id"], **{f"new_{k}": v for k, v in row.items() if k != "site_id"}}
        for row in rows
    ]
    session.connection().execute(statement, parameters)
    # ORM copies of these sites, if the caller holds any, read the new values on next access.
    written = {row["site_id"] for row in rows}
    for instance in list(session.identity_map.values()):
        if isinstance(instance, SiteNeed) and instance.id in written:
            session.expire(instance)


class RankedSite(BaseModel):
    """A site in the report: what it is, its priority, and how it would be connected."""

    id: int
    name: str
    category: SiteCategory
    commune_insee: str | None
    departement: str | None
    status: NeedStatus
    connectivity: Connectivity
    needed_mbps: int | None
    priority: int | None
    nearest_pop: str | None  # the PoP's code
    pop_distance_m: int | None
    nearest_cable: str | None  # the cable's code
    cable_distance_m: int | None
    connect_from: ConnectFrom | None
    connection_cost: Decimal | None  # EUR excluding VAT, estimated
    analysed_at: datetime | None


def ranked_sites(
    session: Session,
    *,
    departement: str | None = None,
    statuses: Collection[NeedStatus] = (),
    categories: Collection[SiteCategory] = (),
    top: int | None = None,
) -> list[RankedSite]:
    """The sites by priority, highest first (never analysed last), the cheaper first on a
    tie, then by id."""
    pop, cable = SITE.alias("pop"), CABLE.alias("cable")
    query = (
        sa.select(
            *(SITE_NEED.c[name] for name in RankedSite.model_fields if name in SITE_NEED.c),
            pop.c.code.label("nearest_pop"),
            cable.c.code.label("nearest_cable"),
        )
        .select_from(
            SITE_NEED.outerjoin(pop, pop.c.id == SITE_NEED.c.nearest_pop_id).outerjoin(
                cable, cable.c.id == SITE_NEED.c.nearest_cable_id
            )
        )
        .order_by(
            sa.nulls_last(SITE_NEED.c.priority.desc()),
            sa.nulls_last(SITE_NEED.c.connection_cost.asc()),
            SITE_NEED.c.id,
        )
        .limit(top)
    )
    if departement is not None:
        query = query.where(SITE_NEED.c.departement == departement)
    if statuses:
        query = query.where(SITE_NEED.c.status.in_(list(statuses)))
    if categories:
        query = query.where(SITE_NEED.c.category.in_(list(categories)))
    return [RankedSite.model_validate(row._mapping) for row in execute_core(session, query)]
