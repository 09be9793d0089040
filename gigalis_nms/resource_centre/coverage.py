"""Coverage: how far the sites needing THD are from the network, per commune, département and
for the region, and how many people live in communes with an active Gigalis PoP.

A site *lies within* ``within_m`` of the network when the nearer of its nearest PoP and
its nearest cable route is at most that far, as the last analysis measured
(:mod:`gigalis_nms.resource_centre.analysis`); a site never analysed, or analysed against an
empty network, does not. Shares are ratios from 0 to 1; None when there is nothing to
divide.

The population figures come from the communes file (INSEE 2021), not from the sites: the
population of an area, and the part of it living in a commune with an active PoP.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session

from gigalis_nms.billing.money import ZERO, cents
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import SITE
from gigalis_nms.resource_centre.communes import DEPARTEMENT_NAMES, Commune, departement_of_commune
from gigalis_nms.resource_centre.models import ConnectFrom, NeedStatus, SiteCategory, SiteNeed

DEFAULT_WITHIN_M = 2000
MAX_WITHIN_M = 100_000  # beyond 100 km every site of the region is "within": a mistake
SHARE_DIGITS = 4
SITE_NEED = table_of(SiteNeed)


class CoverageAxis(StrEnum):
    COMMUNE = "commune"
    DEPARTEMENT = "departement"


class CoverageFigures(BaseModel):
    sites: int = 0
    identified: int = 0
    studied: int = 0
    planned: int = 0
    connected: int = 0
    within: int = Field(default=0, description="sites within `within_m` of the network")
    within_share: float | None = Field(default=None, description="within / sites, 0–1")
    population: int = Field(default=0, description="INSEE 2021 population of the area")
    population_with_pop: int = Field(
        default=0, description="population of the area's communes with an active PoP"
    )
    population_with_pop_share: float | None = Field(
        default=None, description="population_with_pop / population, 0–1"
    )


class CoverageRow(CoverageFigures):
    code: str = Field(description="the commune's INSEE code, or the département's number")
    name: str
    departement: str


class CoverageReport(BaseModel):
    by: CoverageAxis
    within_m: int
    departement: str | None = Field(default=None, description="only this département")
    rows: list[CoverageRow]
    totals: CoverageFigures  # the region, or the département asked


@dataclass(frozen=True)
class CoveredSite:
    commune: str | None
    departement: str | None
    status: NeedStatus
    within: bool


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 decimals; None for an empty whole.

    >>> share(1, 3), share(0, 0)
    (0.3333, None)
    """
    return round(part / whole, SHARE_DIGITS) if whole else None


def figures(
    sites: Iterable[CoveredSite], populations: Iterable[tuple[int, bool]]
) -> dict[str, int | float | None]:
    """The figures of an area: its sites, and its communes' (population, has a PoP)."""
    sites = list(sites)
    statuses = Counter(site.status for site in sites)
    within = sum(1 for site in sites if site.within)
    total = with_pop = 0
    for population, has_pop in populations:
        total += population
        with_pop += population if has_pop else 0
    return {
        "sites": len(sites),
        **{status.value: statuses[status] for status in NeedStatus},
        "within": within,
        "within_share": share(within, len(sites)),
        "population": total,
        "population_with_pop": with_pop,
        "population_with_pop_share": share(with_pop, total),
    }


def coverage_report(
    session: Session,
    communes: Mapping[str, Commune],
    *,
    by: CoverageAxis = CoverageAxis.DEPARTEMENT,
    within_m: int = DEFAULT_WITHIN_M,
    departement: str | None = None,
    statuses: Collection[NeedStatus] = (),
    categories: Collection[SiteCategory] = (),
) -> CoverageReport:
    """Coverage per commune or per département, with totals for the region (or for
    ``departement`` when given). Communes are listed when they have a site or an active PoP;
    every département of the communes file is listed. A site without a commune counts in
    its département's and the totals' figures only."""
    sites = covered_sites(session, communes, within_m, statuses, categories)
    pop_communes = active_pop_communes(session)
    if departement is not None:
        sites = [site for site in sites if site.departement == departement]
        communes = {
            code: commune
            for code, commune in communes.items()
            if commune.departement == departement
        }

    rows = (
        _commune_rows(sites, communes, pop_communes)
        if by is CoverageAxis.COMMUNE
        else _departement_rows(sites, communes, pop_communes)
    )
    people = [(commune.population, code in pop_communes) for code, commune in communes.items()]
    return CoverageReport(
        by=by,
        within_m=within_m,
        departement=departement,
        rows=rows,
        totals=CoverageFigures.model_validate(figures(sites, people)),
    )


def covered_sites(
    session: Session,
    communes: Mapping[str, Commune],
    within_m: int,
    statuses: Collection[NeedStatus] = (),
    categories: Collection[SiteCategory] = (),
) -> list[CoveredSite]:
    query = sa.select(
        SITE_NEED.c.commune_insee,
        SITE_NEED.c.departement,
        SITE_NEED.c.status,
        SITE_NEED.c.pop_distance_m,
        SITE_NEED.c.cable_distance_m,
    )
    if statuses:
        query = query.where(SITE_NEED.c.status.in_(list(statuses)))
    if categories:
        query = query.where(SITE_NEED.c.category.in_(list(categories)))
    return [
        CoveredSite(
            row.commune_insee,
            row.departement or departement_of_commune(row.commune_insee, communes),
            NeedStatus(row.status),
            network_distance(row.pop_distance_m, row.cable_distance_m) <= within_m,
        )
        for row in execute_core(session, query)
    ]


def network_distance(pop_distance_m: int | None, cable_distance_m: int | None) -> float:
    """The nearer of the two distances; infinite when neither is known.

    >>> network_distance(120, 80), network_distance(None, 80), network_distance(None, None)
    (80, 80, inf)
    """
    known = [d for d in (pop_distance_m, cable_distance_m) if d is not None]
    return min(known) if known else math.inf


def active_pop_communes(session: Session) -> set[str]:
    """The INSEE codes of the communes with at least one active PoP."""
    query = sa.select(SITE.c.insee_code).where(
        SITE.c.kind == SiteKind.POP, SITE.c.status == LifecycleStatus.ACTIVE
    )
    return {code for code in execute_core(session, query).scalars() if code}


def _commune_rows(
    sites: list[CoveredSite], communes: Mapping[str, Commune], pop_communes: set[str]
) -> list[CoverageRow]:
    by_commune: dict[str, list[CoveredSite]] = defaultdict(list)
    for site in sites:
        if site.commune is not None:
            by_commune[site.commune].append(site)
    listed = sorted(code for code in communes if code in by_commune or code in pop_communes)
    return [
        CoverageRow(
            code=code,
            name=communes[code].name,
            departement=communes[code].departement,
            **figures(by_commune[code], [(communes[code].population, code in pop_communes)]),
        )
        for code in listed
    ]


def _departement_rows(
    sites: list[CoveredSite], communes: Mapping[str, Commune], pop_communes: set[str]
) -> list[CoverageRow]:
    by_departement: dict[str, list[CoveredSite]] = defaultdict(list)
    for site in sites:
        if site.departement is not None:
            by_departement[site.departement].append(site)
    people: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for code, commune in communes.items():
        people[commune.departement].append((commune.population, code in pop_communes))
    return [
        CoverageRow(
            code=number,
            name=DEPARTEMENT_NAMES.get(number, number),
            departement=number,
            **figures(by_departement[number], people[number]),
        )
        for number in sorted(set(people) | set(by_departement))
    ]


COLUMNS = ("code", "name", "departement", *CoverageFigures.model_fields)


def as_csv(report: CoverageReport) -> str:
    """One line per row under a header; no totals line (a spreadsheet sums the rows)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        writer.writerow(
            ["" if (value := getattr(row, name)) is None else value for name in COLUMNS]
        )
    return stream.getvalue()


class AnalysisOverview(BaseModel):
    """The figures of the whole analysis, for the command line and the API."""

    sites: int
    unreachable: int = Field(description="sites without a distance (no active PoP or cable)")
    within_m: int
    within: int = Field(description="sites within `within_m` of the network")
    median_distance_m: float | None = Field(
        description="median distance to the network (nearer of PoP and cable)"
    )
    from_pop: int = Field(description="sites cheaper to connect from a PoP")
    from_cable: int = Field(description="sites cheaper to connect from a joint on a cable")
    total_cost: Decimal = Field(description="sum of the estimated connection costs, EUR excl. VAT")


def analysis_overview(session: Session, within_m: int = DEFAULT_WITHIN_M) -> AnalysisOverview:
    """Counts, median distance and total estimated cost over every site, as last analysed."""
    query = sa.select(
        SITE_NEED.c.pop_distance_m,
        SITE_NEED.c.cable_distance_m,
        SITE_NEED.c.connect_from,
        SITE_NEED.c.connection_cost,
    )
    rows = execute_core(session, query).all()
    distances = [network_distance(row.pop_distance_m, row.cable_distance_m) for row in rows]
    known = [distance for distance in distances if distance != math.inf]
    starts = Counter(row.connect_from for row in rows)
    return AnalysisOverview(
        sites=len(rows),
        unreachable=len(rows) - len(known),
        within_m=within_m,
        within=sum(1 for distance in known if distance <= within_m),
        median_distance_m=statistics.median(known) if known else None,
        from_pop=starts[ConnectFrom.POP],
        from_cable=starts[ConnectFrom.CABLE],
        total_cost=cents(sum((row.connection_cost or ZERO for row in rows), ZERO)),
    )
