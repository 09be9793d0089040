"""Outlines of the communes and départements, for the public map.

Gigalis ships no official boundary file (the service runs without network access and
fetches nothing), so the outlines are *derived* from the commune centres of the reference
(:mod:`gigalis_nms.resource_centre.communes`): each commune is the Voronoi cell of its
centre — the area nearer to it than to any other centre — computed in Lambert-93 and
clipped to the region's outline (a concave hull of all the centres, buffered by
:data:`REGION_MARGIN_M`); a département is the union of its communes' cells. They are
approximate: a cell can be off the real boundary by a few kilometres, the coast is a smooth
hull, and nothing is known of enclaves. Every outline says so in its ``precision`` and
``source``, and the map repeats it.

Given a file of official outlines (``GIGALIS_BOUNDARIES_FILE``: IGN ADMIN-EXPRESS, or the
contours of geo.api.gouv.fr; any format and CRS GDAL reads, with the INSEE code in a field
such as ``INSEE_COM`` or ``code``), its communes replace the derived ones and are marked
``official``.

Computed once per process (about a second for the 1,232 communes), then simplified and
turned back into WGS84 for GeoJSON.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely import MultiPoint, Point, STRtree
from shapely.geometry.base import BaseGeometry

from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.communes import (
    DEPARTEMENT_NAMES,
    Commune,
    cached_communes,
    communes_path,
)
from gigalis_nms.resource_centre.geo import LAMBERT93, WGS84, to_lambert93
from gigalis_nms.settings import Settings

# How far the region's outline reaches beyond the outermost commune centres: about the
# radius of a commune of the region (median area 17 km², so 2–3 km) plus some coast.
REGION_MARGIN_M = 5_000.0
# How concave the hull of the centres may be (0: follows every centre, 1: convex): 0.1
# follows the coast and the Loire estuary without cutting into communes.
HULL_RATIO = 0.1
# Douglas–Peucker tolerances; 150 m keeps a commune recognisable at regional zoom while
# cutting the clipped coastline's arcs to a few vertices; départements are drawn smaller.
COMMUNE_TOLERANCE_M = 150.0
DEPARTEMENT_TOLERANCE_M = 400.0
DECIMALS = 5  # of a degree: about a metre, far below the outlines' precision

APPROXIMATE = "approximate"
OFFICIAL = "official"
SETTING = "GIGALIS_BOUNDARIES_FILE"
# Where official files keep the commune's INSEE code (ADMIN-EXPRESS, geo.api.gouv.fr, …).
CODE_FIELDS = ("INSEE_COM", "insee_com", "code_insee", "CODE_INSEE", "code", "insee")
DERIVED_SOURCE = (
    "derived: Voronoi cells of the INSEE commune centres, clipped to the region; "
    "not official boundaries"
)


@dataclass(frozen=True)
class Outline:
    code: str  # INSEE code of a commune, or the département's number
    name: str
    departement: str
    shape: BaseGeometry  # WGS84 longitude, latitude


@dataclass(frozen=True)
class Outlines:
    communes: dict[str, Outline]
    departements: dict[str, Outline]
    precision: str
    source: str


def outlines_of(settings: Settings) -> Outlines:
    """The outlines for the configured files, computed once per process."""
    communes = communes_path(settings).resolve()
    if settings.boundaries_file is not None:
        return official_outlines(settings.boundaries_file.resolve(), communes)
    return derived_outlines(communes)


@cache
def derived_outlines(path: Path) -> Outlines:
    return derive_outlines(cached_communes(path))


def derive_outlines(communes: Mapping[str, Commune]) -> Outlines:
    """The outlines of ``communes`` (at least two with a centre) derived from their centres.

    A commune the reference gives no centre (one absorbed into a commune nouvelle) has no
    outline: its land lies in its neighbours' cells.
    """
    centred = {
        insee: (commune.longitude, commune.latitude)
        for insee, commune in communes.items()
        if commune.longitude is not None and commune.latitude is not None
    }
    codes = sorted(centred)
    centres = [Point(to_lambert93(*centred[code])) for code in codes]
    region = shapely.concave_hull(MultiPoint(centres), ratio=HULL_RATIO).buffer(REGION_MARGIN_M)
    cells = voronoi_cells(centres, region)

    return _outlines(communes, dict(zip(codes, cells, strict=True)), APPROXIMATE, DERIVED_SOURCE)


def _outlines(
    communes: Mapping[str, Commune],
    shapes: Mapping[str, BaseGeometry],
    precision: str,
    source: str,
) -> Outlines:
    """Outlines from commune shapes in Lambert-93: simplified, in WGS84, départements as
    the union of their communes."""
    members: dict[str, list[BaseGeometry]] = defaultdict(list)
    for code, shape in shapes.items():
        members[communes[code].departement].append(shape)
    commune_outlines = {
        code: Outline(
            code,
            communes[code].name,
            communes[code].departement,
            wgs84(shapes[code], COMMUNE_TOLERANCE_M),
        )
        for code in sorted(shapes)
    }
    departement_outlines = {
        number: Outline(
            number,
            DEPARTEMENT_NAMES.get(number, number),
            number,
            wgs84(shapely.union_all(parts), DEPARTEMENT_TOLERANCE_M),
        )
        for number, parts in sorted(members.items())
    }
    return Outlines(commune_outlines, departement_outlines, precision, source)


@cache
@cache
def official_outlines(path: Path, communes_file: Path) -> Outlines:
    """The outlines of the reference's communes read from an official file, once per
    process; InvalidInput naming the setting when it cannot be read."""
    from pyogrio import read_info  # noqa: PLC0415
    from pyogrio.errors import DataSourceError  # noqa: PLC0415 - GDAL only when configured
    from pyogrio.raw import read  # noqa: PLC0415

    communes = cached_communes(communes_file)
    if not path.is_file():
        raise InvalidInput.of(SETTING, f"{path} is not a file")
    try:
        info = read_info(path)
        fields = list(info["fields"])
        code_field = next((name for name in CODE_FIELDS if name in fields), None)
        if code_field is None:
            raise InvalidInput.of(
                SETTING, f"{path.name} has no INSEE code field (one of {', '.join(CODE_FIELDS)})"
            )
        source_crs = info["crs"] or WGS84
        _meta, _fids, shapes, (codes,) = read(
            path, columns=[code_field], bbox=_region_bbox(communes, source_crs)
        )
    except DataSourceError as error:
        raise InvalidInput.of(SETTING, f"{path.name} does not read: {error}") from error

    to_lambert = Transformer.from_crs(source_crs, LAMBERT93, always_xy=True)
    projected: dict[str, BaseGeometry] = {}
    for code, wkb in zip(codes, shapes, strict=True):
        if str(code) in communes and wkb is not None:
            shape = shapely.from_wkb(wkb)
            projected[str(code)] = shapely.transform(shape, _projector(to_lambert))
    return _outlines(communes, projected, OFFICIAL, f"{path.name} (official outlines)")


def _region_bbox(communes: Mapping[str, Commune], crs: str) -> tuple[float, float, float, float]:
    """The reference's extent, half a degree wider, in ``crs``: only that part is read."""
    longitudes = [c.longitude for c in communes.values() if c.longitude is not None]
    latitudes = [c.latitude for c in communes.values() if c.latitude is not None]
    to_file = Transformer.from_crs(WGS84, crs, always_xy=True)
    west, south, east, north = to_file.transform_bounds(
        min(longitudes) - 0.5, min(latitudes) - 0.5, max(longitudes) + 0.5, max(latitudes) + 0.5
    )
    return (west, south, east, north)


def _projector(
    transformer: Transformer,
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    def project(coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
        xs, ys = transformer.transform(coordinates[:, 0], coordinates[:, 1])
        return np.column_stack([xs, ys])

    return project


def voronoi_cells(centres: list[Point], region: BaseGeometry) -> list[BaseGeometry]:
    """The Voronoi cell of each centre, clipped to ``region``, in the centres' order.

    Cells are matched to their centre by containment rather than by position in GEOS's
    output; two communes sharing one centre would share its cell.
    """
    diagram = shapely.voronoi_polygons(MultiPoint(centres), extend_to=region)
    polygons = list(diagram.geoms)
    tree = STRtree(polygons)
    cells = []
    for centre in centres:
        [index, *_] = tree.query(centre, predicate="intersects")
        cells.append(shapely.intersection(polygons[int(index)], region))
    return cells


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)


def _project(coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
    longitudes, latitudes = _to_wgs84().transform(coordinates[:, 0], coordinates[:, 1])
    return np.round(np.column_stack([longitudes, latitudes]), DECIMALS)


def wgs84(shape: BaseGeometry, tolerance_m: float) -> BaseGeometry:
    """``shape`` (Lambert-93) simplified by ``tolerance_m`` and turned into WGS84."""
    simplified = shapely.simplify(shape, tolerance_m, preserve_topology=True)
    return shapely.make_valid(shapely.transform(simplified, _project))


def geojson_geometry(shape: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON geometry of a shape: a Polygon or a MultiPolygon."""
    geometry: dict[str, Any] = shapely.geometry.mapping(shape)
    return geometry
