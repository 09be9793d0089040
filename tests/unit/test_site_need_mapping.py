"""The column mapping of the sites-needing-THD import, and how a file and its rows are read:
French labels and numbers, mapping files and options, encodings, delimiters, physical line
numbers, and each row checked as the API checks a site."""

from __future__ import annotations

import doctest
import importlib
from datetime import date
from pathlib import Path

import pytest

from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.communes import Commune
from gigalis_nms.resource_centre.csv_source import Record, header_index, read_table
from gigalis_nms.resource_centre.geo import to_lambert93
from gigalis_nms.resource_centre.importer import (
    ImportReport,
    Rejection,
    RowContext,
    RowRejected,
    SiteRow,
    read_row,
    rejects_table,
)
from gigalis_nms.resource_centre.mapping import (
    CHOICES,
    ColumnMapping,
    MappingFile,
    build_mapping,
    parse_pairs,
    read_cell,
    read_date,
    read_mapping_file,
    read_number,
)
from gigalis_nms.resource_centre.models import LocatedBy

ROOT = Path(__file__).resolve().parents[2]
COLLEGES_MAPPING = ROOT / "resource_centre" / "mappings" / "colleges.yaml"
COMMUNES = {
    "53097": Commune("53097", "53", "Évron", "53600", 48.1565, -0.4009, 70.0, 8000, 3500),
    "44109": Commune("44109", "44", "Nantes", "44000", 47.2316, -1.5484, 65.2, 320000, 170000),
}
SIMPLE = {"name": "Nom", "category": "Type", "lat": "Lat", "lon": "Lon", "commune": "Insee"}


@pytest.mark.parametrize(
    "module",
    [
        "gigalis_nms.resource_centre.mapping",
        "gigalis_nms.resource_centre.importer",
        "gigalis_nms.resource_centre.csv_source",
        "gigalis_nms.resource_centre.service",
    ],
)
def test_the_doctests_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


# --- Labels, numbers, dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("Collège Paul Langevin", "school"),
        ("LYCÉE PROFESSIONNEL agricole", "school"),
        ("école", "school"),
        ("Mairie", "town_hall"),
        ("Hôtel de ville", "town_hall"),
        ("Hôpital local de Craon", "hospital"),
        ("Centre hospitalier", "hospital"),
        ("EHPAD Les Tilleuls", "health_centre"),
        ("Zone d'activités du Bois Joly", "business_park"),
        ("ZONE D’ACTIVITES", "business_park"),
        ("Médiathèque", "culture_sport"),
        ("Business park", "business_park"),
        ("TOWN_HALL", "town_hall"),
    ],
)
def test_french_labels_read_as_categories(label: str, category: str) -> None:
    assert CHOICES["category"].read(label) == category


@pytest.mark.parametrize("label", ["École des beaux-arts", "Salle polyvalente", "fibre"])
def test_ambiguous_or_unknown_labels_need_a_value_map(label: str) -> None:
    assert CHOICES["category"].read(label) is None
    mapping = ColumnMapping(values={"category": {"ecole des beaux arts": "culture_sport"}})
    if label.startswith("École"):
        assert read_cell(mapping, "category", label) == "culture_sport"
    else:
        with pytest.raises(ValueError, match="unknown category"):
            read_cell(mapping, "category", label)


@pytest.mark.parametrize(
    ("target", "label", "value"),
    [
        ("connectivity", "ADSL", "dsl"),
        ("connectivity", "VDSL2", "dsl"),
        ("connectivity", "Aucune", "none"),
        ("connectivity", "4G fixe", "radio"),
        ("connectivity", "Fibre dédiée", "ftto"),
        ("status", "Raccordé", "connected"),
        ("status", "étudiée", "studied"),
        ("status", "Programmé", "planned"),
        ("status", "identified", "identified"),
    ],
)
def test_connectivity_and_status_labels(target: str, label: str, value: str) -> None:
    assert CHOICES[target].read(label) == value


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("47,152", 47.152),
        ("-0.4007", -0.4007),
        ("6 789 016,8", 6789016.8),
        ("6\u202f789\u202f016,8", 6789016.8),
        ("1.234.567,5", 1234567.5),
        ("1,234,567.5", 1234567.5),
    ],
)
def test_numbers_read_with_decimal_commas(text: str, number: float) -> None:
    assert read_number(text) == number


@pytest.mark.parametrize("text", ["abc", "47,1,2.3.4", "nan", "inf", "12 km"])
def test_text_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        read_number(text)


def test_dates_are_iso_or_day_first() -> None:
    assert read_date("2024-09-02") == read_date("02/09/2024") == date(2024, 9, 2)
    for text in ("2024/09/02", "31/02/2024", "Sept 2024", "09-02-2024"):
        with pytest.raises(ValueError, match="is not a date"):
            read_date(text)


# --- The mapping ---------------------------------------------------------------------------


def test_the_colleges_mapping_reads() -> None:
    mapping = build_mapping(read_mapping_file(COLLEGES_MAPPING))
    assert mapping.delimiter == ";"
    assert mapping.crs == "EPSG:2154"
    assert mapping.columns["uai"] == "numero_uai"
    assert {"x", "y", "commune", "name"} <= set(mapping.columns)
    assert read_cell(mapping, "category", "COLLEGE") == "school"


def test_command_line_overrides_the_file_target_by_target() -> None:
    file = MappingFile(
        delimiter=";",
        source="annuaire",
        columns={"name": "Nom", "category": "Type", "lat": "Lat", "lon": "Lon"},
        constants={"connectivity": "adsl"},
    )
    mapping = build_mapping(
        file,
        columns={"name": "Libellé", "connectivity": "Accès"},
        constants={"category": "mairie"},
        delimiter="tab",
        source="enquête 2025",
    )
    assert mapping.columns == {
        "name": "Libellé",
        "lat": "Lat",
        "lon": "Lon",
        "connectivity": "Accès",
    }
    assert mapping.constants == {"category": "mairie"}
    assert mapping.delimiter == "\t"
    assert mapping.source == "enquête 2025"


@pytest.mark.parametrize(
    ("options", "field", "reason"),
    [
        ({"columns": {**SIMPLE, "nom": "Nom"}}, "--map", "unknown target 'nom'"),
        ({"constants": {"categorie": "school"}}, "--set", "unknown target 'categorie'"),
        ({"columns": {k: v for k, v in SIMPLE.items() if k != "name"}}, "--map", "name"),
        ({"columns": {k: v for k, v in SIMPLE.items() if k != "lon"}}, "--map", "lat is mapped"),
        ({"columns": {"name": "Nom", "category": "Type"}}, "--map", "nothing places"),
        ({"columns": SIMPLE, "constants": {"category": "school"}}, "--set", "also mapped"),
        ({"columns": SIMPLE, "constants": {"status": "perhaps"}}, "--set status", "unknown"),
        ({"columns": SIMPLE, "constants": {"needed_mbps": "lots"}}, "--set needed_mbps", "not"),
        ({"columns": SIMPLE, "delimiter": ";;"}, "--delimiter", "not one character"),
        ({"columns": SIMPLE, "encoding": "klingon"}, "--encoding", "unknown encoding"),
    ],
)
def test_a_bad_mapping_names_what_is_wrong(options: dict, field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        build_mapping(None, **options)
    assert refused.value.problems[0].field == field
    assert reason in refused.value.problems[0].reason


def test_a_bad_mapping_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("columns: {name: Nom}\ncolumn: {lat: Y}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        read_mapping_file(path)
    assert refused.value.problems[0].field == "column"

    path.write_text("values:\n  category:\n    COLLEGE: établissement privé\n")
    with pytest.raises(InvalidInput) as refused:
        build_mapping(read_mapping_file(path), columns=SIMPLE, file_label=str(path))
    assert refused.value.problems[0].field.endswith("values.category.COLLEGE")

    path.write_text("columns: [name, Nom\n")
    with pytest.raises(InvalidInput, match="not a YAML file"):
        read_mapping_file(path)


def test_map_options_are_pairs() -> None:
    assert parse_pairs("--map", ["name=Nom,lat=Y", " lon = X "]) == {
        "name": "Nom",
        "lat": "Y",
        "lon": "X",
    }
    with pytest.raises(InvalidInput) as refused:
        parse_pairs("--map", ["name=Nom,lat"])
    assert refused.value.problems[0].field == "--map"
    assert "'lat' is not TARGET=VALUE" in refused.value.problems[0].reason


# --- Reading the file ----------------------------------------------------------------------


def write(tmp_path: Path, content: bytes, name: str = "sites.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def simple_mapping(**options: str) -> ColumnMapping:
    return build_mapping(None, columns=SIMPLE, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"Nom;Type;Lat;Lon;Insee\nA;mairie;47,2;-1,5;44109\n", ";"),
        (b"Nom,Type,Lat,Lon,Insee\nA,mairie,47.2,-1.5,44109\n", ","),
        (b"Nom\tType\tLat\tLon\tInsee\nA\tmairie\t47.2\t-1.5\t44109\n", "\t"),
        (b'"Nom;x",Type,Lat,Lon,Insee\nA,mairie,47.2,-1.5,44109\n', ","),
    ],
)
def test_the_delimiter_is_sniffed(tmp_path: Path, content: bytes, delimiter: str) -> None:
    table = read_table(write(tmp_path, content), simple_mapping())
    assert table.delimiter == delimiter
    assert table.records[0].cells[0] == "A"


def test_utf8_with_bom_and_cp1252_are_read(tmp_path: Path) -> None:
    text = "Nom;Type;Lat;Lon;Insee\nCollège Évron;collège;48,15;-0,40;53097\n"
    with_bom = read_table(write(tmp_path, b"\xef\xbb\xbf" + text.encode()), simple_mapping())
    assert with_bom.header[0] == "Nom"
    assert with_bom.records[0].cells[0] == "Collège Évron"
    assert not with_bom.notes

    windows = read_table(write(tmp_path, text.encode("cp1252")), simple_mapping())
    assert windows.records[0].cells[0] == "Collège Évron"
    assert windows.encoding == "cp1252"
    assert "not UTF-8 (byte 0xe8 on line 2)" in windows.notes[0]

    latin = simple_mapping(encoding="latin-1")
    assert read_table(write(tmp_path, text.encode("latin-1")), latin).notes == []
    with pytest.raises(InvalidInput) as refused:
        read_table(write(tmp_path, text.encode("cp1252")), simple_mapping(encoding="utf-8"))
    assert refused.value.problems[0].field == "--encoding"
    assert "byte 0xe8 on line 2" in refused.value.problems[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"\n \n", "is empty"),
        (b"Nom;Type;Lat;Lon;Insee\n", "has a header and no rows"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b'{"sites": [{"name": "A"}]}\n', "not a CSV file"),
        (b'Nom;Type;Lat;Lon;Insee\nA;mairie;"47,2;-1,5;44109\n', "never closed"),
    ],
)
def test_files_that_are_not_csv_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_table(write(tmp_path, content), simple_mapping())
    assert refused.value.problems[0].field == "FILE"
    assert reason in str(refused.value)


def test_rows_are_numbered_by_the_physical_line_they_start_on(tmp_path: Path) -> None:
    content = (
        b"Nom;Type;Lat;Lon;Insee\n"
        b'"Mairie\nannexe";mairie;47,2;-1,5;44109\n'  # lines 2-3
        b"\n"  # line 4, blank
        b'B;"zone\r\nd\'activit\xc3\xa9s";47,2;-1,5;44109\r\n'  # lines 5-6
        b"C;mairie;47,2;-1,5;44109\n"  # line 7
    )
    table = read_table(write(tmp_path, content), simple_mapping())
    assert [record.line for record in table.records] == [2, 5, 7]
    assert table.records[0].cells[0] == "Mairie\nannexe"


def test_a_mapped_column_absent_from_the_header_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, b"Nom;Typ;Lat;Lon;Insee\nA;mairie;47,2;-1,5;44109\n")
    mapping = simple_mapping()
    with pytest.raises(InvalidInput) as refused:
        header_index(read_table(path, mapping), mapping, path)
    assert refused.value.problems[0].field == "--map category"
    assert "column 'Type' is not in the header" in refused.value.problems[0].reason
    assert "did you mean 'Typ'?" in refused.value.problems[0].reason


# --- Each row ------------------------------------------------------------------------------

ROW_COLUMNS = ["Nom", "Type", "UAI", "CP", "Insee", "Lat", "Lon", "X", "Y", "Statut", "Etude"]


def row_context(**columns: str) -> RowContext:
    mapping = build_mapping(
        None,
        columns={
            "name": "Nom",
            "category": "Type",
            "uai": "UAI",
            "postcode": "CP",
            "commune": "Insee",
            "status": "Statut",
            "studied_on": "Etude",
            **columns,
        },
    )
    positions = {column: ROW_COLUMNS.index(column) for column in mapping.columns.values()}
    return RowContext(mapping, positions, len(ROW_COLUMNS), COMMUNES, "test")


def row(context: RowContext, line: int = 2, **cells: str) -> SiteRow:
    values = {
        "Nom": "Collège Paul Langevin",
        "Type": "Collège",
        "UAI": "0530007V",
        "CP": "53600",
        "Insee": "53097",
        "Lat": "48,1525",
        "Lon": "-0,4007",
        **cells,
    }
    return read_row(Record(line, [values.get(column, "") for column in ROW_COLUMNS]), context)


def rejected(context: RowContext, **cells: str) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(RowRejected) as refused:
        row(context, 2, **cells)
    return [(p.column, p.field, p.reason) for p in refused.value.problems]


LAT_LON = {"lat": "Lat", "lon": "Lon"}


def test_a_good_row_reads_as_a_site() -> None:
    site = row(row_context(**LAT_LON), Statut="étudié", Etude="02/09/2024")
    assert site.full["name"] == "Collège Paul Langevin"
    assert site.full["category"] == "school"
    assert (site.full["latitude"], site.full["longitude"]) == (48.1525, -0.4007)
    assert site.full["located_by"] == LocatedBy.SOURCE
    assert site.full["departement"] == "53"
    assert site.full["status"] == "studied"
    assert site.full["studied_on"] == date(2024, 9, 2)
    assert site.full["source"] == "test"
    assert "connectivity" not in site.given  # not in the file: a merge will not touch it


def test_lambert93_columns_are_converted() -> None:
    x, y = to_lambert93(-0.4007, 48.1525)
    site = row(row_context(x="X", y="Y"), X=f"{x:.1f}".replace(".", ","), Y=f"{y:.1f}")
    assert site.full["latitude"] == pytest.approx(48.1525, abs=1e-5)
    assert site.full["longitude"] == pytest.approx(-0.4007, abs=1e-5)

    problems = rejected(row_context(x="X", y="Y"), X=f"{y:.1f}", Y=f"{x:.1f}")
    assert problems == [("X, Y", "longitude", problems[0][2])]
    assert "inside once swapped" in problems[0][2]


def test_a_row_without_a_point_stands_at_its_communes_centre() -> None:
    site = row(row_context(**LAT_LON), Lat="", Lon="")
    assert site.full["located_by"] == LocatedBy.COMMUNE
    assert (site.full["latitude"], site.full["longitude"]) == (48.1565, -0.4009)

    assert rejected(row_context(**LAT_LON), Lat="", Lon="", Insee="") == [
        (None, "latitude", "no point and no commune: the row cannot be placed")
    ]


@pytest.mark.parametrize(
    ("cells", "column", "field", "reason"),
    [
        ({"UAI": "0530007A"}, "UAI", "uai", "key letter should be V"),
        ({"Lat": "quarante-huit"}, "Lat", "latitude", "is not a number"),
        ({"Lat": "-0,4007", "Lon": "48,1525"}, "Lat, Lon", "latitude", "swapped"),
        ({"Lat": "52,52", "Lon": "13,405"}, "Lat, Lon", "latitude", "outside France"),
        ({"Lon": ""}, "Lon", "longitude", "empty while Lat is given"),
        ({"Insee": "35238"}, "Insee", "commune_insee", "unknown commune 35238"),
        ({"Insee": "4410"}, "Insee", "commune_insee", "INSEE commune code is 5"),
        ({"CP": "44000"}, "CP", "postcode", "not a postcode of département 53"),
        ({"Nom": ""}, "Nom", "name", "no value"),
        ({"Type": "Bureau de poste"}, "Type", "category", "unknown category"),
        ({"Statut": "identifié", "Etude": "02/09/2024"}, "Etude", "studied_on", "not reached"),
        ({"Statut": "raccordé", "Etude": "2024-13-01"}, "Etude", "studied_on", "not a date"),
    ],
)
def test_a_bad_row_is_rejected_naming_column_field_and_reason(
    cells: dict[str, str], column: str, field: str, reason: str
) -> None:
    problems = rejected(row_context(**LAT_LON), **cells)
    assert len(problems) == 1, problems
    assert problems[0][:2] == (column, field)
    assert reason in problems[0][2]


def test_a_row_of_the_wrong_width_is_rejected() -> None:
    with pytest.raises(RowRejected, match="3 fields where the header has 11"):
        read_row(Record(5, ["a", "b", "c"]), row_context(**LAT_LON))


def test_dates_without_a_status_reach_the_furthest_step() -> None:
    context = build_mapping(
        None, columns={**SIMPLE, "studied_on": "Etude"}, constants={"planned_on": "2025-01-10"}
    )
    positions = {"Nom": 0, "Type": 1, "Lat": 2, "Lon": 3, "Insee": 4, "Etude": 5}
    site = read_row(
        Record(2, ["Mairie", "mairie", "47,2", "-1,55", "44109", "01/12/2024"]),
        RowContext(context, positions, 6, COMMUNES, "test"),
    )
    assert site.full["status"] == "planned"
    assert site.full["studied_on"] == date(2024, 12, 1)


def test_a_commune_without_a_centre_cannot_stand_in_for_a_point() -> None:
    oie = Commune("85165", "85", "Oie", "85140", None, None, 14.06, 1259, 0)
    mapping = build_mapping(None, columns=SIMPLE)
    positions = {"Nom": 0, "Type": 1, "Lat": 2, "Lon": 3, "Insee": 4}
    context = RowContext(mapping, positions, 5, {**COMMUNES, "85165": oie}, "test")
    with pytest.raises(RowRejected, match=r"commune 85165 \(Oie\) has no centre"):
        read_row(Record(2, ["Mairie", "mairie", "", "", "85165"]), context)
    placed = read_row(Record(3, ["Mairie", "mairie", "46,9", "-1,2", "85165"]), context)
    assert placed.full["departement"] == "85"


# --- Fixes from the fresh-eyes test (issue 8) ----------------------------------------------


def test_both_coordinate_systems_mapped_are_refused_naming_them() -> None:
    with pytest.raises(InvalidInput) as refused:
        build_mapping(None, columns={**SIMPLE, "x": "X", "y": "Y"})
    problem = refused.value.problems[0]
    assert problem.field == "--map"
    assert "lat, lon and x, y are all mapped: choose one coordinate system" in problem.reason


def test_a_coordinate_system_on_the_command_line_replaces_the_files() -> None:
    file = read_mapping_file(COLLEGES_MAPPING)
    mapping = build_mapping(file, columns={"lat": "latitude", "lon": "longitude"})
    assert {"lat", "lon"} <= set(mapping.columns)
    assert not {"x", "y"} & set(mapping.columns)


def test_a_header_split_by_another_delimiter_suggests_it(tmp_path: Path) -> None:
    path = write(tmp_path, b"Nom,Type,Lat,Lon,Insee\nA,mairie,47.2,-1.5,44109\n")
    with pytest.raises(InvalidInput) as refused:
        read_table(path, simple_mapping(delimiter=";"))
    problem = refused.value.problems[0]
    assert problem.field == "--delimiter"
    assert "the header has 0 ';' but 4 ','" in problem.reason

    mapping_file = MappingFile(delimiter=";", columns=SIMPLE)
    with pytest.raises(InvalidInput) as refused:
        read_table(path, build_mapping(mapping_file, file_label="mairies.yaml"))
    assert refused.value.problems[0].field == "mairies.yaml: delimiter"


def test_a_split_header_missing_a_column_suggests_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, b"Nom;Type,Lat,Lon,Insee\nA;mairie,47.2,-1.5,44109\n")
    mapping = simple_mapping(delimiter=";")
    with pytest.raises(InvalidInput) as refused:
        header_index(read_table(path, mapping), mapping, path)
    assert "the header has 1 ';' but 3 ','" in refused.value.problems[0].reason


def test_an_encoding_from_the_mapping_file_is_blamed_on_it(tmp_path: Path) -> None:
    text = "Nom;Type;Lat;Lon;Insee\nCollège Évron;collège;48,15;-0,40;53097\n"
    path = write(tmp_path, text.encode("cp1252"))
    mapping = build_mapping(
        MappingFile(encoding="utf-8", columns=SIMPLE), file_label="mairies.yaml"
    )
    with pytest.raises(InvalidInput) as refused:
        read_table(path, mapping)
    assert refused.value.problems[0].field == "mairies.yaml: encoding"
    with pytest.raises(InvalidInput) as refused:
        build_mapping(MappingFile(encoding="klingon", columns=SIMPLE), file_label="m.yaml")
    assert refused.value.problems[0].field == "m.yaml: encoding"


def test_lambert93_metres_mapped_as_lat_and_lon_say_so() -> None:
    x, y = to_lambert93(-0.4007, 48.1525)
    problems = rejected(row_context(**LAT_LON), Lat=f"{y:.1f}", Lon=f"{x:.1f}")
    assert problems == [("Lat, Lon", "latitude", problems[0][2])]
    assert f"latitude {y:.1f} and longitude {x:.1f} look like a Lambert-93 y" in problems[0][2]
    assert "map Lat as y and Lon as x" in problems[0][2]


def test_wgs84_degrees_mapped_as_x_and_y_say_so() -> None:
    problems = rejected(row_context(x="X", y="Y"), X="-0,4007", Y="48,1525")
    assert problems == [("X, Y", "longitude", problems[0][2])]
    assert "look like a WGS84 longitude and latitude" in problems[0][2]
    assert "map X as lon and Y as lat" in problems[0][2]


def test_the_rejects_keep_their_columns_aligned() -> None:
    report = ImportReport(file="f.csv", delimiter=";", encoding="utf-8")
    report.rejected = [
        Rejection(line=2, problems=[], cells=["A", "b"]),
        Rejection(line=3, problems=[], cells=["A", "b", "c", "d", "e"]),
        Rejection(line=4, problems=[], cells=["A", "b", "c"]),
    ]
    table = rejects_table(["Nom", "line", "Statut"], report)
    assert table[0] == ["Nom", "line", "Statut", "extra", "import_line", "reason"]
    assert all(len(row) == len(table[0]) for row in table)
    assert table[1][:5] == ["A", "b", "", "", "2"]
    assert table[2][:5] == ["A", "b", "c", "d;e", "3"]
    report.rejected = report.rejected[2:]
    assert rejects_table(["Nom", "Type", "Statut"], report)[0][-2:] == ["line", "reason"]
