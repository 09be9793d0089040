"""`gigalis inventory …`: load the network from files, import topologies, look at it."""

from __future__ import annotations

import getpass
from collections.abc import Sequence, Set
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, col, select

from gigalis_nms.console import console, database, reports_errors, settings
from gigalis_nms.db import migrate, session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory import reports
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.loader.render import print_plan
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.inventory.paths import shortest_cable_route
from gigalis_nms.inventory.topology import (
    DEFAULT_DETOUR_FACTOR,
    ImportReport,
    import_topology_file,
)

app = typer.Typer(help="The network inventory: load, import, view.", no_args_is_help=True)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def operator_id_named(session: Session, name: str, option: str = "--operator") -> int:
    """The id of the organisation called ``name``, given on the command line as ``option``."""
    found = session.exec(select(Organisation.id).where(col(Organisation.name) == name)).first()
    if found is None:
        raise InvalidInput.of(option, f"no operator named {name!r}")
    return found


@app.command("load")
@reports_errors
def load(
    path: Annotated[Path, typer.Argument(help="a folder of YAML files, or one file")] = Path(
        "inventory"
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the changes only")] = False,
    show: Annotated[int, typer.Option(help="changes listed per kind and action; 0: all")] = 20,
) -> None:
    """Validate the YAML network, show what changes, and apply it in one transaction."""
    with database() as engine:
        migrate.upgrade(engine)
        with console.status("reading and checking the inventory…"):
            result = load_inventory(engine, path, actor=cli_actor(), dry_run=dry_run)
    print_plan(console, result.plan, show=show)
    if result.applied:
        console.print(f"[green]Applied[/] {len(result.plan.changes)} changes.")
    elif dry_run and not result.plan.is_empty:
        console.print("Dry run: nothing was written.")


@app.command("import-topology")
@reports_errors
def import_topology(
    file: Annotated[Path, typer.Argument(help="a GraphML or GML file of the Topology Zoo")],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="where to import (never the Gigalis database); "
            "default: <data dir>/topologies/<file name>.sqlite3",
        ),
    ] = None,
    detour_factor: Annotated[
        float,
        typer.Option(
            "--detour-factor",
            help="cable length = crow-flies distance × this (1.0–5.0): topologies give no routes",
        ),
    ] = DEFAULT_DETOUR_FACTOR,
) -> None:
    """Import a published topology into a database of its own: places become sites, links
    become fibre cables."""
    with console.status(f"importing {file.name}…"):
        report = import_topology_file(
            file, settings(), database_url=database_url, detour_factor=detour_factor
        )
    print_topology_report(report)


def print_topology_report(report: ImportReport) -> None:
    console.print(f"{report.network} ({report.source}) → {report.database_url}", highlight=False)
    summary = Table(title="Imported", title_justify="left")
    for column in ("", "created", "updated", "unchanged"):
        summary.add_column(column, justify="left" if not column else "right")
    for kind, counts in (("sites", report.sites), ("cables", report.cables)):
        summary.add_row(kind, str(counts.created), str(counts.updated), str(counts.unchanged))
    console.print(summary)
    console.print(
        f"{report.strands_created} strands created, {len(report.skipped)} items skipped, "
        f"detour factor {report.detour_factor:g}",
        highlight=False,
    )
    if report.skipped:
        skipped = Table("item", "reason", title="Skipped", title_justify="left")
        for item in report.skipped:
            skipped.add_row(item.item, item.reason)
        console.print(skipped)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    if report.speeds:
        # Kept in the report only: capacity belongs to backbone links, which a topology lacks.
        speeds = Table(
            "cable", "published speed", "label", title="Link speeds", title_justify="left"
        )
        for speed in report.speeds:
            speeds.add_row(speed.cable, _speed(speed.speed_mbps), speed.link_label or "")
        console.print(speeds)
    if not report.changed:
        console.print("Nothing changed: the database already matches the file.")


def _speed(mbps: float | None) -> str:
    if mbps is None:
        return "–"
    if mbps == 0:
        return "0"
    return f"{mbps / 1000:g} Gb/s" if mbps >= 1000 else f"{mbps:g} Mb/s"


def listing(title: str, key: str, columns: Sequence[str], *, numeric: Set[str]) -> Table:
    """A table whose first column, the name people copy, never wraps; numbers align right."""
    table = Table(title=title, title_justify="left")
    table.add_column(key, no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


def _km(metres: int) -> str:
    return f"{metres / 1000:,.1f}"


@app.command("path")
@reports_errors
def path(
    a_site: Annotated[str, typer.Argument(help="site code at one end, e.g. LVL1")],
    z_site: Annotated[str, typer.Argument(help="site code at the other end, e.g. NTE1")],
) -> None:
    """Print the shortest active cable route between two sites, with its length."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        route = shortest_cable_route(session, a_site, z_site)
    table = Table(title=f"Cable route {a_site} → {z_site}", title_justify="left")
    for column in ("from", "to", "cable"):
        table.add_column(column)
    table.add_column("km", justify="right")
    for hop in route.hops:
        table.add_row(hop.from_site, hop.to_site, hop.cable, _km(hop.length_m))
    console.print(table)
    console.print(
        f"{' → '.join(route.sites) or a_site}: {len(route.hops)} cables, {_km(route.length_m)} km"
    )


@app.command("sites")
@reports_errors
def sites(
    departement: Annotated[str | None, typer.Option(help="only this département, e.g. 44")] = None,
) -> None:
    """List sites with their département and number of devices."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = reports.site_rows(session, departement)
    columns = ("name", "kind", "dép.", "INSEE", "status", "devices")
    table = listing(f"Sites ({len(rows)})", "code", columns, numeric={"devices"})
    for row in rows:
        table.add_row(
            row.code,
            row.name,
            row.kind,
            row.departement,
            row.insee_code,
            row.status,
            str(row.devices),
        )
    console.print(table)


@app.command("devices")
@reports_errors
def devices(site: Annotated[str | None, typer.Option(help="only this site code")] = None) -> None:
    """List devices with their site, role, platform and number of interfaces."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = reports.device_rows(session, site)
    columns = ("site", "role", "platform", "management", "status", "ifaces")
    table = listing(f"Devices ({len(rows)})", "hostname", columns, numeric={"ifaces"})
    for row in rows:
        table.add_row(
            row.hostname,
            row.site,
            row.role,
            row.platform,
            row.management_address or "–",
            row.status,
            str(row.interfaces),
        )
    console.print(table)


@app.command("cables")
@reports_errors
def cables(
    site: Annotated[str | None, typer.Option(help="only cables at this site")] = None,
) -> None:
    """List fibre cables with their used, faulty and free strands."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = reports.cable_rows(session, site)
    columns = ("A", "Z", "km", "fibres", "used", "faulty", "free", "owner", "rights")
    numeric = {"km", "fibres", "used", "faulty", "free"}
    table = listing(f"Fibre cables ({len(rows)})", "code", columns, numeric=numeric)
    for row in rows:
        rights = f"IRU to {row.iru_end_date}" if row.iru_end_date else row.ownership
        table.add_row(
            row.code,
            row.a_site,
            row.z_site,
            _km(row.length_m),
            str(row.fibre_count),
            str(row.used),
            str(row.faulty),
            str(row.free),
            row.owner,
            rights,
        )
    console.print(table)


@app.command("links")
@reports_errors
def links() -> None:
    """List backbone links with their held and free capacity."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = reports.link_rows(session)
    columns = ("A", "Z", "capacity", "held", "free", "used", "status")
    numeric = {"capacity", "held", "free", "used"}
    table = listing(f"Backbone links ({len(rows)})", "code", columns, numeric=numeric)
    for row in rows:
        share = row.held_mbps / row.capacity_mbps
        colour = "red" if share > 0.8 else "yellow" if share > 0.5 else "green"
        table.add_row(
            row.code,
            row.a,
            row.z,
            _speed(row.capacity_mbps),
            _speed(row.held_mbps),
            _speed(row.free_mbps),
            f"[{colour}]{share:.0%}[/]",
            row.status,
        )
    console.print(table)


@app.command("circuits")
@reports_errors
def circuits(
    operator: Annotated[str | None, typer.Option(help="only this operator's name")] = None,
    status: Annotated[
        CircuitStatus | None, typer.Option(help="only circuits in this status")
    ] = None,
) -> None:
    """List circuits with their operator, ends, bandwidth and status."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        rows = reports.circuit_rows(session, operator, status)
    columns = ("operator", "service", "A", "Z", "bandwidth", "status")
    table = listing(f"Circuits ({len(rows)})", "ref", columns, numeric={"bandwidth"})
    for row in rows:
        table.add_row(
            row.ref,
            row.operator,
            row.service_type,
            row.a_site,
            row.z_site or "–",
            _speed(row.bandwidth_mbps),
            row.status,
        )
    console.print(table)
