"""`gigalis sites-needs analyse` and `gigalis sites-needs report`: the distances, estimated
costs and priorities of the sites needing THD, and coverage per commune or département.

The report recomputes the analysis first (the network may have changed since the sites were
imported) unless told ``--no-refresh``; it then prints a table for people, JSON for tools or
CSV for spreadsheets.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.resource_centre import coverage
from gigalis_nms.resource_centre.analysis import (
    AnalysisSummary,
    RankedSite,
    analyse_sites,
    ranked_sites,
)
from gigalis_nms.resource_centre.communes import DEPARTEMENT_NAMES, communes_of
from gigalis_nms.resource_centre.coverage import (
    DEFAULT_WITHIN_M,
    MAX_WITHIN_M,
    AnalysisOverview,
    CoverageAxis,
    CoverageFigures,
    CoverageReport,
)
from gigalis_nms.resource_centre.models import NeedStatus, SiteCategory


class ReportBy(StrEnum):
    SITE = "site"
    COMMUNE = "commune"
    DEPARTEMENT = "departement"


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


WithinOption = Annotated[
    int | None,
    typer.Option(
        "--within",
        min=0,
        max=MAX_WITHIN_M,
        help=f"the distance to the network counted as near, metres (default {DEFAULT_WITHIN_M})",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the analysis commands to ``gigalis sites-needs``."""
    app.command("analyse")(analyse)
    app.command("report")(report)


@reports_errors
def analyse(
    within: WithinOption = None,
) -> None:
    """Recompute every site's nearest PoP and cable, distances, estimated connection cost and
    priority against the active network, and print the figures."""
    with database() as engine:
        summary = _refresh(engine)
        with session_scope(engine, read_only=True) as session:
            overview = coverage.analysis_overview(
                session, DEFAULT_WITHIN_M if within is None else within
            )
    console.print(f"analysed {summary.analysed} sites; {summary.unreachable} unreachable")
    _print_overview(overview)


@reports_errors
def report(
    *,
    by: Annotated[
        ReportBy, typer.Option("--by", help="sites by priority, or coverage per commune")
    ] = ReportBy.SITE,
    within: WithinOption = None,
    departement: Annotated[
        str | None, typer.Option("--departement", help="only this département: 44, 49, 53…")
    ] = None,
    status: Annotated[
        list[NeedStatus] | None, typer.Option("--status", help="only these statuses (repeat)")
    ] = None,
    category: Annotated[
        list[SiteCategory] | None,
        typer.Option("--category", help="only these categories (repeat)"),
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="only the N sites of highest priority")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.TABLE,
    refresh: Annotated[
        bool,
        typer.Option("--refresh/--no-refresh", help="recompute the analysis first (default)"),
    ] = True,
) -> None:
    """The sites needing THD by priority, with their distances, estimated cost and where they
    would be connected from; or, with --by commune|departement, coverage: sites by status,
    how many lie within --within metres of the network, and the population of the communes
    with an active PoP."""
    _check_options(by, within, departement, top)
    with database() as engine:
        if refresh:
            _refresh(engine)
        with session_scope(engine, read_only=True) as session:
            if by is ReportBy.SITE:
                sites = ranked_sites(
                    session,
                    departement=departement,
                    statuses=status or (),
                    categories=category or (),
                    top=top,
                )
            else:
                found = coverage.coverage_report(
                    session,
                    communes_of(settings()),
                    by=CoverageAxis(by.value),
                    within_m=DEFAULT_WITHIN_M if within is None else within,
                    departement=departement,
                    statuses=status or (),
                    categories=category or (),
                )
    if by is ReportBy.SITE:
        _emit_sites(sites, output)
    else:
        _emit_coverage(found, output)


def _check_options(
    by: ReportBy, within: int | None, departement: str | None, top: int | None
) -> None:
    if departement is not None and departement not in DEPARTEMENT_NAMES:
        known = ", ".join(DEPARTEMENT_NAMES)
        raise InvalidInput.of("--departement", f"not a département of the region ({known})")
    if by is ReportBy.SITE and within is not None:
        raise InvalidInput.of(
            "--within", "counts sites near the network: use it with --by commune or departement"
        )
    if by is not ReportBy.SITE and top is not None:
        raise InvalidInput.of("--top", "ranks sites: use it with --by site")


def _refresh(engine: Engine) -> AnalysisSummary:
    catalogue = cached_catalogue(catalogue_path(settings()))
    with session_scope(engine, actor=cli_actor()) as session:
        return analyse_sites(session, catalogue)


# --- Sites -------------------------------------------------------------------------------------

SITE_COLUMNS = (
    "priority",
    "id",
    "name",
    "category",
    "commune_insee",
    "departement",
    "status",
    "connectivity",
    "nearest_pop",
    "pop_distance_m",
    "nearest_cable",
    "cable_distance_m",
    "connect_from",
    "connection_cost",
)


def _emit_sites(sites: list[RankedSite], output: Format) -> None:
    if output is Format.JSON:
        body = [site.model_dump(mode="json") for site in sites]
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    elif output is Format.CSV:
        typer.echo(
            _csv(SITE_COLUMNS, ([getattr(s, c) for c in SITE_COLUMNS] for s in sites)), nl=False
        )
    else:
        _print_sites(sites)


# The table keeps to what fits a screen; CSV and JSON have every column.
TABLE_COLUMNS = {
    "priority": "priority",
    "id": "id",
    "name": "name",
    "commune_insee": "commune",
    "status": "status",
    "nearest_pop": "PoP",
    "pop_distance_m": "PoP m",
    "cable_distance_m": "cable m",
    "connect_from": "from",
    "connection_cost": "cost €",
}


def _print_sites(sites: list[RankedSite]) -> None:
    table = Table(title=f"Sites needing THD by priority ({len(sites)})")
    for column, header in TABLE_COLUMNS.items():
        table.add_column(header, justify=_justify(column), overflow="fold")
    for site in sites:
        table.add_row(*(escape(_cell(getattr(site, column))) for column in TABLE_COLUMNS))
    console.print(table)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else _cell(value) for value in row])
    return stream.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _justify(column: str) -> Literal["left", "right"]:
    return "right" if column.endswith(("_m", "_cost", "priority", "id")) else "left"


# --- Coverage ----------------------------------------------------------------------------------

FIGURE_HEADERS = (
    "sites",
    "identified",
    "studied",
    "planned",
    "connected",
    "within",
    "within %",
    "population",
    "pop. in PoP communes",
    "%",
)


def _emit_coverage(found: CoverageReport, output: Format) -> None:
    if output is Format.JSON:
        typer.echo(found.model_dump_json(indent=2))
    elif output is Format.CSV:
        typer.echo(coverage.as_csv(found), nl=False)
    else:
        _print_coverage(found)


def _print_coverage(found: CoverageReport) -> None:
    scope = DEPARTEMENT_NAMES.get(found.departement or "", "Pays de la Loire")
    table = Table(title=f"Coverage by {found.by.value}, {scope}: within {found.within_m} m")
    table.add_column("code")
    table.add_column("name")
    for header in FIGURE_HEADERS:
        table.add_column(header, justify="right")
    for row in found.rows:
        table.add_row(row.code, escape(row.name), *_figure_cells(row))
    table.add_section()
    table.add_row("total", "", *_figure_cells(found.totals), style="bold")
    console.print(table)


def _figure_cells(figures: CoverageFigures) -> list[str]:
    counts = (
        figures.sites,
        figures.identified,
        figures.studied,
        figures.planned,
        figures.connected,
        figures.within,
    )
    return [
        *map(str, counts),
        _percent(figures.within_share),
        str(figures.population),
        str(figures.population_with_pop),
        _percent(figures.population_with_pop_share),
    ]


def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{100 * ratio:.1f}"


def _print_overview(overview: AnalysisOverview) -> None:
    median = overview.median_distance_m
    console.print(
        f"{overview.within} of {overview.sites} sites within {overview.within_m} m of the "
        f"network; median distance {'–' if median is None else f'{median:.0f} m'}"
    )
    console.print(
        f"cheaper from a PoP: {overview.from_pop}, from a joint on a cable: "
        f"{overview.from_cable}; estimated total {overview.total_cost:,.2f} EUR excl. VAT"
    )
