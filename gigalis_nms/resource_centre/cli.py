"""`gigalis sites-needs`: the sites needing THD — import from CSV, list, show, change —
and, registered by :mod:`gigalis_nms.resource_centre.report_cli`, their analysis and report."""

from __future__ import annotations

import typer

from gigalis_nms.resource_centre import report_cli

app = typer.Typer(
    help="Sites needing very-high-speed access: import, list, analysis and report.",
    no_args_is_help=True,
)


@app.callback()
def sites_needs() -> None:
    """Sites needing very-high-speed access: import, list, analysis and report."""


report_cli.register(app)
