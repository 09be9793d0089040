"""`gigalis gis`: the network and the sites needing THD as GIS files."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="GIS exports: GeoJSON, GeoPackage and GraceTHD of PoPs, cables and sites needing THD.",
    no_args_is_help=True,
)


@app.callback()
def gis() -> None:
    """GIS exports: GeoJSON, GeoPackage and GraceTHD of PoPs, cables and sites needing THD."""
