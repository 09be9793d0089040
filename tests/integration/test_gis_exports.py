"""`gigalis gis export` on both databases, over the real Gigalis network and a few sites
needing THD: the GeoPackage reads back with pyogrio in Lambert-93 with the database's
counts and positions to the centimetre, the GeoJSON is RFC 7946 in longitude/latitude
order, contacts and notes never leave, files are overwritten only with --force, and bad
paths and layers answer clear errors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from pyogrio import raw
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Contact, FibreCable, Organisation, Site
from gigalis_nms.inventory.tables import CABLE
from gigalis_nms.resource_centre.geo import to_wgs84
from gigalis_nms.resource_centre.gis_cli import app
from gigalis_nms.resource_centre.layers import LayerName, read_layers
from gigalis_nms.resource_centre.models import (
    ConnectFrom,
    Connectivity,
    LocatedBy,
    NeedStatus,
    SiteCategory,
    SiteNeed,
)
from tests.integration import builders

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:gis"
# The Pays de la Loire, with a margin: a point outside, or latitude first, is a bug.
REGION_LONGITUDES = (-2.7, 1.0)
REGION_LATITUDES = (46.2, 48.7)
NETWORK_KINDS = [SiteKind.POP, SiteKind.NRO, SiteKind.SHELTER, SiteKind.HOSTING_ROOM]
MAPPED = [LifecycleStatus.ACTIVE, LifecycleStatus.PLANNED]
SECRET_NOTE = "ne pas diffuser : travaux en négociation"
SECRET_EMAIL = "principal.verne@example.org"
# The table holds contacts in their JSON form, as the service writes them.
CONTACTS = cast(list[Contact], [Contact(name="Principal", email=SECRET_EMAIL).model_dump()])


@dataclass(frozen=True)
class Loaded:
    school: int  # analysed, with contacts and notes
    hospital: int  # placed at its commune's centre, not analysed
    nearest_cable: str


@pytest.fixture
def loaded(engine: Engine) -> Loaded:
    """The Gigalis network, a planned and a retired PoP more, and three sites needing THD."""
    load_inventory(engine, ROOT / "inventory", actor="test")
    with session_scope(engine, actor=ACTOR) as session:
        builders.site(session, "PLN1", "44109", status=LifecycleStatus.PLANNED)
        builders.site(session, "RET1", "44109", status=LifecycleStatus.RETIRED)
        nte1 = session.exec(select(Site).where(col(Site.code) == "NTE1")).one()
        cable = session.exec(select(FibreCable).where(col(FibreCable.code) == "C-NTE1-NTE2")).one()
        school = SiteNeed(
            name="Collège Jules Verne",
            category=SiteCategory.SCHOOL,
            uai="0440001M",
            commune_insee="44109",
            departement="44",
            latitude=47.2212,
            longitude=-1.5480,
            connectivity=Connectivity.FTTH,
            needed_mbps=1000,
            status=NeedStatus.PLANNED,
            identified_on=date(2023, 9, 1),
            studied_on=date(2024, 1, 15),
            planned_on=date(2024, 2, 1),
            contacts=CONTACTS,
            notes=SECRET_NOTE,
            nearest_pop_id=nte1.id,
            pop_distance_m=1234,
            nearest_cable_id=cable.id,
            cable_distance_m=321,
            connect_from=ConnectFrom.CABLE,
            connection_cost=Decimal("15432.10"),
            priority=80,
            analysed_at=datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
        )
        hospital = SiteNeed(
            name="Centre hospitalier de Laval",
            category=SiteCategory.HOSPITAL,
            commune_insee="53130",
            departement="53",
            latitude=48.0733,
            longitude=-0.7700,
            located_by=LocatedBy.COMMUNE,
        )
        town_hall = SiteNeed(
            name="Mairie du Mans",
            category=SiteCategory.TOWN_HALL,
            commune_insee="72181",
            departement="72",
            latitude=48.0061,
            longitude=0.1996,
            status=NeedStatus.CONNECTED,
            identified_on=date(2022, 5, 1),
            connected_on=date(2023, 6, 30),
        )
        session.add_all([school, hospital, town_hall])
        session.flush()
        assert school.id is not None
        assert hospital.id is not None
        return Loaded(school.id, hospital.id, cable.code)


def expected_counts(engine: Engine) -> dict[str, int]:
    """What the database holds for each layer, counted apart from the export."""
    with Session(engine) as session:
        pops = (
            select(func.count())
            .select_from(Site)
            .where(col(Site.kind).in_(NETWORK_KINDS), col(Site.status).in_(MAPPED))
        )
        cables = (
            select(func.count()).select_from(FibreCable).where(col(FibreCable.status).in_(MAPPED))
        )
        needs = select(func.count()).select_from(SiteNeed)
        return {
            "pops": session.exec(pops).one(),
            "cables": session.exec(cables).one(),
            "site_needs": session.exec(needs).one(),
        }


def site_point(engine: Engine, code: str) -> tuple[float, float]:
    with Session(engine) as session:
        site = session.exec(select(Site).where(col(Site.code) == code)).one()
        return site.longitude, site.latitude


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ground distance between two nearby WGS84 points, on a local flat approximation."""
    latitude = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * 6_371_000 * math.cos(latitude)
    dy = math.radians(a[1] - b[1]) * 6_371_000
    return math.hypot(dx, dy)


def read_layer(path: Path, layer: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """A layer's rows as dicts and its geometries, as pyogrio reads them back."""
    meta, _, geometry, fields = raw.read(path, layer=layer, datetime_as_string=True)
    names = list(meta["fields"])
    rows = [dict(zip(names, values, strict=True)) for values in zip(*fields, strict=True)]
    return rows, list(shapely.from_wkb(geometry))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder of the test's own: the SQLite database lives in tmp_path."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def invoke(runner: CliRunner, *arguments: str) -> Any:
    return runner.invoke(app, ["export", *arguments])


def test_geopackage_reads_back_in_lambert93_with_the_databases_counts(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    target = workdir / "exports" / "gigalis.gpkg"  # the folder is made

    result = invoke(runner, "--format", "gpkg", "--out", str(target))

    assert result.exit_code == 0, result.output
    layers = dict(pyogrio.list_layers(target))
    assert layers == {"pops": "Point", "cables": "LineString", "site_needs": "Point"}
    counts = expected_counts(engine)
    for name in layers:
        info = pyogrio.read_info(target, layer=name)
        assert info["crs"] == "EPSG:2154"
        assert info["features"] == counts[name], name
    assert counts["pops"] >= 39  # the 37 PoPs, the hosting room, the NRO, and PLN1
    pops, points = read_layer(target, "pops")
    codes = [row["code"] for row in pops]
    assert "PLN1" in codes
    assert "RET1" not in codes
    nte1 = points[codes.index("NTE1")]
    assert metres_apart(to_wgs84(nte1.x, nte1.y), site_point(engine, "NTE1")) < 0.01


def test_geopackage_keeps_types_and_nulls_and_leaves_contacts_out(
    runner: CliRunner, loaded: Loaded, workdir: Path
) -> None:
    target = workdir / "gigalis.gpkg"

    result = invoke(runner, "--format", "gpkg", "--out", str(target), "--no-refresh")

    assert result.exit_code == 0, result.output
    info = pyogrio.read_info(target, layer="site_needs")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert "contacts" not in types
    assert "notes" not in types
    assert types["planned_on"] == "datetime64[D]"
    assert types["connection_cost"] == "float64"
    rows, _ = read_layer(target, "site_needs")
    by_id = {row["id"]: row for row in rows}
    school, hospital = by_id[loaded.school], by_id[loaded.hospital]
    assert school["planned_on"] == "2024-02-01"
    assert school["analysed_at"] == "2024-03-01T12:00:00Z"
    assert school["nearest_pop"] == "NTE1"
    assert school["nearest_cable"] == loaded.nearest_cable
    assert school["connection_cost"] == pytest.approx(15432.10)
    assert school["pop_distance_m"] == 1234
    assert hospital["located_by"] == "commune"
    assert hospital["nearest_pop"] is None
    assert np.isnan(hospital["pop_distance_m"])  # null, not 0
    assert hospital["planned_on"] is None
    content = target.read_bytes()
    assert SECRET_NOTE.encode() not in content
    assert SECRET_EMAIL.encode() not in content


def test_geojson_is_rfc7946_in_longitude_latitude_order(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    folder = workdir / "geojson"  # a new folder: its name ends in /

    result = invoke(runner, "--format", "geojson", "--out", f"{folder}/", "--no-refresh")

    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == [
        "cables.geojson",
        "pops.geojson",
        "site_needs.geojson",
    ]
    counts = expected_counts(engine)
    for name, count in counts.items():
        text = (folder / f"{name}.geojson").read_text(encoding="utf-8")
        collection = json.loads(text)
        assert collection["type"] == "FeatureCollection"
        assert "crs" not in collection  # RFC 7946: WGS84 only, never declared
        assert len(collection["features"]) == count, name
        for feature in collection["features"]:
            assert feature["type"] == "Feature"
            for longitude, latitude in _positions(feature["geometry"]):
                assert REGION_LONGITUDES[0] < longitude < REGION_LONGITUDES[1], feature["id"]
                assert REGION_LATITUDES[0] < latitude < REGION_LATITUDES[1], feature["id"]
        assert SECRET_NOTE not in text
        assert SECRET_EMAIL not in text
    pops = json.loads((folder / "pops.geojson").read_text(encoding="utf-8"))
    nte1 = next(feature for feature in pops["features"] if feature["id"] == "NTE1")
    assert metres_apart(tuple(nte1["geometry"]["coordinates"]), site_point(engine, "NTE1")) < 0.01
    needs = json.loads((folder / "site_needs.geojson").read_text(encoding="utf-8"))
    school = next(f for f in needs["features"] if f["id"] == loaded.school)["properties"]
    assert "contacts" not in school
    assert "notes" not in school
    assert school["planned_on"] == "2024-02-01"
    assert school["analysed_at"] == "2024-03-01T12:00:00Z"
    assert school["connection_cost"] == 15432.1


def _positions(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    if geometry["type"] == "Point":
        return [tuple(geometry["coordinates"])]
    assert geometry["type"] == "LineString"
    return [tuple(position) for position in geometry["coordinates"]]


def test_cables_follow_their_route_else_run_straight(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    target = workdir / "cables.geojson"

    result = invoke(runner, "--format", "geojson", "--layer", "cables", "--out", str(target))

    assert result.exit_code == 0, result.output
    features = {f["id"]: f for f in json.loads(target.read_text())["features"]}
    with Session(engine) as session:
        for cable in session.exec(select(FibreCable).where(col(FibreCable.status).in_(MAPPED))):
            feature = features[cable.code]
            positions = feature["geometry"]["coordinates"]
            if cable.route:
                assert positions == cable.route
            else:
                a, z = session.get(Site, cable.a_site_id), session.get(Site, cable.z_site_id)
                assert a is not None
                assert z is not None
                assert positions == [[a.longitude, a.latitude], [z.longitude, z.latitude]]
            assert feature["properties"]["route_recorded"] is bool(cable.route)
            assert feature["properties"]["length_m"] == cable.length_m


def test_files_are_overwritten_only_with_force(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    target = workdir / "gigalis.gpkg"
    assert invoke(runner, "--format", "gpkg", "--out", str(target)).exit_code == 0
    before = target.read_bytes()
    with session_scope(engine, actor=ACTOR) as session:
        session.add(
            SiteNeed(
                name="ZA de la Gare",
                category=SiteCategory.BUSINESS_PARK,
                latitude=47.5,
                longitude=-0.6,
            )
        )

    refused = invoke(runner, "--format", "gpkg", "--out", str(target))

    assert refused.exit_code == 1
    assert f"--out: {target} exists; --force overwrites it" in refused.output
    assert target.read_bytes() == before
    replaced = invoke(runner, "--format", "gpkg", "--out", str(target), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert pyogrio.read_info(target, layer="site_needs")["features"] == 4
    assert [path.name for path in workdir.iterdir()] == ["gigalis.gpkg"]  # no leftovers


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "geojson", "--out", "{tmp}/plain.txt/out/"], "--out: cannot make the folder"),
        (["--format", "gpkg", "--out", "{tmp}/plain.txt/x.gpkg"], "--out: cannot make the folder"),
        (
            ["--format", "geojson", "--out", "{tmp}/all.geojson"],
            "3 layers are written one file each",
        ),
        (
            ["--format", "geojson", "--layer", "pops", "--out", "{tmp}/pops.gpkg"],
            "--out: {tmp}/pops.gpkg is neither a folder nor a .geojson or .json file",
        ),
        (
            ["--format", "gpkg", "--out", "{tmp}/gigalis.geojson"],
            "--out: {tmp}/gigalis.geojson is neither a folder nor a .gpkg file",
        ),
        (
            ["--format", "gpkg", "--out", "{tmp}/exports"],
            "--out: {tmp}/exports is neither a folder nor a .gpkg file",
        ),
        (["--format", "gpkg", "--out", "{tmp}/plain.txt"], "neither a folder nor a .gpkg file"),
        (["--format", "gpkg", "--out", ""], "--out: is empty"),
        (["--format", "geojson", "--out", "  "], "--out: is empty"),
        (["--format", "geojson", "--out", "{tmp}/o", "--layer", "roads"], "'roads' is not one of"),
        (["--format", "shp", "--out", "{tmp}/o"], "'shp' is not one of"),
    ],
)
def test_bad_paths_and_layers_answer_clear_errors(
    runner: CliRunner, workdir: Path, arguments: list[str], message: str
) -> None:
    (workdir / "plain.txt").write_text("not a folder")
    (workdir / "folder.gpkg").mkdir()
    before = sorted(path.name for path in workdir.iterdir())

    result = invoke(runner, *(argument.format(tmp=workdir) for argument in arguments))

    assert result.exit_code != 0
    assert message.format(tmp=workdir) in " ".join(result.output.split()), result.output
    assert sorted(path.name for path in workdir.iterdir()) == before
    assert list((workdir / "folder.gpkg").iterdir()) == []


def test_an_existing_folder_is_a_folder_whatever_its_name(
    runner: CliRunner, loaded: Loaded, workdir: Path
) -> None:
    folder = workdir / "maps.gpkg"
    folder.mkdir()

    result = invoke(runner, "--format", "gpkg", "--out", str(folder), "--no-refresh")

    assert result.exit_code == 0, result.output
    assert [path.name for path in folder.iterdir()] == ["gigalis.gpkg"]


def test_a_refused_out_leaves_the_analysis_as_it_was(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    result = invoke(runner, "--format", "gpkg", "--out", str(workdir / "sites.geojson"))

    assert result.exit_code == 1
    with Session(engine) as session:
        school = session.get(SiteNeed, loaded.school)
        assert school is not None
        assert school.pop_distance_m == 1234  # the fixture's, not a refreshed one
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("spelling", ["site-needs", "site_needs"])
def test_the_site_needs_layer_answers_to_both_its_names(
    runner: CliRunner, loaded: Loaded, workdir: Path, spelling: str
) -> None:
    target = workdir / "needs.geojson"

    result = invoke(
        runner, "--format", "geojson", "--layer", spelling, "--out", str(target), "--no-refresh"
    )

    assert result.exit_code == 0, result.output
    collection = json.loads(target.read_text(encoding="utf-8"))
    assert collection["name"] == "site_needs"
    assert {feature["id"] for feature in collection["features"]} >= {loaded.school}


def test_the_help_names_both_spellings_of_the_site_needs_layer(runner: CliRunner) -> None:
    result = invoke(runner, "--help")

    assert result.exit_code == 0
    assert "site_needs" in result.output
    assert "site-needs" in result.output


def test_the_export_refreshes_the_analysis_unless_told(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    def exported_school(name: str, *options: str) -> dict[str, Any]:
        target = workdir / f"{name}.geojson"
        arguments = ["--format", "geojson", "--layer", "site-needs", "--out", str(target)]
        result = invoke(runner, *arguments, *options)
        assert result.exit_code == 0, result.output
        features = json.loads(target.read_text(encoding="utf-8"))["features"]
        found: dict[str, Any] = next(f for f in features if f["id"] == loaded.school)
        return found["properties"]

    first = exported_school("first")
    # The fixture's made-up analysis is replaced by the real one.
    assert first["analysed_at"] != "2024-03-01T12:00:00Z"
    # Retire the cable the school would be joined to: only a refreshed export sees it.
    gone = first["nearest_cable"]
    with session_scope(engine, actor=ACTOR) as session:
        session.execute(
            sa.update(CABLE).where(CABLE.c.code == gone).values(status=LifecycleStatus.RETIRED)
        )

    stale = exported_school("stale", "--no-refresh")
    fresh = exported_school("fresh")

    assert stale["nearest_cable"] == gone
    assert stale["analysed_at"] == first["analysed_at"]
    assert fresh["nearest_cable"] != gone
    assert fresh["cable_distance_m"] >= first["cable_distance_m"]
    assert datetime.fromisoformat(fresh["analysed_at"]) > datetime.fromisoformat(
        first["analysed_at"]
    )


def test_every_cable_is_exported_with_the_kinds_of_its_ends(
    runner: CliRunner, engine: Engine, loaded: Loaded, workdir: Path
) -> None:
    with session_scope(engine, actor=ACTOR) as session:
        owner = session.exec(select(Organisation).where(col(Organisation.name) == "Gigalis")).one()
        nte1 = session.exec(select(Site).where(col(Site.code) == "NTE1")).one()
        customer = builders.site(session, "CUST1", "44109", kind=SiteKind.CUSTOMER_SITE)
        builders.cable(session, "C-NTE1-CUST1", nte1, customer, owner)
    target = workdir / "gigalis.gpkg"

    result = invoke(runner, "--format", "gpkg", "--layer", "cables", "--out", str(target))

    assert result.exit_code == 0, result.output
    rows, _ = read_layer(target, "cables")
    by_code = {row["code"]: row for row in rows}
    assert len(rows) == expected_counts(engine)["cables"]
    assert by_code["C-NTE1-CUST1"]["a_site_kind"] == "pop"
    assert by_code["C-NTE1-CUST1"]["z_site_kind"] == "customer_site"
    with Session(engine) as session:
        kinds = {site.code: site.kind.value for site in session.exec(select(Site))}
    for row in rows:
        assert row["a_site_kind"] == kinds[row["a_site"]], row["code"]
        assert row["z_site_kind"] == kinds[row["z_site"]], row["code"]


def test_a_site_needing_thd_names_its_commune_when_the_communes_are_known(
    engine: Engine, loaded: Loaded
) -> None:
    with Session(engine) as session:
        [layer] = read_layers(session, [LayerName.SITE_NEEDS], communes={"44109": "Nantes"})

    by_id = {feature.key: feature.properties for feature in layer.features}
    assert by_id[loaded.school]["commune"] == "Nantes"
    assert by_id[loaded.hospital]["commune"] is None  # 53130 is not in the given communes
