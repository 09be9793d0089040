"""Commune and département outlines derived from the commune centres: a partition of the
region in which every commune's cell holds its own centre, départements as the union of
their communes, in WGS84 and marked approximate. Also the doctests of the public view's
modules."""

from __future__ import annotations

import csv
import doctest
import importlib
import itertools
import json
from pathlib import Path

import pytest
import shapely
from shapely import Point

from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.boundaries import (
    APPROXIMATE,
    COMMUNE_TOLERANCE_M,
    OFFICIAL,
    derive_outlines,
    official_outlines,
    outlines_of,
)
from gigalis_nms.resource_centre.communes import COLUMNS, Commune, communes_of
from gigalis_nms.resource_centre.geo import to_lambert93
from gigalis_nms.settings import Settings


def grid_communes() -> dict[str, Commune]:
    """A 6 × 5 grid of communes 5 km apart around Laval, the west half in 53, the east in 72."""
    communes = {}
    for column, row in itertools.product(range(6), range(5)):
        departement = "53" if column < 3 else "72"
        insee = f"{departement}{column}{row:02d}"
        communes[insee] = Commune(
            insee=insee,
            departement=departement,
            name=f"Commune {column}-{row}",
            postcode=f"{departement}000",
            latitude=48.0 + row * 0.045,
            longitude=-0.8 + column * 0.067,
            area_km2=25.0,
            population=1000,
            households=400,
        )
    return communes


def lambert_area_km2(shape: shapely.Geometry) -> float:
    projected = shapely.transform(shape, lambda xy: [to_lambert93(x, y) for x, y in xy])
    return float(projected.area) / 1e6


def test_cells_partition_the_region_and_hold_their_centres() -> None:
    communes = grid_communes()
    outlines = derive_outlines(communes)

    assert sorted(outlines.communes) == sorted(communes)
    for insee, outline in outlines.communes.items():
        commune = communes[insee]
        assert outline.shape.is_valid
        assert outline.shape.contains(Point(commune.longitude, commune.latitude)), insee
        assert (outline.name, outline.departement) == (commune.name, commune.departement)
        # An inner cell is the 5 km square around its centre.
        column, row = int(insee[2]), int(insee[3:])
        if 0 < column < 5 and 0 < row < 4:
            assert lambert_area_km2(outline.shape) == pytest.approx(25, rel=0.05)

    cells = [outline.shape for outline in outlines.communes.values()]
    union = shapely.union_all(cells)
    assert sum(cell.area for cell in cells) == pytest.approx(union.area, rel=1e-3)
    assert all(a.intersection(b).area < 1e-4 * a.area for a, b in itertools.combinations(cells, 2))


def test_departements_are_the_union_of_their_communes() -> None:
    communes = grid_communes()
    outlines = derive_outlines(communes)

    assert sorted(outlines.departements) == ["53", "72"]
    assert outlines.departements["53"].name == "Mayenne"
    for number, outline in outlines.departements.items():
        members = [o.shape for o in outlines.communes.values() if o.departement == number]
        assert outline.shape.symmetric_difference(shapely.union_all(members)).area < (
            0.02 * outline.shape.area
        )
        for commune in communes.values():
            inside = outline.shape.contains(Point(commune.longitude, commune.latitude))
            assert inside == (commune.departement == number)
    assert outlines.precision == APPROXIMATE
    assert "not official" in outlines.source


def test_the_region_reaches_a_few_km_beyond_the_outer_centres() -> None:
    communes = grid_communes()
    region = shapely.union_all([o.shape for o in derive_outlines(communes).communes.values()])
    west, south, east, north = region.bounds
    assert west < -0.8 - 0.03  # more than 2 km beyond the westmost centre
    assert east > -0.8 + 5 * 0.067 + 0.03
    assert south < 48.0 - 0.02
    assert north > 48.0 + 4 * 0.045 + 0.02
    assert east < -0.8 + 5 * 0.067 + 0.1  # but not 7 km


def test_outlines_of_the_reference_are_computed_once_and_hold_every_centre() -> None:
    settings = Settings()
    communes = communes_of(settings)
    outlines = outlines_of(settings)
    assert outlines_of(settings) is outlines

    centred = {insee: c for insee, c in communes.items() if c.latitude is not None}
    assert 0 < len(communes) - len(centred) < 5  # communes absorbed into a commune nouvelle
    assert sorted(outlines.communes) == sorted(centred)
    astray = [
        insee
        for insee, outline in outlines.communes.items()
        if not outline.shape.buffer(COMMUNE_TOLERANCE_M / 111_000).contains(
            Point(centred[insee].longitude, centred[insee].latitude)
        )
    ]
    assert astray == []
    assert sorted(outlines.departements) == ["44", "49", "53", "72", "85"]
    for commune in centred.values():
        outline = outlines.departements[commune.departement].shape
        assert outline.buffer(0.01).contains(Point(commune.longitude, commune.latitude))
    # Pays de la Loire covers 32,082 km²; the derived outline, with its margin, a bit more.
    total = sum(lambert_area_km2(o.shape) for o in outlines.departements.values())
    assert 30_000 < total < 40_000


@pytest.mark.parametrize(
    "module",
    ["gigalis_nms.resource_centre.services", "gigalis_nms.resource_centre.public"],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def write_communes_csv(path: Path, communes: dict[str, Commune]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for c in communes.values():
            writer.writerow(
                [
                    c.insee,
                    c.departement,
                    c.name,
                    c.postcode,
                    c.latitude,
                    c.longitude,
                    c.area_km2,
                    c.population,
                    c.households,
                ]
            )
    return path


def square(longitude: float, latitude: float, half: float) -> list[list[list[float]]]:
    west, east = longitude - half, longitude + half
    south, north = latitude - half, latitude + half
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def test_an_official_file_replaces_the_derived_outlines(tmp_path: Path) -> None:
    communes = grid_communes()
    reference = write_communes_csv(tmp_path / "communes.csv", communes)
    chosen = ["53000", "53101", "72300"]
    features = [
        {
            "type": "Feature",
            "properties": {"INSEE_COM": insee, "NOM": "x"},
            "geometry": {
                "type": "Polygon",
                "coordinates": square(
                    communes[insee].longitude or 0, communes[insee].latitude or 0, 0.02
                ),
            },
        }
        for insee in chosen
    ]
    # A commune of another region, which the reference does not list: left out.
    features.append(
        {
            "type": "Feature",
            "properties": {"INSEE_COM": "75056", "NOM": "Paris"},
            "geometry": {"type": "Polygon", "coordinates": square(2.35, 48.85, 0.05)},
        }
    )
    official = tmp_path / "communes.geojson"
    official.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    outlines = official_outlines(official, reference)

    assert outlines.precision == OFFICIAL
    assert "communes.geojson" in outlines.source
    assert sorted(outlines.communes) == chosen
    laval = outlines.communes["53000"]
    assert laval.name == communes["53000"].name  # names come from the reference
    assert laval.shape.equals_exact(shapely.Polygon(square(-0.8, 48.0, 0.02)[0]), 1e-4)
    assert sorted(outlines.departements) == ["53", "72"]
    assert outlines.departements["53"].shape.area == pytest.approx(
        laval.shape.area + outlines.communes["53101"].shape.area, rel=0.01
    )


def test_an_official_file_without_insee_codes_is_refused(tmp_path: Path) -> None:
    reference = write_communes_csv(tmp_path / "communes.csv", grid_communes())
    official = tmp_path / "outlines.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "Laval"},
        "geometry": {"type": "Polygon", "coordinates": square(-0.8, 48.0, 0.02)},
    }
    official.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(InvalidInput) as refused:
        official_outlines(official, reference)
    assert refused.value.problems[0].field == "GIGALIS_BOUNDARIES_FILE"
    assert "INSEE code field" in refused.value.problems[0].reason
    with pytest.raises(InvalidInput):
        official_outlines(tmp_path / "missing.geojson", reference)
