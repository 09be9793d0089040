"""`gigalis billing`: the monthly run, documents, subscriptions, billing accounts and revenue
reports. Commands are defined beside what they drive and registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Billing: monthly invoices and SLA credit notes, PDFs, revenue.", no_args_is_help=True
)


@app.callback()
def billing() -> None:
    """Billing: monthly invoices and SLA credit notes, PDFs, revenue."""
