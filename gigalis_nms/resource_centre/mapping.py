"""How the columns of someone else's CSV file become sites needing THD.

A :class:`ColumnMapping` says which column feeds which *target* (``name``, ``uai``, ``lat``…),
which targets take one value for every row (``--set category=school``), and which cell
values mean which of ours (``category: {COLLEGE: school}``). It comes from a YAML file, from
the command line, or both, the command line winning target by target (lat and lon given on
the command line replace the file's x and y, and the other way round)::

    delimiter: ";"            # sniffed from the header when left out
    encoding: utf-8           # UTF-8 with or without BOM when left out (cp1252 fallback)
    source: Annuaire de l'éducation
    crs: EPSG:2154            # of the x and y columns; Lambert-93 when left out
    columns: {name: appellation_officielle, uai: numero_uai, x: coordonnee_x, …}
    constants: {category: school}
    values: {category: {COLLEGE: school}}

Cells are read the way French files write them: decimal commas, spaces between thousands,
dates as ISO or dd/mm/yyyy, and the usual French labels (collège, mairie, hôpital, zone
d'activités, ADSL, raccordé…) for categories, connectivities and statuses, compared without
case or accents. A label that could mean two things is left out and needs a value map.
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pyproj import CRS
from pyproj.exceptions import CRSError

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.resource_centre.models import Connectivity, NeedStatus, SiteCategory

# Target → the field of SiteNeedCreate it fills (x and y become latitude and longitude).
TARGET_FIELDS = {
    "name": "name",
    "category": "category",
    "uai": "uai",
    "finess": "finess",
    "siret": "siret",
    "address": "address",
    "postcode": "postcode",
    "commune": "commune_insee",
    "lat": "latitude",
    "lon": "longitude",
    "x": "longitude",
    "y": "latitude",
    "connectivity": "connectivity",
    "needed_mbps": "needed_mbps",
    "status": "status",
    "identified_on": "identified_on",
    "studied_on": "studied_on",
    "planned_on": "planned_on",
    "connected_on": "connected_on",
    "source": "source",
    "notes": "notes",
}
TARGETS = tuple(TARGET_FIELDS)
NUMBER_TARGETS = frozenset({"lat", "lon", "x", "y"})
DATE_TARGETS = frozenset({"identified_on", "studied_on", "planned_on", "connected_on"})
LAMBERT93 = "EPSG:2154"
DELIMITERS = (";", ",", "\t", "|")  # sniffed in this order of preference: French files use ;
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


def folded(text: str) -> str:
    """A label as it is compared: lower case, no accents, words separated by one space.

    >>> folded("  Zone d'Activités  "), folded("LYCÉE-Professionnel"), folded("Œuvre")
    ('zone d activites', 'lycee professionnel', 'oeuvre')
    """
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.findall(r"[^\W_]+", bare.casefold()))


# --- French labels -------------------------------------------------------------------------
# Whole values, or the first words of a value ("Collège Paul Langevin", "Lycée professionnel
# agricole"): the longest label that starts the value wins. Labels that would be wrong as the
# start of a longer value ("école des beaux-arts" is no school) are in WHOLE_VALUE_ONLY.

CATEGORY_LABELS: dict[str, SiteCategory] = {
    **dict.fromkeys(
        [
            "ecole",
            "ecole maternelle",
            "ecole elementaire",
            "ecole primaire",
            "ecole secondaire",
            "groupe scolaire",
            "college",
            "lycee",
            "etablissement scolaire",
            "erea",
        ],
        SiteCategory.SCHOOL,
    ),
    **dict.fromkeys(
        [
            "universite",
            "ecole d ingenieurs",
            "ecole superieure",
            "ecole nationale superieure",
            "grande ecole",
            "iut",
            "enseignement superieur",
            "centre de recherche",
            "laboratoire de recherche",
        ],
        SiteCategory.HIGHER_EDUCATION,
    ),
    **dict.fromkeys(
        ["hopital", "centre hospitalier", "chu", "chr", "clinique", "polyclinique"],
        SiteCategory.HOSPITAL,
    ),
    **dict.fromkeys(
        [
            "maison de sante",
            "msp",
            "pole de sante",
            "centre de sante",
            "centre medical",
            "maison medicale",
            "cabinet medical",
            "ehpad",
        ],
        SiteCategory.HEALTH_CENTRE,
    ),
    **dict.fromkeys(["mairie", "mairie annexe", "hotel de ville"], SiteCategory.TOWN_HALL),
    **dict.fromkeys(
        [
            "prefecture",
            "sous prefecture",
            "conseil departemental",
            "conseil regional",
            "hotel du departement",
            "hotel de region",
            "communaute de communes",
            "communaute d agglomeration",
            "tribunal",
            "gendarmerie",
            "commissariat",
            "centre de secours",
            "centre des finances publiques",
            "administration",
        ],
        SiteCategory.ADMINISTRATION,
    ),
    **dict.fromkeys(
        [
            "zone d activites",
            "zone d activite",
            "za",
            "zone artisanale",
            "zone industrielle",
            "zi",
            "parc d activites",
            "parc d activite",
            "parc d affaires",
            "zone commerciale",
            "technopole",
        ],
        SiteCategory.BUSINESS_PARK,
    ),
    **dict.fromkeys(["entreprise", "societe"], SiteCategory.BUSINESS),
    **dict.fromkeys(
        [
            "bibliotheque",
            "mediatheque",
            "musee",
            "gymnase",
            "piscine",
            "stade",
            "salle de sport",
            "salle omnisports",
            "complexe sportif",
            "theatre",
            "cinema",
            "conservatoire",
            "ecole de musique",
            "centre culturel",
        ],
        SiteCategory.CULTURE_SPORT,
    ),
    **dict.fromkeys(["autre", "divers"], SiteCategory.OTHER),
}
CONNECTIVITY_LABELS: dict[str, Connectivity] = {
    **dict.fromkeys(["inconnu", "inconnue", "non renseigne", "nc"], Connectivity.UNKNOWN),
    **dict.fromkeys(["aucun", "aucune", "non desservi", "rien"], Connectivity.NONE),
    **dict.fromkeys(["sat"], Connectivity.SATELLITE),
    **dict.fromkeys(
        [
            "thd radio",
            "4g",
            "4g fixe",
            "5g",
            "5g fixe",
            "wimax",
            "blr",
            "boucle locale radio",
            "hertzien",
        ],
        Connectivity.RADIO,
    ),
    **dict.fromkeys(["adsl", "adsl2", "vdsl", "vdsl2", "sdsl", "xdsl", "cuivre"], Connectivity.DSL),
    **dict.fromkeys(["coaxial", "cable coaxial", "docsis"], Connectivity.CABLE),
    **dict.fromkeys(["fibre ftth", "fibre grand public"], Connectivity.FTTH),
    **dict.fromkeys(["fibre ftte", "fibre entreprise mutualisee"], Connectivity.FTTE),
    **dict.fromkeys(["fibre ftto", "fibre dediee", "fibre optique dediee"], Connectivity.FTTO),
}
STATUS_LABELS: dict[str, NeedStatus] = {
    **dict.fromkeys(
        ["identifie", "identifiee", "recense", "recensee", "a raccorder", "besoin identifie"],
        NeedStatus.IDENTIFIED,
    ),
    **dict.fromkeys(["etudie", "etudiee", "etude faite", "etude realisee"], NeedStatus.STUDIED),
    **dict.fromkeys(
        ["planifie", "planifiee", "programme", "programmee", "travaux programmes"],
        NeedStatus.PLANNED,
    ),
    **dict.fromkeys(
        ["raccorde", "raccordee", "connecte", "connectee", "en service"], NeedStatus.CONNECTED
    ),
}
WHOLE_VALUE_ONLY = frozenset({"ecole", "nc", "rien", "autre", "divers"})


@dataclass(frozen=True)
class Choice:
    """One target read from a closed list: our values, then French labels."""

    enum: type[StrEnum]
    labels: Mapping[str, StrEnum]

    def read(self, text: str) -> str | None:
        """Our value for ``text``, or None when neither a value nor a label matches."""
        wanted = folded(text)
        for member in self.enum:
            if wanted == folded(member.value):
                return member.value
        found = self.labels.get(wanted)
        if found is None:
            found = self._by_first_words(wanted)
        return found.value if found is not None else None

    def _by_first_words(self, wanted: str) -> StrEnum | None:
        heads = [
            label
            for label in self.labels
            if label not in WHOLE_VALUE_ONLY and wanted.startswith(label + " ")
        ]
        return self.labels[max(heads, key=len)] if heads else None

    def expected(self) -> str:
        return ", ".join(member.value for member in self.enum)


CHOICES = {
    "category": Choice(SiteCategory, CATEGORY_LABELS),
    "connectivity": Choice(Connectivity, CONNECTIVITY_LABELS),
    "status": Choice(NeedStatus, STATUS_LABELS),
}


# --- Cells ---------------------------------------------------------------------------------

SPACES = re.compile(r"[\s\u00a0\u202f']")  # thousands: space, no-break spaces, apostrophe


def read_number(text: str) -> float:
    """A decimal number as French or English files write it; ValueError otherwise.

    >>> read_number("47,152"), read_number("6 789 016,8"), read_number("-0.40"), read_number("1e3")
    (47.152, 6789016.8, -0.4, 1000.0)
    >>> read_number("1.234.567,5"), read_number("1,234,567.5")
    (1234567.5, 1234567.5)
    """
    compact = SPACES.sub("", text.strip())
    if "," in compact and "." in compact:
        decimal = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        compact = compact.replace(thousands, "").replace(decimal, ".")
    elif compact.count(",") == 1:
        compact = compact.replace(",", ".")
    elif compact.count(",") > 1:
        compact = compact.replace(",", "")
    try:
        number = float(compact)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def read_integer(text: str) -> int:
    """A whole number, with the same separators as :func:`read_number`.

    >>> read_integer("1 000"), read_integer("100,0")
    (1000, 100)
    """
    number = read_number(text)
    if not number.is_integer():
        raise ValueError(f"{text!r} is not a whole number")
    return int(number)


DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def read_date(text: str) -> date:
    """A date written YYYY-MM-DD or DD/MM/YYYY.

    >>> read_date("2024-09-02"), read_date("2/9/2024")
    (datetime.date(2024, 9, 2), datetime.date(2024, 9, 2))
    """
    value = text.strip()
    try:
        if match := DAY_FIRST.fullmatch(value):
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a date ({error})") from None
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY")


# --- The mapping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """Which column feeds which target, the constants, value maps and file settings."""

    columns: dict[str, str] = field(default_factory=dict)  # target → column of the header
    constants: dict[str, str] = field(default_factory=dict)  # target → value for every row
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # target → folded → ours
    delimiter: str | None = None
    encoding: str | None = None
    source: str | None = None  # the rows' source when they give none
    crs: str = LAMBERT93  # of x and y
    # Where the delimiter and encoding were given, for the messages that blame them.
    delimiter_from: str = "--delimiter"
    encoding_from: str = "--encoding"

    def mapped(self, target: str) -> bool:
        return target in self.columns or target in self.constants

    def where(self, target: str) -> str:
        """How messages name where a target's value comes from: its column, or the option."""
        if target in self.columns:
            return self.columns[target]
        return f"--set {target}" if target in self.constants else target


class MappingFile(BaseModel):
    """A mapping file as written; checked further by :func:`build_mapping`."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str | None = None
    encoding: str | None = None
    source: str | None = None
    crs: str | None = None
    columns: dict[str, str] = {}
    constants: dict[str, str | int | float | date | datetime] = {}
    values: dict[str, dict[Any, Any]] = {}


def read_mapping_file(path: Path) -> MappingFile:
    """The mapping file at ``path``; InvalidInput naming the file and the key otherwise."""
    where = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise InvalidInput.of("--mapping", f"cannot read {path}: {error.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidInput.of("--mapping", f"not a YAML file: {error}", where) from None
    if not isinstance(document, dict):
        raise InvalidInput.of("--mapping", "a mapping file is a YAML mapping of keys", where)
    try:
        return MappingFile.model_validate(document)
    except ValidationError as error:
        problems = [
            FieldProblem(".".join(map(str, item["loc"])), item["msg"], where)
            for item in error.errors()
        ]
        raise InvalidInput(
            f"{where}: {problems[0].field}: {problems[0].reason}", problems
        ) from None


def parse_pairs(option: str, items: Iterable[str]) -> dict[str, str]:
    """``name=COL,lat=COL`` options (repeatable) as a dict; InvalidInput naming a bad pair.

    >>> parse_pairs("--map", ["name=Nom, lat = Y", "lon=X"])
    {'name': 'Nom', 'lat': 'Y', 'lon': 'X'}
    """
    pairs: dict[str, str] = {}
    for item in items:
        for pair in item.split(","):
            target, equals, value = pair.partition("=")
            if not equals or not target.strip() or not value.strip():
                raise InvalidInput.of(option, f"{pair.strip()!r} is not TARGET=VALUE")
            pairs[target.strip()] = value.strip()
    return pairs


def build_mapping(
    file: MappingFile | None,
    *,
    columns: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    source: str | None = None,
    file_label: str = "--mapping",
) -> ColumnMapping:
    """The mapping of a file and the command line's options over it, checked: every target
    known, a name, a category and a way to place each row. ``columns`` and ``constants``
    come from ``--map`` and ``--set``; a target given on the command line replaces the
    file's column or constant for it."""
    file = file or MappingFile()
    given_columns, given_constants = dict(columns or {}), dict(constants or {})
    _check_targets("--map", given_columns)
    _check_targets("--set", given_constants)
    _check_targets(f"{file_label}: columns", file.columns)
    _check_targets(f"{file_label}: constants", file.constants)
    _check_targets(f"{file_label}: values", file.values)
    for target in sorted(set(given_columns) & set(given_constants)):
        raise InvalidInput.of("--set", f"{target} is also mapped to a column by --map")
    for target in sorted(set(file.columns) & set(file.constants)):
        raise InvalidInput.of(f"{file_label}: constants", f"{target} is also in columns")

    replaced = set(given_columns) | set(given_constants)
    replaced |= _other_system(replaced)
    merged_columns = {t: c for t, c in file.columns.items() if t not in replaced}
    merged_columns.update(given_columns)
    merged_constants = {
        t: _constant_text(v) for t, v in file.constants.items() if t not in replaced
    }
    merged_constants.update(given_constants)
    delimiter_from = "--delimiter" if delimiter is not None else f"{file_label}: delimiter"
    encoding_from = "--encoding" if encoding else f"{file_label}: encoding"
    mapping = ColumnMapping(
        columns=merged_columns,
        constants=merged_constants,
        values=_value_maps(file.values, file_label),
        delimiter=_delimiter(
            delimiter if delimiter is not None else file.delimiter, delimiter_from
        ),
        encoding=_encoding(encoding or file.encoding, encoding_from),
        source=source or file.source,
        crs=_crs(file.crs or LAMBERT93, file_label),
        delimiter_from=delimiter_from,
        encoding_from=encoding_from,
    )
    _check_constants(mapping)
    _check_complete(mapping)
    return mapping


COORDINATE_SYSTEMS = (frozenset({"lat", "lon"}), frozenset({"x", "y"}))


def _other_system(given: set[str]) -> set[str]:
    """The coordinate targets a command line mapping one coordinate system takes from the
    file: lat and lon given replace the file's x and y, and the other way round."""
    latlon, xy = COORDINATE_SYSTEMS
    if given & latlon and not given & xy:
        return set(xy)
    if given & xy and not given & latlon:
        return set(latlon)
    return set()


def _check_targets(where: str, given: Mapping[str, Any]) -> None:
    for target in given:
        if target not in TARGET_FIELDS:
            raise InvalidInput.of(
                where, f"unknown target {target!r}; the targets are {', '.join(TARGETS)}"
            )


def _constant_text(value: str | int | float | date | datetime) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _value_maps(given: Mapping[str, Mapping[Any, Any]], where: str) -> dict[str, dict[str, str]]:
    """Value maps with their keys folded; a value for a closed list must be one of ours."""
    maps: dict[str, dict[str, str]] = {}
    for target, pairs in given.items():
        maps[target] = {}
        for key, value in pairs.items():
            ours = str(value)
            choice = CHOICES.get(target)
            if choice is not None and choice.read(ours) is None:
                raise InvalidInput.of(
                    f"{where}: values.{target}.{key}",
                    f"{ours!r} is not a {target}; expected one of {choice.expected()}",
                )
            maps[target][folded(str(key))] = ours
    return maps


def _delimiter(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    value = DELIMITER_NAMES.get(value.lower(), value)
    if len(value) != 1 or value in '"\r\n':
        raise InvalidInput.of(where, f"{value!r} is not one character such as ; , | or tab")
    return value


def _encoding(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise InvalidInput.of(where, f"unknown encoding {value!r}") from None


def _crs(value: str, where: str) -> str:
    try:
        CRS.from_user_input(value)
    except CRSError:
        raise InvalidInput.of(f"{where}: crs", f"unknown coordinate system {value!r}") from None
    return value


def _check_constants(mapping: ColumnMapping) -> None:
    """A constant must read as its target reads a cell, so that a typo stops the import
    before the first row rather than rejecting every row."""
    for target, text in mapping.constants.items():
        try:
            read_cell(mapping, target, text)
        except ValueError as error:
            raise InvalidInput.of(f"--set {target}", str(error)) from None


def _check_complete(mapping: ColumnMapping) -> None:
    if not mapping.mapped("name"):
        raise InvalidInput.of("--map", "no column gives the sites' name: map name=COLUMN")
    if not mapping.mapped("category"):
        raise InvalidInput.of(
            "--map", "nothing gives the category: map category=COLUMN or --set category=…"
        )
    for first, second in (("lat", "lon"), ("x", "y")):
        if mapping.mapped(first) != mapping.mapped(second):
            lone, other = (first, second) if mapping.mapped(first) else (second, first)
            raise InvalidInput.of("--map", f"{lone} is mapped but {other} is not")
    if mapping.mapped("lat") and mapping.mapped("x"):
        raise InvalidInput.of(
            "--map",
            "lat, lon and x, y are all mapped: choose one coordinate system, lat and lon "
            f"(WGS84 degrees) or x and y ({mapping.crs})",
        )
    placed = any(mapping.mapped(target) for target in ("lat", "x", "commune"))
    if not placed:
        raise InvalidInput.of(
            "--map", "nothing places the sites: map lat and lon, x and y, or commune"
        )


def read_cell(mapping: ColumnMapping, target: str, text: str) -> Any:
    """The value of one non-empty cell for ``target``, through the value map first;
    ValueError with the reason when it does not read."""
    text = mapping.values.get(target, {}).get(folded(text), text).strip()
    choice = CHOICES.get(target)
    if choice is not None:
        value = choice.read(text)
        if value is None:
            raise ValueError(
                f"unknown {target} {text!r}: expected one of {choice.expected()}, "
                "a French label, or a value map in the mapping"
            )
        return value
    if target in NUMBER_TARGETS:
        return read_number(text)
    if target == "needed_mbps":
        return read_integer(text)
    if target in DATE_TARGETS:
        return read_date(text)
    return text
