"""GIS files of the resource centre's layers: GeoJSON and GeoPackage.

- GeoJSON follows RFC 7946: one FeatureCollection per layer, WGS84 longitude/latitude (the
  only CRS the RFC allows, so no ``crs`` member), coordinates to 7 decimals (about 1 cm),
  each feature's ``id`` its natural key.
- GeoPackage holds every layer in one file, in Lambert-93 (EPSG:2154), the projection French
  GIS exchange uses, with typed fields: dates as dates, times in UTC, empty values as nulls.

Where the files go is decided before anything is written (:func:`plan_layer_files`): ``--out``
is a folder (one that exists, or a name ending in ``/``) or a file whose suffix matches the
format, and anything else is refused; an existing file is overwritten only when asked, a
missing folder is made, and each file is written beside its target and moved into place, so
that a failed export leaves no half file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyogrio import raw
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError
from shapely.geometry.base import BaseGeometry

from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.geo import LAMBERT93, to_lambert93
from gigalis_nms.resource_centre.layers import FieldKind, Layer

OUT = "--out"
GEOJSON_DECIMALS = 7  # 1e-7 degree is about 1 cm on the ground
GEOJSON_SUFFIXES = (".geojson", ".json")
GEOPACKAGE_SUFFIX = ".gpkg"
# GDAL's time-zone flag for UTC (RFC 56: 100, plus or minus one per quarter hour).
GDAL_UTC = 100
PYOGRIO_ERRORS = (DataSourceError, DataLayerError, FieldError, GeometryError)


class ExportFormat(StrEnum):
    GEOJSON = "geojson"
    GPKG = "gpkg"


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    counts: dict[str, int]  # features per layer or table in the file


# --- where the files go -------------------------------------------------------------------


@dataclass(frozen=True)
class OutTarget:
    """What ``--out`` names: a folder, or one file."""

    path: Path
    folder: bool


def out_target(text: str) -> OutTarget:
    """``--out`` read: a folder when it exists as one or ends in ``/``, else one file.

    The trailing ``/`` is the only way to say that a folder still to be made is one, so the
    text is read before it becomes a ``Path``, which drops it.

    >>> out_target("exports/"), out_target("exports/gigalis.gpkg").folder
    (OutTarget(path=PosixPath('exports'), folder=True), False)
    """
    if not text.strip():
        raise InvalidInput.of(OUT, "is empty: name a folder (a new one ending in /) or a file")
    path = Path(text)
    return OutTarget(path, text.endswith(("/", os.sep)) or path.is_dir())


def require_suffix(out: OutTarget, suffixes: Sequence[str], what: str) -> None:
    """Refuse a file whose name does not say what it holds, such as x.gpkg for GeoJSON."""
    if out.path.suffix.lower() not in suffixes:
        names = " or ".join(suffixes)
        raise InvalidInput.of(
            OUT,
            f"{out.path} is neither a folder nor a {names} file, and {what} is written to a "
            f"{names} file; a new folder's name ends in /",
        )


def plan_layer_files(
    out: OutTarget, stems: Sequence[str], output: ExportFormat, *, force: bool
) -> dict[Path, list[str]]:
    """The file each layer goes to, ``{path: [stems]}``, checked before anything is written
    or the analysis refreshed.

    GeoJSON writes ``<stem>.geojson`` per layer in a folder, or one layer to the one file
    named; a GeoPackage holds every layer, in ``gigalis.gpkg`` in a folder or in the file
    named.
    """
    if output is ExportFormat.GEOJSON:
        if out.folder:
            plan = {out.path / f"{stem}.geojson": [stem] for stem in stems}
        else:
            require_suffix(out, GEOJSON_SUFFIXES, "GeoJSON")
            if len(stems) != 1:
                raise InvalidInput.of(
                    OUT,
                    f"{len(stems)} layers are written one file each: name a folder, not {out.path}",
                )
            plan = {out.path: list(stems)}
    elif out.folder:
        plan = {out.path / "gigalis.gpkg": list(stems)}
    else:
        require_suffix(out, (GEOPACKAGE_SUFFIX,), "a GeoPackage")
        plan = {out.path: list(stems)}
    for path in plan:
        refuse_overwrite(path, force=force)
    return plan


def refuse_overwrite(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise InvalidInput.of(OUT, f"{path} is a folder; name the file to write")
    if path.exists() and not force:
        raise InvalidInput.of(OUT, f"{path} exists; --force overwrites it")
    if path.exists() and not path.is_file():
        raise InvalidInput.of(OUT, f"{path} is not a regular file")


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise InvalidInput.of(OUT, f"cannot make the folder {folder}: {reason}") from None
    if not folder.is_dir():
        raise InvalidInput.of(OUT, f"{folder} is not a folder")


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write`` on a temporary file beside ``path``, then move it into place."""
    make_folder(path.parent)
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent
        )
    except OSError as error:
        raise InvalidInput.of(OUT, f"cannot write {path}: {error.strerror}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        temporary.unlink()  # GDAL creates the file itself, and refuses an empty one
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise InvalidInput.of(OUT, f"cannot write {path}: {error.strerror or error}") from None
    except PYOGRIO_ERRORS as error:
        raise InvalidInput.of(OUT, f"cannot write {path}: {error}") from None
    finally:
        temporary.unlink(missing_ok=True)


def export_layers(
    layers: Sequence[Layer], output: ExportFormat, out: OutTarget, *, force: bool
) -> list[WrittenFile]:
    """Write ``layers`` as GeoJSON or GeoPackage to ``out``; the files written."""
    by_name = {layer.name: layer for layer in layers}
    plan = plan_layer_files(out, list(by_name), output, force=force)
    written = []
    for path, names in plan.items():
        chosen = [by_name[name] for name in names]
        if output is ExportFormat.GEOJSON:
            write_atomically(path, partial(write_geojson, chosen[0]))
        else:
            write_atomically(path, partial(write_geopackage, chosen))
        written.append(WrittenFile(path, {layer.name: len(layer.features) for layer in chosen}))
    return written


# --- GeoJSON ------------------------------------------------------------------------------


def geojson_collection(layer: Layer) -> dict[str, Any]:
    """A layer as an RFC 7946 FeatureCollection (``name`` is a foreign member QGIS and
    GDAL read as the layer's name)."""
    return {
        "type": "FeatureCollection",
        "name": layer.name,
        "features": [
            {
                "type": "Feature",
                "id": feature.key,
                "geometry": geojson_geometry(feature.geometry),
                "properties": {
                    column.name: json_value(feature.properties.get(column.name))
                    for column in layer.columns
                },
            }
            for feature in layer.features
        ],
    }


def geojson_geometry(geometry: BaseGeometry | None) -> dict[str, Any] | None:
    if geometry is None:
        return None
    points = [[round(x, GEOJSON_DECIMALS), round(y, GEOJSON_DECIMALS)] for x, y in geometry.coords]
    if geometry.geom_type == "Point":
        return {"type": "Point", "coordinates": points[0]}
    if geometry.geom_type == "LineString":
        return {"type": "LineString", "coordinates": points}
    raise ValueError(f"no GeoJSON writer for a {geometry.geom_type}")


def json_value(value: Any) -> Any:
    """A property as JSON holds it: dates in ISO 8601, times in UTC with their Z.

    >>> json_value(datetime(2024, 5, 1, 8, 30, tzinfo=UTC)), json_value(date(2024, 5, 1))
    ('2024-05-01T08:30:00Z', '2024-05-01')
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_geojson(layer: Layer, path: Path) -> None:
    text = json.dumps(geojson_collection(layer), ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


# --- GeoPackage ---------------------------------------------------------------------------


def lambert93(geometry: BaseGeometry) -> BaseGeometry:
    """A WGS84 geometry projected to Lambert-93, point by point."""
    return shapely.transform(geometry, _project_points)


def _project_points(points: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.array([to_lambert93(float(x), float(y)) for x, y in points], dtype=np.float64)


@dataclass(frozen=True)
class FieldArrays:
    """A layer's properties as pyogrio writes them: one array per field, with its null mask
    where the array's type has no null of its own, and the UTC flag of each time field."""

    names: list[str]
    arrays: list[NDArray[Any]]
    masks: list[NDArray[np.bool_] | None]
    time_zones: dict[str, NDArray[np.int64]]


def field_arrays(layer: Layer) -> FieldArrays:
    count = len(layer.features)
    arrays: list[NDArray[Any]] = []
    masks: list[NDArray[np.bool_] | None] = []
    time_zones: dict[str, NDArray[np.int64]] = {}
    for column in layer.columns:
        values = [feature.properties.get(column.name) for feature in layer.features]
        array, mask = typed_array(column.kind, values)
        arrays.append(array)
        masks.append(mask)
        if column.kind is FieldKind.DATETIME:
            time_zones[column.name] = np.full(count, GDAL_UTC, dtype=np.int64)
    return FieldArrays([column.name for column in layer.columns], arrays, masks, time_zones)


def typed_array(
    kind: FieldKind, values: list[Any]
) -> tuple[NDArray[Any], NDArray[np.bool_] | None]:
    """The numpy array of one field's values, and its null mask when one is needed: text
    holds None, reals NaN and dates NaT; integers and booleans need the mask."""
    missing = np.array([value is None for value in values], dtype=np.bool_)
    if kind is FieldKind.INTEGER:
        return np.array([value or 0 for value in values], dtype=np.int64), missing
    if kind is FieldKind.BOOLEAN:
        return np.array([bool(value) for value in values], dtype=np.bool_), missing
    if kind is FieldKind.REAL:
        return np.array([np.nan if value is None else value for value in values], np.float64), None
    if kind is FieldKind.DATE:
        days = [np.datetime64(value, "D") if value is not None else None for value in values]
        return np.array(days, dtype="datetime64[D]"), None
    if kind is FieldKind.DATETIME:
        # GDAL takes the wall-clock time and its zone apart: UTC, flagged as such.
        naive = [value.astimezone(UTC).replace(tzinfo=None) if value else None for value in values]
        return np.array(naive, dtype="datetime64[ms]"), None
    return np.array([None if value is None else str(value) for value in values], object), None


def write_geopackage(layers: Sequence[Layer], path: Path) -> None:
    """Every layer into the one GeoPackage ``path``: geometry in Lambert-93, and a table
    without geometry (a GraceTHD attribute table) as a GeoPackage attributes table."""
    for layer in layers:
        fields = field_arrays(layer)
        geometry = None
        if layer.geometry_type is not None:
            projected = [
                None if feature.geometry is None else lambert93(feature.geometry)
                for feature in layer.features
            ]
            geometry = np.array(shapely.to_wkb(projected), dtype=object)
        raw.write(
            str(path),
            geometry,
            fields.arrays,
            fields.names,
            field_mask=fields.masks,
            layer=layer.name,
            driver="GPKG",
            geometry_type=layer.geometry_type,
            crs=LAMBERT93 if layer.geometry_type else None,
            gdal_tz_offsets=fields.time_zones,
            layer_options={"DESCRIPTION": layer.description} if layer.description else None,
        )


def counts_by_layer(written: Sequence[WrittenFile]) -> Mapping[str, int]:
    return {name: count for file in written for name, count in file.counts.items()}
