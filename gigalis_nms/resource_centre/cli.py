"""`gigalis sites-needs`: the sites needing THD — import from CSV, list, show, change —
and, registered by :mod:`gigalis_nms.resource_centre.report_cli`, their analysis and report."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from pydantic import TypeAdapter
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlmodel import Session

from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import INTEGER_MAX
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.inventory.tables import CABLE, SITE
from gigalis_nms.inventory.validators import check_insee_code
from gigalis_nms.resource_centre import analysis, report_cli, service
from gigalis_nms.resource_centre.communes import communes_of, communes_path
from gigalis_nms.resource_centre.importer import ImportReport, RejectsFile, import_sites
from gigalis_nms.resource_centre.mapping import (
    ColumnMapping,
    build_mapping,
    parse_pairs,
    read_date,
    read_mapping_file,
)
from gigalis_nms.resource_centre.models import NeedStatus, SiteCategory, SiteNeed, SiteNeedRead

app = typer.Typer(
    help="Sites needing very-high-speed access: import, list, analysis and report.",
    no_args_is_help=True,
)

# Exit statuses of `import`: 0 every row taken, 2 some rows rejected (the others written),
# 1 nothing written (an error, or --strict with a rejected row).
SOME_REJECTED = 2
CSV_COLUMNS = tuple(name for name in SiteNeedRead.model_fields if name != "contacts")


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@app.callback()
def sites_needs() -> None:
    """Sites needing very-high-speed access: import, list, analysis and report."""


# --- import --------------------------------------------------------------------------------


@app.command("import")
@reports_errors
def import_file(
    file: Annotated[Path, typer.Argument(help="the CSV file")],
    *,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="TARGET=COLUMN pairs, comma-separated or repeated: name=Nom,lat=Y,…"
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help="a YAML mapping file (see the README)")
    ] = None,
    constants: Annotated[
        list[str] | None,
        typer.Option("--set", help="TARGET=VALUE for every row, e.g. category=school"),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="; , | or tab (sniffed when left out)")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="the file's encoding; by default UTF-8 (with or without BOM), and a file that "
            "is not UTF-8 is read as Windows-1252 (cp1252), with a note saying so",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="where the rows come from (default: file name)")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="check and report; write nothing to the database (--rejects still)"
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="write nothing if any row is rejected")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="write the rejected rows, with their line and why, to this new CSV file (also "
            "with --dry-run; never the input file)",
        ),
    ] = None,
    output: Annotated[
        ReportFormat, typer.Option("--format", help="table or json")
    ] = ReportFormat.TABLE,
) -> None:
    """Import sites needing THD from a CSV file, through a column mapping: valid rows are
    written in one transaction and analysed; rejected rows are reported with their line.
    Exit status: 0 every row taken, 2 some rows rejected, 1 nothing written."""
    if not columns and mapping_file is None:
        raise InvalidInput.of("--map", "say which column is what: --map … or --mapping FILE")
    rejects_file = RejectsFile.open(rejects, _files_read(file, mapping_file)) if rejects else None
    written = False
    try:
        mapping = build_mapping(
            read_mapping_file(mapping_file) if mapping_file else None,
            columns=parse_pairs("--map", columns or []),
            constants=parse_pairs("--set", constants or []),
            delimiter=delimiter,
            encoding=encoding,
            source=source,
            file_label=str(mapping_file or "--mapping"),
        )
        report = _import(file, mapping, dry_run=dry_run, strict=strict, rejects_file=rejects_file)
        written = True
    finally:
        if rejects_file is not None:
            rejects_file.close(keep=written)
    if output is ReportFormat.JSON:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_import(report)
    typer.echo(_import_outcome(report, rejects), err=True)
    if report.rejected:
        raise typer.Exit(1 if strict else SOME_REJECTED)


def _files_read(file: Path, mapping_file: Path | None) -> dict[str, Path]:
    """What the import reads, which --rejects may not overwrite: the SQLite database too,
    since truncating it under an open connection would corrupt it."""
    current = settings()
    reads = {"input file": file, "communes file": communes_path(current)}
    if mapping_file is not None:
        reads["mapping file"] = mapping_file
    url = make_url(current.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        reads["SQLite database"] = Path(url.database)
    return reads


def _import(
    file: Path,
    mapping: ColumnMapping,
    *,
    dry_run: bool,
    strict: bool,
    rejects_file: RejectsFile | None,
) -> ImportReport:
    """The import itself; the rejects are written before the transaction commits, so that a
    rejects file that cannot be written leaves the database as it was."""
    current = settings()
    communes = communes_of(current)
    catalogue = None if dry_run else cached_catalogue(catalogue_path(current))

    def analyse(session: Session, ids: list[int]) -> object:
        assert catalogue is not None
        return analysis.analyse_sites(session, catalogue, ids)

    with (
        database() as engine,
        session_scope(engine, actor=cli_actor(), read_only=dry_run) as session,
        console.status(f"importing {file}…"),
    ):
        report = import_sites(
            session, file, mapping, communes, dry_run=dry_run, strict=strict, analyse=analyse
        )
        if rejects_file is not None:
            rejects_file.write(report)
    return report


def _print_import(report: ImportReport) -> None:
    delimiter = "tab" if report.delimiter == "\t" else report.delimiter
    console.print(
        f"{escape(report.file)} (delimiter {escape(delimiter)}, {report.encoding}): "
        f"{report.read} rows read, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.merged)} merged, "
        f"{len(report.rejected)} rejected, {len(report.placed_at_commune)} placed at their "
        "commune's centre"
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if report.rejected:
        table = Table("line", "column", "field", "reason", title="Rejected rows")
        for rejection in report.rejected:
            for problem in rejection.problems:
                table.add_row(
                    str(rejection.line),
                    escape(problem.column or ""),
                    escape(problem.field or ""),
                    escape(problem.reason),
                )
        console.print(table)
    if report.merged:
        table = Table("line", "merged into line", "on", title="Rows naming the same site")
        for merge in report.merged:
            table.add_row(str(merge.line), str(merge.into_line), escape(merge.key))
        console.print(table)
    for placed in report.placed_at_commune:
        console.print(
            f"[yellow]warning:[/] line {placed.line}: {escape(placed.name)} has no point: "
            f"placed at the centre of {escape(placed.commune)} ({placed.commune_insee})"
        )


def _import_outcome(report: ImportReport, rejects: Path | None) -> str:
    kept = ""
    if rejects is not None:
        count = len(report.rejected)
        kept = (
            f"; the {count} rejected rows written to {rejects}"
            if count
            else f"; no row rejected: {rejects} holds the header only"
        )
    if report.dry_run:
        return f"Dry run: nothing was written to the database{kept}."
    if not report.written:
        return f"--strict: {len(report.rejected)} rows rejected, nothing was written{kept}."
    return (
        f"Written in one transaction: {report.created} created, {report.updated} updated; "
        f"{len(report.site_ids)} sites analysed{kept}."
    )


# --- list, show ----------------------------------------------------------------------------


@app.command("list")
@reports_errors
def list_sites(
    departement: Annotated[
        list[str] | None, typer.Option("--departement", help="e.g. 44; repeat for several")
    ] = None,
    status: Annotated[list[NeedStatus] | None, typer.Option("--status")] = None,
    category: Annotated[list[SiteCategory] | None, typer.Option("--category")] = None,
    commune: Annotated[
        list[str] | None, typer.Option("--commune", help="the commune's INSEE code")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", help="table, json or csv")] = (
        ListFormat.TABLE
    ),
) -> None:
    """The sites needing THD, by id, with their distance to the network and priority."""
    _check_places(departement or [], commune or [], communes_of(settings()))
    filters: dict[str, list[Any]] = {
        name: values
        for name, values in (
            ("departement", departement),
            ("status", status),
            ("category", category),
            ("commune_insee", commune),
        )
        if values
    }
    with database() as engine, session_scope(engine, read_only=True) as session:
        page = service.list_sites(session, filters, limit=INTEGER_MAX, offset=0)
    sites = [SiteNeedRead.model_validate(dict(row)) for row in page.rows]
    if output is ListFormat.JSON:
        typer.echo(TypeAdapter(list[SiteNeedRead]).dump_json(sites, indent=2).decode())
    elif output is ListFormat.CSV:
        typer.echo(sites_csv(sites), nl=False)
    else:
        _print_sites(sites)


def _check_places(departements: list[str], communes: list[str], known: service.Communes) -> None:
    """A filter on a place no site can be in is a typo: refused rather than an empty list."""
    of_region = sorted({commune.departement for commune in known.values()})
    for value in departements:
        if value not in of_region:
            raise InvalidInput.of(
                "--departement",
                f"{value!r} is not a département of the communes reference "
                f"({', '.join(of_region)})",
            )
    for value in communes:
        try:
            check_insee_code(value)
        except ValueError as error:
            raise InvalidInput.of("--commune", f"{value!r}: {error}") from None
        if value not in known:
            raise InvalidInput.of(
                "--commune", f"{value!r} is not a commune of the communes reference"
            )


def sites_csv(sites: list[SiteNeedRead]) -> str:
    """The sites as CSV, one column per field (contacts aside: they are in the JSON)."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for site in sites:
        dumped = site.model_dump(mode="json")
        writer.writerow(["" if dumped[name] is None else dumped[name] for name in CSV_COLUMNS])
    return stream.getvalue()


def _print_sites(sites: list[SiteNeedRead]) -> None:
    table = Table(
        "id",
        "name",
        "category",
        "identifier",
        "commune",
        "dép.",
        "status",
        "connectivity",
        "PoP m",
        "cable m",
        "cost €",
        "priority",
        title=f"Sites needing THD ({len(sites)})",
    )
    for site in sites:
        table.add_row(
            str(site.id),
            escape(site.name) + (" *" if site.located_by == "commune" else ""),
            site.category.value,
            site.uai or site.finess or site.siret or "",
            site.commune_insee or "",
            site.departement or "",
            site.status.value,
            site.connectivity.value,
            _number(site.pop_distance_m),
            _number(site.cable_distance_m),
            _number(site.connection_cost),
            _number(site.priority),
        )
    console.print(table)
    if any(site.located_by == "commune" for site in sites):
        console.print("* placed at its commune's centre: the file gave no point")


def _number(value: int | Decimal | None) -> str:
    return "" if value is None else f"{value:,}".replace(",", " ")


@app.command("show")
@reports_errors
def show_site(
    key: Annotated[str, typer.Argument(metavar="ID|UAI|FINESS|SIRET")],
    output: Annotated[ReportFormat, typer.Option("--format", help="table or json")] = (
        ReportFormat.TABLE
    ),
) -> None:
    """One site needing THD, every field and its analysis."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        site = SiteNeedRead.model_validate(service.find_site(session, key))
        codes = _network_codes(session, site)
    if output is ReportFormat.JSON:
        typer.echo(json.dumps({**site.model_dump(mode="json"), **codes}, indent=2))
        return
    table = Table("field", "value", title=f"Site {site.id}: {escape(site.name)}")
    fields: dict[str, Any] = site.model_dump(mode="json")
    # An id means nothing to a reader: the network's code instead, in the same place.
    rows = {
        NETWORK_IDS.get(name, name): codes.get(NETWORK_IDS.get(name, ""), value)
        for name, value in fields.items()
    }
    for name, value in rows.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
        table.add_row(name, "" if shown is None else escape(str(shown)))
    console.print(table)


NETWORK_IDS = {"nearest_pop_id": "nearest_pop", "nearest_cable_id": "nearest_cable"}


def _network_codes(session: Session, site: SiteNeedRead) -> dict[str, str | None]:
    """The codes of the site's nearest PoP and cable route, as the network names them."""

    def code(table: sa.Table, row_id: int | None) -> str | None:
        if row_id is None:
            return None
        query = sa.select(table.c.code).where(table.c.id == row_id)
        found: str | None = execute_core(session, query).scalar_one_or_none()
        return found

    return {
        "nearest_pop": code(SITE, site.nearest_pop_id),
        "nearest_cable": code(CABLE, site.nearest_cable_id),
    }


# --- changes -------------------------------------------------------------------------------


@app.command("set-status")
@reports_errors
def set_status(
    key: Annotated[str, typer.Argument(metavar="ID|UAI|FINESS|SIRET")],
    status: Annotated[NeedStatus, typer.Option("--status", help="the step reached")],
    on: Annotated[
        str | None,
        typer.Option("--on", help="when (YYYY-MM-DD or DD/MM/YYYY); default: today, Paris"),
    ] = None,
) -> None:
    """Move a site to a step (identified, studied, planned, connected) on a date, which may
    not be before an earlier step's; going back clears the later steps' dates."""
    day = _day(on)
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        found = service.find_site(session, key)
        assert found.id is not None
        site = service.set_status(session, found.id, status, on=day, catalogue=_catalogue())
        summary = _steps(site)
    console.print(f"site {site.id} ({escape(site.name)}): {summary}")


@app.command("delete")
@reports_errors
def delete_site(key: Annotated[str, typer.Argument(metavar="ID|UAI|FINESS|SIRET")]) -> None:
    """Delete a site needing THD (the audit log keeps what it was)."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        site = service.find_site(session, key)
        assert site.id is not None
        name = site.name
        service.delete_site(session, site.id)
    console.print(f"deleted site {site.id} ({escape(name)})")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return read_date(text)
    except ValueError as error:
        raise InvalidInput.of("--on", str(error)) from None


def _catalogue() -> Catalogue:
    return cached_catalogue(catalogue_path(settings()))


def _steps(site: SiteNeed) -> str:
    dated = [
        f"{step.value} {getattr(site, f'{step.value}_on')}"
        for step in NeedStatus
        if getattr(site, f"{step.value}_on") is not None
    ]
    return f"{site.status.value}" + (f" ({', '.join(dated)})" if dated else "")


report_cli.register(app)
