"""`gigalis gis`: the network and the sites needing THD as GIS files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from gigalis_nms.console import database, errors, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.errors import GigalisError
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.resource_centre.communes import communes_of
from gigalis_nms.resource_centre.exports import ExportFormat, WrittenFile, export_layers
from gigalis_nms.resource_centre.gracethd import (
    DEFAULT_MANAGER,
    GraceFormat,
    export_gracethd,
    gracethd_tables,
)
from gigalis_nms.resource_centre.layers import LayerName, read_layers

app = typer.Typer(
    help="GIS exports: GeoJSON, GeoPackage and GraceTHD of PoPs, cables and sites needing THD.",
    no_args_is_help=True,
)

Force = Annotated[bool, typer.Option("--force", help="overwrite files that exist")]


@app.callback()
def gis() -> None:
    """GIS exports: GeoJSON, GeoPackage and GraceTHD of PoPs, cables and sites needing THD."""


@app.command("export")
@reports_errors
def export(
    output: Annotated[ExportFormat, typer.Option("--format", help="geojson or gpkg")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="a folder (made if missing), or one file: NAME.gpkg, or NAME.geojson for "
            "one --layer",
        ),
    ],
    layer: Annotated[
        list[LayerName] | None,
        typer.Option("--layer", help="pops, cables or site-needs; repeat it; default: all"),
    ] = None,
    force: Force = False,
) -> None:
    """Write the PoPs, the cables and the sites needing THD as GeoJSON (WGS84, one file per
    layer) or as one GeoPackage (Lambert-93, EPSG:2154)."""
    names = list(dict.fromkeys(layer)) if layer else list(LayerName)
    communes = commune_names()
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        layers = read_layers(session, names, communes=communes)
    report(export_layers(layers, output, out, force=force))


@app.command("gracethd")
@reports_errors
def gracethd(
    output: Annotated[GraceFormat, typer.Option("--format", help="csv or gpkg")],
    out: Annotated[
        Path,
        typer.Option("--out", help="a folder (made if missing) for CSV; NAME.gpkg or a folder"),
    ],
    manager: Annotated[
        str,
        typer.Option("--manager", help="the organisation running the network"),
    ] = DEFAULT_MANAGER,
    force: Force = False,
) -> None:
    """Write the network as a GraceTHD subset: t_organisme, t_noeud, t_sitetech,
    t_cheminement, t_cable and t_cableline, geometry in Lambert-93 (EPSG:2154)."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        tables = gracethd_tables(session, manager)
    report(export_gracethd(tables, output, out, force=force))


def commune_names() -> dict[str, str]:
    """The communes' names by INSEE code; without the reference file the exports still run,
    with the commune column empty, and say so."""
    try:
        return {insee: commune.name for insee, commune in communes_of(settings()).items()}
    except (OSError, GigalisError) as error:
        errors.print(f"warning: commune names left empty: {error}", highlight=False)
        return {}


def report(written: Sequence[WrittenFile]) -> None:
    for file in written:
        counts = ", ".join(f"{name} {count}" for name, count in file.counts.items())
        typer.echo(f"{file.path}: {counts}")
