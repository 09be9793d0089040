"""`gigalis gis gracethd` on both databases, over the real Gigalis network with a planned,
a decommissioning and a retired object more: every listed value is a GraceTHD code, every
reference resolves, the GeoPackage reads back in EPSG:2154, the CSV reads back with the same
rows, codes are the same from one export to the next, and bad input answers clearly."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from pyogrio import raw
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CableOwnership, LifecycleStatus, SiteKind
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import FibreCable, Organisation, Site
from gigalis_nms.resource_centre.geo import in_lambert93_france, to_wgs84
from gigalis_nms.resource_centre.gis_cli import app
from tests.integration import builders
from tests.unit.test_gracethd_enumerations import GRACETHD_LISTS

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:gracethd"
TABLES = ["t_organisme", "t_noeud", "t_sitetech", "t_cheminement", "t_cable", "t_cableline"]
GEOMETRY = {"t_noeud": "Point", "t_cheminement": "LineString", "t_cableline": "LineString"}
NETWORK_KINDS = [SiteKind.POP, SiteKind.NRO, SiteKind.SHELTER, SiteKind.HOSTING_ROOM]
# Which list each coded column draws on, per GraceTHD-MCD v2.0.1's attribute table.
LISTED = {
    "t_noeud": {
        "nd_type": "l_noeud_type",
        "nd_type_ep": "l_technologie_type",
        "nd_dtclass": "l_geoloc_classe",
        "nd_geolmod": "l_geoloc_mode",
    },
    "t_sitetech": {
        "st_proptyp": "l_propriete_type",
        "st_statut": "l_statut",
        "st_etat": "l_etat_type",
        "st_avct": "l_avancement",
        "st_typephy": "l_site_type_phy",
        "st_typelog": "l_site_type_log",
    },
    "t_cheminement": {
        "cm_statut": "l_statut",
        "cm_etat": "l_etat_type",
        "cm_avct": "l_avancement",
        "cm_typelog": "l_infra_type_log",
        "cm_typ_imp": "l_implantation_type",
        "cm_nature": "l_infra_nature",
        "cm_dtclass": "l_geoloc_classe",
        "cm_geolmod": "l_geoloc_mode",
    },
    "t_cable": {
        "cb_proptyp": "l_propriete_type",
        "cb_statut": "l_statut",
        "cb_etat": "l_etat_type",
        "cb_avct": "l_avancement",
        "cb_tech": "l_technologie_type",
        "cb_typephy": "l_cable_type",
        "cb_typelog": "l_infra_type_log",
    },
    "t_cableline": {"cl_dtclass": "l_geoloc_classe", "cl_geolmod": "l_geoloc_mode"},
}
# GraceTHD's references among the exported tables: (table, column) → (table, column).
REFERENCES = {
    ("t_sitetech", "st_nd_code"): ("t_noeud", "nd_code"),
    ("t_cheminement", "cm_ndcode1"): ("t_noeud", "nd_code"),
    ("t_cheminement", "cm_ndcode2"): ("t_noeud", "nd_code"),
    ("t_cable", "cb_nd1"): ("t_noeud", "nd_code"),
    ("t_cable", "cb_nd2"): ("t_noeud", "nd_code"),
    ("t_cableline", "cl_cb_code"): ("t_cable", "cb_code"),
    **dict.fromkeys(
        [
            ("t_sitetech", "st_prop"),
            ("t_sitetech", "st_gest"),
            ("t_sitetech", "st_user"),
            ("t_cheminement", "cm_gest_do"),
            ("t_cheminement", "cm_prop_do"),
            ("t_cheminement", "cm_mut_org"),
            ("t_cable", "cb_prop"),
            ("t_cable", "cb_gest"),
            ("t_cable", "cb_user"),
        ],
        ("t_organisme", "or_code"),
    ),
}
# Columns every export must fill, GraceTHD's obligatory ones among them.
REQUIRED = {
    "t_organisme": ["or_code", "or_nom"],
    "t_noeud": ["nd_code", "nd_type"],
    "t_sitetech": ["st_code", "st_nd_code", "st_statut", "st_typephy", "st_typelog", "st_gest"],
    "t_cheminement": ["cm_code", "cm_ndcode1", "cm_ndcode2", "cm_statut"],
    "t_cable": ["cb_code", "cb_nd1", "cb_nd2", "cb_statut", "cb_typephy", "cb_prop", "cb_gest"],
    "t_cableline": ["cl_code", "cl_cb_code"],
}


@pytest.fixture
def network(engine: Engine) -> None:
    """The Gigalis network, with a decommissioning NRO, a planned PoP on a planned cable, a
    retired cable and an operator's site at the end of a leased cable."""
    load_inventory(engine, ROOT / "inventory", actor="test")
    with session_scope(engine, actor=ACTOR) as session:
        gigalis = _one(session, Organisation, Organisation.name, "Gigalis")
        nte1 = _one(session, Site, Site.code, "NTE1")
        noi1 = _one(session, Site, Site.code, "NOI1")
        noi1.status = LifecycleStatus.DECOMMISSIONING
        planned = builders.site(session, "PLN1", "44109", status=LifecycleStatus.PLANNED)
        customer = builders.site(session, "OPR1", "44109", kind=SiteKind.CUSTOMER_SITE)
        new = builders.cable(session, "C-NTE1-PLN1", nte1, planned, gigalis)
        new.status = LifecycleStatus.PLANNED
        old = builders.cable(session, "C-NTE1-OLD", nte1, customer, gigalis)
        old.status = LifecycleStatus.RETIRED
        old.ownership = CableOwnership.LEASED
        session.add_all([noi1, new, old])


def _one(session: Session, model: Any, column: Any, value: str) -> Any:
    return session.exec(select(model).where(col(column) == value)).one()


def invoke(runner: CliRunner, *arguments: str) -> Any:
    return runner.invoke(app, ["gracethd", *arguments])


def read_gpkg(path: Path) -> dict[str, list[dict[str, Any]]]:
    tables = {}
    for name, _ in pyogrio.list_layers(path):
        meta, _, geometry, fields = raw.read(path, layer=name, datetime_as_string=True)
        rows = [
            dict(zip(meta["fields"], values, strict=True)) for values in zip(*fields, strict=True)
        ]
        if geometry is not None:
            for row, wkb in zip(rows, geometry, strict=True):
                row["geom"] = shapely.from_wkb(wkb)
        tables[str(name)] = rows
    return tables


def read_csv(folder: Path) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """Each table's header and rows, read as GraceTHD writes CSV: ``;``, no quoting, UTF-8."""
    tables = {}
    for name in TABLES:
        with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream, delimiter=";", quoting=csv.QUOTE_NONE)
            header, *lines = list(reader)
        assert all(len(line) == len(header) for line in lines), name
        tables[name] = (header, [dict(zip(header, line, strict=True)) for line in lines])
    return tables


def database_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        cables = session.exec(select(func.count()).select_from(FibreCable)).one()
        ends = set(session.exec(select(FibreCable.a_site_id)).all())
        ends |= set(session.exec(select(FibreCable.z_site_id)).all())
        network_sites = set(session.exec(select(Site.id).where(col(Site.kind).in_(NETWORK_KINDS))))
        owners = set(session.exec(select(FibreCable.owner_id)).all())
    sites = len(network_sites | ends)
    return {
        "t_organisme": len(owners),  # Gigalis owns cables too: no row more for the manager
        "t_noeud": sites,
        "t_sitetech": sites,
        "t_cheminement": cables,
        "t_cable": cables,
        "t_cableline": cables,
    }


def test_geopackage_holds_the_six_tables_in_lambert93(
    runner: CliRunner, engine: Engine, network: None, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "gracethd.gpkg"

    result = invoke(runner, "--format", "gpkg", "--out", str(target))

    assert result.exit_code == 0, result.output
    layers = dict(pyogrio.list_layers(target))
    assert set(layers) == set(TABLES)
    counts = database_counts(engine)
    for name in TABLES:
        info = pyogrio.read_info(target, layer=name)
        assert info["features"] == counts[name], name
        assert layers[name] == GEOMETRY.get(name), name
        if name in GEOMETRY:
            assert info["crs"] == "EPSG:2154"
    tables = read_gpkg(target)
    nte1 = next(row for row in tables["t_noeud"] if row["nd_codeext"] == "NTE1")
    longitude, latitude = to_wgs84(nte1["geom"].x, nte1["geom"].y)
    with Session(engine) as session:
        site = _one(session, Site, Site.code, "NTE1")
    assert math.isclose(longitude, site.longitude, abs_tol=1e-7)
    assert math.isclose(latitude, site.latitude, abs_tol=1e-7)
    assert_gracethd_rules(tables)


def assert_gracethd_rules(tables: dict[str, list[dict[str, Any]]]) -> None:
    for table, columns in LISTED.items():
        for column, listing in columns.items():
            values = {row[column] for row in tables[table]} - {None, ""}
            assert values <= GRACETHD_LISTS[listing], (table, column, values)
    for (table, column), (target, key) in REFERENCES.items():
        known = {row[key] for row in tables[target]}
        values = {row[column] for row in tables[table]} - {None, ""}
        assert values <= known, (table, column, values - known)
    for table, required in REQUIRED.items():
        for row in tables[table]:
            assert all(row[column] not in (None, "") for column in required), (table, row)
    for table in TABLES:
        codes = [row[next(iter(row))] for row in tables[table]]
        assert len(codes) == len(set(codes)), table


def test_lifecycle_ownership_and_kinds_become_gracethd_codes(
    runner: CliRunner, network: None, tmp_path: Path
) -> None:
    target = tmp_path / "gracethd.gpkg"

    assert invoke(runner, "--format", "gpkg", "--out", str(target)).exit_code == 0

    tables = read_gpkg(target)
    cables = {row["cb_codeext"]: row for row in tables["t_cable"]}
    sites = {row["st_codeext"]: row for row in tables["t_sitetech"]}
    assert (cables["C-NTE1-PLN1"]["cb_statut"], cables["C-NTE1-PLN1"]["cb_avct"]) == ("AVP", "C")
    old = cables["C-NTE1-OLD"]
    assert (old["cb_statut"], old["cb_avct"], old["cb_proptyp"]) == ("REC", "A", "LOC")
    assert old["cb_abdsrc"]
    active_iru = next(row for row in cables.values() if row["cb_proptyp"] == "IRU")
    assert (active_iru["cb_statut"], active_iru["cb_avct"]) == ("REC", "S")
    assert active_iru["cb_prop"] != active_iru["cb_user"]  # SNCF Réseau or RTE's, used by Gigalis
    assert sites["NOI1"]["st_typelog"] == "NRO"
    assert sites["NOI1"]["st_avct"] == "E"  # being decommissioned: exists, no longer in service
    assert sites["STH1"]["st_typelog"] == "HEBERG"
    assert sites["OPR1"]["st_typelog"] == "CLIENT"
    assert sites["PLN1"]["st_statut"] == "AVP"
    lines = {row["cl_cb_code"]: row for row in tables["t_cableline"]}
    assert lines[cables["C-NTE1-PLN1"]["cb_code"]]["geom"].geom_type == "LineString"
    assert all(
        in_lambert93_france(*point) for row in tables["t_noeud"] for point in row["geom"].coords
    )


def test_csv_reads_back_with_the_geopackages_rows(
    runner: CliRunner, network: None, tmp_path: Path
) -> None:
    folder = tmp_path / "csv"  # a new folder: its name ends in /
    gpkg = tmp_path / "gracethd.gpkg"

    result = invoke(runner, "--format", "csv", "--out", f"{folder}/")

    assert result.exit_code == 0, result.output
    assert invoke(runner, "--format", "gpkg", "--out", str(gpkg)).exit_code == 0
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        f"{name}.csv" for name in TABLES
    )
    from_csv = read_csv(folder)
    from_gpkg = read_gpkg(gpkg)
    for name in TABLES:
        header, rows = from_csv[name]
        info = pyogrio.read_info(gpkg, layer=name)
        assert header == list(info["fields"]) + (["geom"] if name in GEOMETRY else []), name
        assert [row[header[0]] for row in rows] == [row[header[0]] for row in from_gpkg[name]]
        for row, stored in zip(rows, from_gpkg[name], strict=True):
            for column, value in row.items():
                if column == "geom":
                    assert shapely.from_wkt(value).equals_exact(stored["geom"], 0.01)
                elif stored[column] is None or stored[column] != stored[column]:  # null, NaN
                    assert value == "", (name, column)
                elif isinstance(stored[column], str) and "T" not in stored[column]:
                    assert value == stored[column], (name, column)
    assert_gracethd_rules({name: rows for name, (_, rows) in from_csv.items()})
    raw_text = (folder / "t_noeud.csv").read_bytes()
    assert b'"' not in raw_text  # GraceTHD's CSV has no text delimiters
    raw_text.decode("utf-8")


def test_codes_are_the_same_from_one_export_to_the_next(
    runner: CliRunner, network: None, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    second.mkdir()  # an existing folder needs no /

    assert invoke(runner, "--format", "csv", "--out", f"{first}/").exit_code == 0
    assert invoke(runner, "--format", "csv", "--out", str(second)).exit_code == 0

    for name in TABLES:
        assert (first / f"{name}.csv").read_bytes() == (second / f"{name}.csv").read_bytes()
    _, cables = read_csv(first)["t_cable"]
    assert "CB-C-NTE1-NTE2" in {row["cb_code"] for row in cables}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--format", "csv", "--out", "{tmp}/x", "--manager", "Nobody"],
            "--manager: no organisation named 'Nobody'",
        ),
        (["--format", "csv", "--out", "{tmp}/t_cable.csv"], "name a folder, not"),
        (["--format", "csv", "--out", "{tmp}/new"], "--out: the CSV tables are written one file"),
        (["--format", "csv", "--out", "{tmp}/plain.txt"], "name a folder, not"),
        (["--format", "csv", "--out", "{tmp}/plain.txt/x/"], "--out: cannot make the folder"),
        (["--format", "csv", "--out", ""], "--out: is empty"),
        (["--format", "gpkg", "--out", "{tmp}/existing.gpkg"], "exists; --force overwrites it"),
        (
            ["--format", "gpkg", "--out", "{tmp}/gracethd.geojson"],
            "--out: {tmp}/gracethd.geojson is neither a folder nor a .gpkg file",
        ),
        (["--format", "gpkg", "--out", "{tmp}/new"], "is neither a folder nor a .gpkg file"),
        (["--format", "gpkg", "--out", " "], "--out: is empty"),
        (["--format", "shp", "--out", "{tmp}/x"], "'shp' is not one of"),
    ],
)
def test_bad_input_answers_a_clear_error_and_writes_nothing(
    runner: CliRunner, network: None, tmp_path: Path, arguments: list[str], message: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "plain.txt").write_text("not a folder")
    (work / "existing.gpkg").write_bytes(b"kept")
    before = sorted(path.name for path in work.iterdir())

    result = invoke(runner, *(argument.format(tmp=work) for argument in arguments))

    assert result.exit_code != 0
    assert message.format(tmp=work) in " ".join(result.output.split()), result.output
    assert sorted(path.name for path in work.iterdir()) == before
    assert (work / "existing.gpkg").read_bytes() == b"kept"


def test_a_geopackage_goes_into_an_existing_folder_or_one_ending_in_a_slash(
    runner: CliRunner, network: None, tmp_path: Path
) -> None:
    existing, new = tmp_path / "existing", tmp_path / "new"
    existing.mkdir()

    assert invoke(runner, "--format", "gpkg", "--out", str(existing)).exit_code == 0
    assert invoke(runner, "--format", "gpkg", "--out", f"{new}/").exit_code == 0

    for folder in (existing, new):
        assert [path.name for path in folder.iterdir()] == ["gracethd.gpkg"]
        assert set(dict(pyogrio.list_layers(folder / "gracethd.gpkg"))) == set(TABLES)
