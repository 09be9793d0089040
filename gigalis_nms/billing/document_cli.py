"""`gigalis billing pdf` and `gigalis billing render`: documents as PDF/A-3 with their
Factur-X XML, one on demand or every issued one of a month in parallel.

Registered on the `gigalis billing` group by :func:`register`, so that the group's module
need not import WeasyPrint before a PDF is asked for.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gigalis_nms.billing.run import find_document
from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.monitoring.report import parse_month


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add the document commands to the `gigalis billing` group."""
    app.command("pdf")(pdf)
    app.command("render")(render)


@reports_errors
def pdf(
    document: Annotated[str, typer.Argument(help="a document number (FAC-0000042) or id")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="file or folder to write; default NUMBER.pdf here"),
    ] = None,
) -> None:
    """Write a document's PDF (with its Factur-X XML). An issued document's is rendered once
    and stored; a draft's is rendered each time, marked BROUILLON, and not stored."""
    from gigalis_nms.billing.documents import document_pdf  # noqa: PLC0415  # loads WeasyPrint
    from gigalis_nms.billing.facturx import document_reference  # noqa: PLC0415

    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        found = find_document(session, document)
        content = document_pdf(session, found)
    target = _target(out, f"{document_reference(found)}.pdf")
    try:
        target.write_bytes(content)
    except OSError as error:
        raise InvalidInput.of("--out", f"cannot write {target}: {error.strerror}") from None
    state = "draft, not stored" if found.number is None else "issued"
    typer.echo(f"{target}: {found.kind.value.replace('_', ' ')} ({state}), {len(content)} bytes")


def _target(out: Path | None, name: str) -> Path:
    if out is None:
        return Path(name)
    return out / name if out.is_dir() else out


@reports_errors
def render(
    month: Annotated[
        str | None, typer.Option("--month", help="only this service month, YYYY-MM")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="processes rendering; default one per CPU")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """Render and store the PDF of every issued document that has none, in parallel.
    Running it again renders nothing; documents that cannot be rendered are listed."""
    from gigalis_nms.billing.documents import render_issued  # noqa: PLC0415  # loads WeasyPrint

    if month is not None:
        parse_month(month, "--month")
    if workers is not None and workers < 1:
        raise InvalidInput.of("--workers", "at least one worker")
    with database() as engine:
        report = render_issued(engine, month=month, workers=workers)

    if output is Format.JSON:
        typer.echo(report.model_dump_json(indent=2))
    else:
        title = f"PDFs of {month or 'every month'}"
        table = Table(
            "documents", "stored", "workers", "seconds", "per document: mean", "max", title=title
        )
        table.add_row(
            str(report.documents),
            str(report.stored),
            str(report.workers),
            f"{report.seconds:.1f}",
            _seconds(report.seconds_per_document_mean),
            _seconds(report.seconds_per_document_max),
        )
        console.print(table)
    for failure in report.failed:
        typer.echo(f"error: {failure.document}: {failure.error}", err=True)
    if report.failed:
        raise typer.Exit(1)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s"
