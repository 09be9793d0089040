"""`gigalis gis`: the network and the sites needing THD as GIS files.

`gis export` recomputes the sites' analysis first, as `sites-needs report` does, so that
the distances it writes follow the network as it is now, unless told ``--no-refresh``.
`gis gracethd` holds no site needing THD, so it has nothing to refresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.console import database, errors, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.errors import GigalisError
from gigalis_nms.inventory.cli import cli_actor
from gigalis_nms.resource_centre.analysis import AnalysisSummary, analyse_sites
from gigalis_nms.resource_centre.communes import communes_of
from gigalis_nms.resource_centre.exports import (
    ExportFormat,
    WrittenFile,
    export_layers,
    out_target,
    plan_layer_files,
)
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
LAYER_SPELLINGS = "|".join([*(layer.value for layer in LayerName), LayerName.SITE_NEEDS.stem])


def layer_named(text: str) -> LayerName:
    try:
        return LayerName.named(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.callback()
def gis() -> None:
    """GIS exports: GeoJSON, GeoPackage and GraceTHD of PoPs, cables and sites needing THD."""


@app.command("export")
@reports_errors
def export(
    output: Annotated[ExportFormat, typer.Option("--format", help="geojson or gpkg")],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            metavar="<path>",
            help="a folder (an existing one, or a new one ending in /), or one file: "
            "NAME.gpkg, or NAME.geojson (or .json) for one --layer",
        ),
    ],
    layer: Annotated[
        list[LayerName] | None,
        typer.Option(
            "--layer",
            parser=layer_named,
            metavar=f"<{LAYER_SPELLINGS}>",
            help="pops, cables or site-needs (site_needs, its name in the files, works too); "
            "repeat it; default: all",
        ),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh/--no-refresh",
            help="recompute the sites' distances, costs and priorities first",
        ),
    ] = True,
    force: Force = False,
) -> None:
    """Write the PoPs, the cables and the sites needing THD as GeoJSON (WGS84, one file per
    layer) or as one GeoPackage (Lambert-93, EPSG:2154)."""
    names = list(dict.fromkeys(layer)) if layer else list(LayerName)
    target = out_target(out)
    # Refused before the analysis is refreshed: a bad --out changes nothing.
    plan_layer_files(target, [name.stem for name in names], output, force=force)
    communes = commune_names()
    with database() as engine:
        if refresh and LayerName.SITE_NEEDS in names:
            refresh_analysis(engine)
        with session_scope(engine, read_only=True) as session:
            layers = read_layers(session, names, communes=communes)
    report(export_layers(layers, output, target, force=force))


@app.command("gracethd")
@reports_errors
def gracethd(
    output: Annotated[GraceFormat, typer.Option("--format", help="csv or gpkg")],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            metavar="<path>",
            help="a folder (an existing one, or a new one ending in /); for gpkg also NAME.gpkg",
        ),
    ],
    manager: Annotated[
        str,
        typer.Option("--manager", help="the organisation running the network"),
    ] = DEFAULT_MANAGER,
    force: Force = False,
) -> None:
    """Write the network as a GraceTHD subset: t_organisme, t_noeud, t_sitetech,
    t_cheminement, t_cable and t_cableline, geometry in Lambert-93 (EPSG:2154)."""
    target = out_target(out)
    with database() as engine, session_scope(engine, read_only=True) as session:
        tables = gracethd_tables(session, manager)
    report(export_gracethd(tables, output, target, force=force))


def refresh_analysis(engine: Engine) -> AnalysisSummary:
    """Recompute every site's analysis against the network as it is now."""
    catalogue = cached_catalogue(catalogue_path(settings()))
    with session_scope(engine, actor=cli_actor()) as session:
        return analyse_sites(session, catalogue)


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
