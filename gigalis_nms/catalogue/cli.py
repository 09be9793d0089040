"""`gigalis catalogue …`: check the offer catalogue and look at its prices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gigalis_nms.catalogue.loader import catalogue_path, load_catalogue
from gigalis_nms.catalogue.tmf620 import cents, offer_prices
from gigalis_nms.console import console, reports_errors, settings

app = typer.Typer(help="The offer catalogue: check it, show it.", no_args_is_help=True)

FileArgument = Annotated[
    Path | None,
    typer.Argument(help="the catalogue file; default GIGALIS_CATALOGUE_FILE or billing/'s"),
]


@app.command("check")
@reports_errors
def check(path: FileArgument = None) -> None:
    """Validate the catalogue: exit 0 when it is sound, 1 listing every problem."""
    catalogue = load_catalogue(path or catalogue_path(settings()))
    console.print(
        f"catalogue {catalogue.version}: {len(catalogue.offers)} offers, "
        f"{len(catalogue.sla_classes)} SLA classes, valid"
    )


@app.command("show")
@reports_errors
def show(path: FileArgument = None) -> None:
    """The offers and their prices, EUR excluding VAT."""
    catalogue = load_catalogue(path or catalogue_path(settings()))
    table = Table(title=f"Gigalis catalogue {catalogue.version} (EUR excl. VAT)")
    table.add_column("offer", no_wrap=True)
    for column in ("SLA", "acceptance", "commitment", "price", "charge"):
        table.add_column(column)
    table.add_column("amount", justify="right")
    for offer in catalogue.offers:
        for number, price in enumerate(offer_prices(offer)):
            first = number == 0
            charge = f"per {price.period}" if price.period else "once"
            if price.per_km:
                charge += " per km"
            table.add_row(
                offer.id if first else "",
                offer.sla_class if first else "",
                str(offer.acceptance) if first else "",
                f"{offer.commitment_months} months" if first else "",
                price.name,
                charge,
                f"{cents(price.amount):,.2f}",
                end_section=number == len(offer_prices(offer)) - 1,
            )
    console.print(table)
