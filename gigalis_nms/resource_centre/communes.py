"""The communes of the Pays de la Loire: INSEE code, département, name, postcode, centre
(WGS84), area, population and households, read from the shipped copy of the INSEE open
data (``resource_centre/communes-pays-de-la-loire.csv``, or ``GIGALIS_COMMUNES_FILE``).

The file is reference data, read once per process; it places sites that come without a
point, checks the communes sites name, gives coverage its populations, and draws the
map's commune and département outlines.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gigalis_nms.errors import InvalidInput
from gigalis_nms.settings import Settings

# The checkout's own copy, wherever the command runs from (as the catalogue is found).
DEFAULT_FILE = (
    Path(__file__).resolve().parents[2] / "resource_centre" / "communes-pays-de-la-loire.csv"
)
COLUMNS = (
    "insee_com",
    "insee_dep",
    "commune",
    "code_postal",
    "lat",
    "lng",
    "superficie_km2",
    "population_2021",
    "menages_2021",
)
DEPARTEMENT_NAMES = {
    "44": "Loire-Atlantique",
    "49": "Maine-et-Loire",
    "53": "Mayenne",
    "72": "Sarthe",
    "85": "Vendée",
}


@dataclass(frozen=True)
class Commune:
    insee: str
    departement: str
    name: str
    postcode: str
    # The centre; None for the few communes the file gives none (absorbed into a commune
    # nouvelle, e.g. L'Oie and Sainte-Florence in Essarts-en-Bocage).
    latitude: float | None
    longitude: float | None
    area_km2: float
    population: int
    households: int


def departement_of_commune(insee: str | None, communes: Mapping[str, Commune]) -> str | None:
    """The département of a commune of the reference; None when it is not there."""
    commune = communes.get(insee) if insee else None
    return commune.departement if commune else None


def communes_path(settings: Settings) -> Path:
    return settings.communes_file or DEFAULT_FILE


def read_communes(path: Path) -> dict[str, Commune]:
    """The communes of the file by INSEE code; InvalidInput naming the line of the first row
    that does not read."""
    communes: dict[str, Commune] = {}
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput.of(
                "communes file", f"missing column(s): {', '.join(missing)}", str(path)
            )
        for row in reader:
            try:
                commune = Commune(
                    insee=row["insee_com"],
                    departement=row["insee_dep"],
                    name=row["commune"],
                    postcode=row["code_postal"],
                    latitude=_optional_float(row["lat"]),
                    longitude=_optional_float(row["lng"]),
                    area_km2=float(row["superficie_km2"] or 0),
                    population=int(row["population_2021"] or 0),
                    households=int(row["menages_2021"] or 0),
                )
            except ValueError as error:
                raise InvalidInput.of(
                    "communes file", f"unreadable row: {error}", f"{path}:{reader.line_num}"
                ) from error
            communes[commune.insee] = commune
    return communes


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def cached_communes(path: Path) -> dict[str, Commune]:
    return read_communes(path)


def communes_of(settings: Settings) -> dict[str, Commune]:
    """The communes of the configured file, read once per process."""
    path = communes_path(settings)
    if not path.is_file():
        raise InvalidInput.of(
            "GIGALIS_COMMUNES_FILE",
            f"{path} is not a file (a relative path starts from the working directory, "
            f"{Path.cwd()})",
        )
    return cached_communes(path.resolve())
