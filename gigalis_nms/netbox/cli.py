"""`gigalis netbox import|export`: exchange the inventory with a NetBox through pynetbox.

The token is read from ``NETBOX_TOKEN`` when ``--token`` is left out, so that it need not
appear in the process list or the shell history.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape

from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.netbox.sync.records import KINDS, describe
from gigalis_nms.netbox.sync.run import SyncReport, export_to_netbox, import_from_netbox

app = typer.Typer(
    help="Exchange sites, devices, interfaces, cables and circuits with a NetBox.",
    no_args_is_help=True,
)

# Exit statuses: 0 everything taken (or, in a dry run, nothing refused), 2 some objects
# refused (the others written), 1 nothing written (an error, or --strict with a refusal).
SOME_REFUSED = 2


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


Url = Annotated[
    str,
    typer.Option(
        "--url", envvar="NETBOX_URL", help="the NetBox's address, e.g. https://netbox.example.net"
    ),
]
Token = Annotated[
    str,
    typer.Option("--token", envvar="NETBOX_TOKEN", help="an API token (default: $NETBOX_TOKEN)"),
]
Timeout = Annotated[
    float,
    typer.Option("--timeout", min=1, help="seconds to wait for each NetBox answer"),
]
Output = Annotated[ReportFormat, typer.Option("--format", help="table or json")]


@app.command("import")
@reports_errors
def import_command(
    url: Url,
    token: Token,
    *,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="show what would change, trying every change; write nothing"
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="write nothing if any object is refused")
    ] = False,
    timeout: Timeout = 30.0,
    output: Output = ReportFormat.TABLE,
) -> None:
    """Import from a NetBox: organisations, sites, manufacturers, device types, platforms,
    devices, interfaces, cables and circuits are created or updated to match it (nothing is
    deleted). Running it again changes nothing. Exit status: 0 all taken, 2 some refused
    (the rest written), 1 nothing written."""
    with database() as engine:
        report = import_from_netbox(
            engine,
            url,
            token,
            actor=f"{cli_actor()} (netbox import)",
            dry_run=dry_run,
            strict=strict,
            timeout=timeout,
        )
    _show(report, output)


@app.command("export")
@reports_errors
def export_command(
    url: Url,
    token: Token,
    *,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change; write nothing")
    ] = False,
    timeout: Timeout = 30.0,
    output: Output = ReportFormat.TABLE,
) -> None:
    """Export to a NetBox: the Gigalis inventory's objects are created or updated there to
    match (nothing is deleted). Running it again changes nothing. Exit status: 0 all taken,
    2 some refused (the rest written), 1 nothing written."""
    with database() as engine:
        report = export_to_netbox(engine, url, token, dry_run=dry_run, timeout=timeout)
    _show(report, output)


def _show(report: SyncReport, output: ReportFormat) -> None:
    if output is ReportFormat.JSON:
        console.print_json(json.dumps(_as_json(report)))
    else:
        _print(report)
    if report.refused:
        raise typer.Exit(SOME_REFUSED if report.committed else 1)


def _as_json(report: SyncReport) -> dict[str, Any]:
    refused = {(p.kind, p.key) for p in report.refused}
    return {
        "direction": report.direction,
        "dry_run": report.dry_run,
        "committed": report.committed,
        "changes": [
            {
                "kind": c.kind,
                "key": c.key,
                "action": c.action,
                "refused": (c.kind, c.key) in refused,
                "fields": {name: {"before": b, "after": a} for name, (b, a) in c.fields.items()},
            }
            for c in report.plan.changes
        ],
        "unchanged": report.plan.unchanged,
        "only_on_receiving_side": report.plan.only_receiving,
        "skipped": [vars(p) for p in report.skipped],
        "refused": [vars(p) for p in report.refused],
    }


def _print(report: SyncReport) -> None:
    receiving = "Gigalis" if report.direction == "import" else "NetBox"
    for line in describe(report.plan.changes):
        console.print(escape(line), highlight=False)
    for problem in report.skipped:
        console.print(f"skipped {escape(str(problem))}", highlight=False)
    for problem in report.refused:
        console.print(f"[red]refused[/] {escape(str(problem))}", highlight=False)
    created = _per_kind(report, "create")
    updated = _per_kind(report, "update")
    refused = {kind: len({p.key for p in report.refused if p.kind == kind}) for kind in KINDS}
    verb = "would be " if report.dry_run and report.direction == "export" else ""
    for kind in KINDS:
        parts = [
            f"{created.get(kind, 0)} {verb}created",
            f"{updated.get(kind, 0)} {verb}updated",
            f"{report.plan.unchanged[kind]} unchanged",
        ]
        if refused[kind]:
            parts.append(f"{refused[kind]} refused")
        if report.plan.only_receiving[kind]:
            parts.append(f"{report.plan.only_receiving[kind]} only in {receiving}, left alone")
        console.print(f"{kind}: {', '.join(parts)}", highlight=False)
    if report.dry_run:
        console.print(f"dry run: nothing written to {receiving}", highlight=False)
    elif not report.committed:
        console.print(f"nothing written to {receiving}", highlight=False)


def _per_kind(report: SyncReport, action: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in report.applied():
        if change.action == action:
            counts[change.kind] = counts.get(change.kind, 0) + 1
    return counts
