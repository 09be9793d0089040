"""`gigalis sites-needs import` and the other sites-needs commands, on both databases.

The acceptance tests import the real collèges file over the real Gigalis network: 442
sites, two placed at their commune's centre, each analysed; the same import again changes
nothing; malformed rows are rejected with their physical line and reason while the 442 are
kept; --strict writes nothing; a UAI given twice merges. The merging rules against stored
sites are tested on small files, without the analysis.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select
from typer.testing import CliRunner, Result

from gigalis_nms.audit import AuditEntry
from gigalis_nms.cli import app
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import FibreCable, Site
from gigalis_nms.resource_centre.communes import communes_of
from gigalis_nms.resource_centre.geo import to_lambert93
from gigalis_nms.resource_centre.identifiers import uai_key
from gigalis_nms.resource_centre.importer import import_sites
from gigalis_nms.resource_centre.mapping import build_mapping
from gigalis_nms.resource_centre.models import LocatedBy, NeedStatus, SiteNeed
from gigalis_nms.settings import Settings
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
COLLEGES = SHARED_DATA / "opendata" / "colleges-pays-de-la-loire.csv"
MAPPING = ROOT / "resource_centre" / "mappings" / "colleges.yaml"
WITHOUT_POINT = {"0443050B": "44068", "0851742G": "85288"}  # UAI → commune
SOME_REJECTED, NOTHING_WRITTEN = 2, 1


@pytest.fixture
def network(engine: Engine) -> None:
    load_inventory(engine, ROOT / "inventory", actor="test")


def gigalis(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def import_file(runner: CliRunner, path: Path, *options: str | Path) -> tuple[Result, Any]:
    """The import's result and its JSON report (None when it stopped with an error)."""
    result = gigalis(runner, "sites-needs", "import", path, *options, "--format", "json")
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def stored(engine: Engine) -> list[SiteNeed]:
    with session_scope(engine, read_only=True) as session:
        return list(session.exec(select(SiteNeed).order_by(col(SiteNeed.id))).all())


def audited(engine: Engine) -> int:
    with session_scope(engine, read_only=True) as session:
        query = select(func.count()).where(col(AuditEntry.entity) == "site_need")
        return session.exec(query).one()


def colleges() -> tuple[list[str], list[list[str]]]:
    with COLLEGES.open(encoding="utf-8-sig", newline="") as stream:
        header, *rows = list(csv.reader(stream, delimiter=";"))
    return header, rows


@dataclass
class Written:
    path: Path
    lines: list[int]  # the physical line each written row starts on


def write_rows(path: Path, header: list[str], rows: Sequence[list[str]]) -> Written:
    """Write the rows as CSV, counting the physical line each starts on as written."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    lines = []
    for row in rows:
        lines.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")
    return Written(path, lines)


def new_uai(number: int) -> str:
    seven = f"{number:07d}"
    return seven + uai_key(seven)


# --- The collèges file (acceptance) --------------------------------------------------------


def test_the_colleges_import_gives_442_analysed_sites_and_again_changes_nothing(
    engine: Engine, network: None, runner: CliRunner, settings: Settings
) -> None:
    result, report = import_file(runner, COLLEGES, "--mapping", MAPPING)
    assert result.exit_code == 0, result.output
    assert (report["read"], report["created"], report["rejected"]) == (442, 442, [])
    assert report["written"]
    assert report["analysed"]

    sites = stored(engine)
    assert len(sites) == 442
    communes = communes_of(settings)
    placed = {site.uai: site for site in sites if site.located_by == LocatedBy.COMMUNE}
    assert {uai: site.commune_insee for uai, site in placed.items()} == WITHOUT_POINT
    for site in placed.values():
        centre = communes[site.commune_insee or ""]
        assert (site.latitude, site.longitude) == (centre.latitude, centre.longitude)
    assert sorted(p["line"] for p in report["placed_at_commune"]) == [241, 348]
    for site in sites:
        assert site.category == "school"
        assert site.departement == communes[site.commune_insee or ""].departement
        assert site.pop_distance_m is not None, site.uai
        assert site.cable_distance_m is not None, site.uai
        assert site.connection_cost is not None, site.uai
    # Collège Paul Langevin in Évron, from its Lambert-93 columns.
    evron = next(site for site in sites if site.uai == "0530007V")
    assert evron.latitude == pytest.approx(48.15251, abs=1e-5)
    assert evron.longitude == pytest.approx(-0.40074, abs=1e-5)

    before = audited(engine)
    again, report = import_file(runner, COLLEGES, "--mapping", MAPPING)
    assert again.exit_code == 0, again.output
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 442)
    assert report["site_ids"] == []
    assert audited(engine) == before
    assert [(s.id, s.updated_at) for s in stored(engine)] == [(s.id, s.updated_at) for s in sites]


def malformed_colleges(tmp_path: Path) -> tuple[Written, dict[int, tuple[str, str, str]]]:
    """The collèges with bad rows inserted, and for each bad row's index its expected
    (column, field, reason)."""
    header, rows = colleges()
    at = {name: header.index(name) for name in header}
    template = rows[0]

    def bad(number: int, **changes: str) -> list[str]:
        row = list(template)
        row[at["numero_uai"]] = new_uai(number)
        row[at["appellation_officielle"]] = f"Collège inventé {number}"
        for column, value in changes.items():
            row[at[column]] = value
        return row

    wrong_key = new_uai(539001)[:7] + ("A" if new_uai(539001)[7] != "A" else "B")
    berlin_x, berlin_y = to_lambert93(13.405, 52.52)
    inserted = {
        10: (
            bad(539001, numero_uai=wrong_key),
            ("numero_uai", "uai", "key letter"),
        ),
        50: (
            bad(539002, coordonnee_x="quatre cent mille"),
            ("coordonnee_x", "longitude", "is not a number"),
        ),
        100: (
            bad(539003, code_commune="35238"),
            ("code_commune", "commune_insee", "unknown commune 35238"),
        ),
        200: (
            bad(539004, coordonnee_x=f"{berlin_x:.1f}", coordonnee_y=f"{berlin_y:.1f}"),
            ("coordonnee_x, coordonnee_y", "latitude", "outside France"),
        ),
        len(rows): (
            bad(539005, appellation_officielle=""),
            ("appellation_officielle", "name", "no value"),
        ),
    }
    # A quoted field spanning two lines just before a bad row, so that its line counts.
    rows[99][at["adresse_uai"]] = "Bâtiment A\n" + rows[99][at["adresse_uai"]]

    written_rows: list[list[str]] = []
    expected: dict[int, tuple[str, str, str]] = {}
    for index, row in enumerate([*rows, []]):
        if index in inserted:
            expected[len(written_rows)] = inserted[index][1]
            written_rows.append(inserted[index][0])
        if row:
            written_rows.append(row)
    return write_rows(tmp_path / "colleges-malformed.csv", header, written_rows), expected


def test_malformed_rows_are_rejected_with_their_lines_and_the_442_kept(
    engine: Engine, network: None, runner: CliRunner, tmp_path: Path
) -> None:
    written, expected = malformed_colleges(tmp_path)
    rejects = tmp_path / "rejects.csv"
    result, report = import_file(runner, written.path, "--mapping", MAPPING, "--rejects", rejects)
    assert result.exit_code == SOME_REJECTED, result.output
    wanted_lines = {written.lines[index]: problem for index, problem in expected.items()}
    got = {
        r["line"]: (p["column"], p["field"], p["reason"])
        for r in report["rejected"]
        for p in r["problems"]
    }
    assert sorted(got) == sorted(wanted_lines)
    for line, (column, field, reason) in wanted_lines.items():
        assert got[line][:2] == (column, field), (line, got[line])
        assert reason in got[line][2], (line, got[line])
    assert report["created"] == 442
    assert len(stored(engine)) == 442
    multi_line = next(site for site in stored(engine) if "Bâtiment A\n" in (site.address or ""))
    assert multi_line.pop_distance_m is not None

    with rejects.open(encoding="utf-8-sig", newline="") as stream:
        header, *rows = list(csv.reader(stream, delimiter=";"))
    assert header[-2:] == ["line", "reason"]
    assert [int(row[-2]) for row in rows] == sorted(wanted_lines)
    assert all(row[-1] for row in rows)
    assert rows[-1][header.index("appellation_officielle")] == ""


def test_strict_writes_nothing_when_a_row_is_rejected(
    engine: Engine, network: None, runner: CliRunner, tmp_path: Path
) -> None:
    written, expected = malformed_colleges(tmp_path)
    result, report = import_file(runner, written.path, "--mapping", MAPPING, "--strict")
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert len(report["rejected"]) == len(expected)
    assert report["created"] == 442
    assert not report["written"]
    assert "nothing was written" in result.stderr
    assert stored(engine) == []
    assert audited(engine) == 0


def test_the_same_uai_twice_merges(
    engine: Engine, network: None, runner: CliRunner, tmp_path: Path
) -> None:
    header, rows = colleges()
    duplicate = list(rows[2])
    duplicate[header.index("adresse_uai")] = "4 rue Samuel Paty (entrée B)"
    written = write_rows(tmp_path / "twice.csv", header, [*rows, duplicate])

    result, report = import_file(runner, written.path, "--mapping", MAPPING)
    assert result.exit_code == 0, result.output
    assert report["merged"] == [
        {"line": written.lines[-1], "into_line": written.lines[2], "key": f"uai {rows[2][0]}"}
    ]
    assert (report["read"], report["created"]) == (443, 442)
    site = next(site for site in stored(engine) if site.uai == rows[2][0])
    assert site.address == "4 rue Samuel Paty (entrée B)"


# --- Merging with stored sites (no analysis) -----------------------------------------------

HEADER = ["Nom", "Nature", "UAI", "SIRET", "Insee", "Lat", "Lon", "Statut", "Adresse"]
SMALL = build_mapping(
    None,
    columns={
        "name": "Nom",
        "category": "Nature",
        "uai": "UAI",
        "siret": "SIRET",
        "commune": "Insee",
        "lat": "Lat",
        "lon": "Lon",
        "status": "Statut",
        "address": "Adresse",
    },
    source="test",
)
SIRET = "73282932000074"


def small_import(engine: Engine, settings: Settings, path: Path, **options: Any) -> Any:
    with session_scope(engine, actor="test") as session:
        return import_sites(session, path, SMALL, communes_of(settings), **options)


def test_stored_sites_are_updated_by_identifier_and_never_moved_back(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    first = write_rows(
        tmp_path / "first.csv",
        HEADER,
        [
            ["Lycée Clemenceau", "lycée", new_uai(440001), "", "44109", "47,22", "-1,55", "", ""],
            ["Mairie de Nantes", "mairie", "", SIRET, "44109", "47,218", "-1,554", "planifié", ""],
            ["Médiathèque", "médiathèque", "", "", "44109", "", "", "", ""],
        ],
    )
    report = small_import(engine, settings, first.path)
    assert (report.created, report.updated, len(report.rejected)) == (3, 0, 0)
    assert [p.line for p in report.placed_at_commune] == [4]

    second = write_rows(
        tmp_path / "second.csv",
        HEADER,
        [
            # Same UAI: the address is added, the rest kept.
            ["LYCEE CLEMENCEAU", "lycée", new_uai(440001), "", "44109", "", "", "", "1 rue"],
            # Same SIRET: the status stays planned; the point given is kept.
            ["Mairie", "mairie", "", SIRET, "44109", "", "", "identifié", ""],
            # No identifier: found by name and commune, accents and case aside; a point now.
            ["MEDIATHEQUE", "médiathèque", "", "", "44109", "47,21", "-1,56", "", ""],
        ],
    )
    report = small_import(engine, settings, second.path)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 3, 0, [])
    assert small_import(engine, settings, second.path).unchanged == 3

    lycee, mairie, mediatheque = stored(engine)
    assert (lycee.name, lycee.address, lycee.latitude) == ("LYCEE CLEMENCEAU", "1 rue", 47.22)
    assert (mairie.name, mairie.status) == ("Mairie", NeedStatus.PLANNED)
    assert (mairie.latitude, mairie.located_by) == (47.218, LocatedBy.SOURCE)
    assert (mediatheque.latitude, mediatheque.located_by) == (47.21, LocatedBy.SOURCE)

    # A row whose UAI is one stored site and SIRET another.
    both = ["Autre", "lycée", new_uai(440001), SIRET, "44109", "47,2", "-1,5", "", ""]
    report = small_import(engine, settings, write_rows(tmp_path / "3.csv", HEADER, [both]).path)
    assert [r.line for r in report.rejected] == [2]
    reason = report.rejected[0].reason
    assert f"uai {new_uai(440001)} is site 1 (LYCEE CLEMENCEAU)" in reason
    assert f"siret {SIRET} is site 2 (Mairie)" in reason
    assert stored(engine)[0].name == "LYCEE CLEMENCEAU"


def test_a_dry_run_and_a_strict_import_write_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    good = ["Mairie", "mairie", "", "", "44109", "47,2", "-1,55", "", ""]
    bad = ["Mairie", "mairie", "", "", "44109", "47,2", "-1,55", "", ""]
    bad[HEADER.index("Lat")] = "47,2,3"
    path = write_rows(tmp_path / "sites.csv", HEADER, [good, bad]).path
    dry = small_import(engine, settings, path, dry_run=True)
    assert (dry.created, dry.written, [r.line for r in dry.rejected]) == (1, False, [3])
    strict = small_import(engine, settings, path, strict=True)
    assert (strict.created, strict.written) == (1, False)
    assert stored(engine) == []
    assert small_import(engine, settings, path).written
    assert len(stored(engine)) == 1


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, ("--map", "nom=appellation_officielle"), "unknown target 'nom'"),
        (None, ("--mapping", MAPPING, "--map", "name=appelation"), "'appelation' is not in"),
        (b"", ("--mapping", MAPPING), "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", ("--mapping", MAPPING), "ZIP"),
        (b"<html><body>404</body></html>\n", ("--mapping", MAPPING), "not a CSV file"),
    ],
)
def test_a_file_or_mapping_that_does_not_fit_writes_nothing(
    *,
    engine: Engine,
    runner: CliRunner,
    tmp_path: Path,
    content: bytes | None,
    options: tuple[str | Path, ...],
    message: str,
) -> None:
    path = COLLEGES
    if content is not None:
        path = tmp_path / "sites.csv"
        path.write_bytes(content)
    result = gigalis(runner, "sites-needs", "import", path, *options)
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert stored(engine) == []


# --- list, show, set-status, delete --------------------------------------------------------


def test_list_show_set_status_and_delete(
    engine: Engine, settings: Settings, runner: CliRunner, tmp_path: Path
) -> None:
    rows = [
        ["Lycée Clemenceau", "lycée", new_uai(440001), "", "44109", "47,22", "-1,55", "", ""],
        ["Mairie d'Angers", "mairie", "", SIRET, "49007", "47,47", "-0,55", "", ""],
    ]
    small_import(engine, settings, write_rows(tmp_path / "s.csv", HEADER, rows).path)

    listed = gigalis(runner, "sites-needs", "list", "--departement", "49", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [site["name"] for site in json.loads(listed.stdout)] == ["Mairie d'Angers"]
    as_csv = gigalis(runner, "sites-needs", "list", "--category", "school", "--format", "csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(row["uai"], row["departement"]) for row in lines] == [(new_uai(440001), "44")]
    table = gigalis(runner, "sites-needs", "list", "--commune", "44109")
    assert "Lycée Clemenceau" in table.stdout
    assert "Angers" not in table.stdout

    shown = gigalis(runner, "sites-needs", "show", SIRET, "--format", "json")
    assert json.loads(shown.stdout)["name"] == "Mairie d'Angers"
    assert "Lycée Clemenceau" in gigalis(runner, "sites-needs", "show", new_uai(440001)).stdout
    missing = gigalis(runner, "sites-needs", "show", new_uai(449999))
    assert missing.exit_code == 1
    assert "no site needing THD" in missing.stderr

    studied = gigalis(
        runner, "sites-needs", "set-status", "1", "--status", "studied", "--on", "02/03/2025"
    )
    assert studied.exit_code == 0, studied.output
    assert "studied 2025-03-02" in studied.stdout
    early = gigalis(
        runner, "sites-needs", "set-status", "1", "--status", "planned", "--on", "2025-03-01"
    )
    assert early.exit_code == 1
    assert "planned_on: 2025-03-01 is before studied_on (2025-03-02)" in early.stderr
    back = gigalis(runner, "sites-needs", "set-status", "1", "--status", "identified")
    assert back.exit_code == 0, back.output
    lycee = stored(engine)[0]
    assert (lycee.status, lycee.studied_on) == (NeedStatus.IDENTIFIED, None)
    assert lycee.identified_on is not None

    deleted = gigalis(runner, "sites-needs", "delete", "2")
    assert deleted.exit_code == 0, deleted.output
    assert [site.id for site in stored(engine)] == [1]


# --- Fixes from the fresh-eyes test (issue 8) ----------------------------------------------

SMALL_OPTIONS = (
    "--map",
    "name=Nom,category=Nature,uai=UAI,siret=SIRET,commune=Insee,lat=Lat,lon=Lon,status=Statut",
    "--map",
    "address=Adresse",
    "--source",
    "test",
)
LYCEE = ["Lycée Clemenceau", "lycée", new_uai(440001), "", "44109", "47,22", "-1,55", "", ""]
UNREADABLE = ["Mairie", "mairie", "", "", "44109", "47,2,3", "-1,55", "", ""]


def small_file(tmp_path: Path, rows: Sequence[list[str]], name: str = "sites.csv") -> Path:
    return write_rows(tmp_path / name, HEADER, rows).path


@pytest.mark.parametrize("how", ["same path", "relative path", "symbolic link", "hard link"])
def test_rejects_may_never_name_the_input_file(
    engine: Engine, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = small_file(tmp_path, [LYCEE, UNREADABLE])
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    rejects = {
        "same path": path,
        "relative path": Path("sites.csv"),
        "symbolic link": tmp_path / "link.csv",
        "hard link": tmp_path / "hard.csv",
    }[how]
    if how == "symbolic link":
        rejects.symlink_to(path)
    if how == "hard link":
        rejects.hardlink_to(path)
    for dry_run in ((), ("--dry-run",)):
        result = gigalis(
            runner, "sites-needs", "import", path, *SMALL_OPTIONS, "--rejects", rejects, *dry_run
        )
        assert result.exit_code == NOTHING_WRITTEN, result.output
        assert "--rejects" in result.stderr
        assert "is the input file" in result.stderr
        assert path.read_bytes() == before
    assert stored(engine) == []


def test_rejects_may_not_name_the_mapping_file(
    engine: Engine, runner: CliRunner, tmp_path: Path
) -> None:
    mapping = tmp_path / "colleges.yaml"
    mapping.write_bytes(MAPPING.read_bytes())
    result = gigalis(
        runner, "sites-needs", "import", COLLEGES, "--mapping", mapping, "--rejects", mapping
    )
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert "is the mapping file" in result.stderr
    assert mapping.read_bytes() == MAPPING.read_bytes()
    assert stored(engine) == []


def test_a_dry_run_still_writes_the_rejects_and_says_so(
    engine: Engine, runner: CliRunner, tmp_path: Path
) -> None:
    path = small_file(tmp_path, [LYCEE, UNREADABLE])
    rejects = tmp_path / "rejects.csv"
    result = gigalis(
        runner, "sites-needs", "import", path, *SMALL_OPTIONS, "--dry-run", "--rejects", rejects
    )
    assert result.exit_code == SOME_REJECTED, result.output
    assert "nothing was written to the database; the 1 rejected rows written to" in result.stderr
    with rejects.open(encoding="utf-8-sig", newline="") as stream:
        header, *rows = list(csv.reader(stream, delimiter=";"))
    assert header == [*HEADER, "line", "reason"]
    assert [row[-2] for row in rows] == ["3"]
    assert stored(engine) == []


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("folder", "is a folder"),
        ("missing/rejects.csv", "folder"),
        ("/proc/gigalis-rejects.csv", "is under /proc"),
        ("/proc/self/status", "is under /proc"),
    ],
)
def test_an_unwritable_rejects_path_stops_the_import_before_it_writes(
    engine: Engine, runner: CliRunner, tmp_path: Path, where: str, reason: str
) -> None:
    path = small_file(tmp_path, [LYCEE, UNREADABLE])
    (tmp_path / "folder").mkdir()
    rejects = Path(where) if where.startswith("/") else tmp_path / where
    result = gigalis(runner, "sites-needs", "import", path, *SMALL_OPTIONS, "--rejects", rejects)
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert "--rejects" in result.stderr
    assert reason in result.stderr
    assert "does not exist" in result.stderr or "missing" not in where
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert (stored(engine), audited(engine)) == ([], 0)
    assert not (tmp_path / "missing").exists()


def test_an_import_that_stops_leaves_no_rejects_file(
    engine: Engine, runner: CliRunner, tmp_path: Path
) -> None:
    path = small_file(tmp_path, [LYCEE, UNREADABLE])
    rejects = tmp_path / "rejects.csv"
    options = (*SMALL_OPTIONS, "--map", "name=Nme", "--rejects", rejects)
    result = gigalis(runner, "sites-needs", "import", path, *options)
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert not rejects.exists()
    assert stored(engine) == []


def test_a_uai_shared_with_a_stored_site_of_another_commune_is_rejected(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert small_import(engine, settings, small_file(tmp_path, [LYCEE], "first.csv")).created == 1
    (lycee,) = stored(engine)
    briand = ["Lycée Aristide Briand", "lycée", new_uai(440001), "", "44184", "47,28", "-2,2"]
    elsewhere = ["Lycée Livet", "lycée", new_uai(350001), "", "44109", "47,23", "-1,56"]
    report = small_import(
        engine, settings, small_file(tmp_path, [[*briand, "", ""], [*elsewhere, "", ""]])
    )
    assert (report.created, report.updated) == (0, 0)
    problems = {r.line: r.problems[0] for r in report.rejected}
    assert sorted(problems) == [2, 3]
    assert (problems[2].column, problems[2].field) == ("UAI", "uai")
    assert problems[2].reason == (
        f"uai {new_uai(440001)} is also site {lycee.id}: Lycée Clemenceau in Nantes (44109); "
        "this row (line 2) is Lycée Aristide Briand in Saint-Nazaire (44184): check the UAI"
    )
    assert f"{new_uai(350001)} is a UAI of département 35" in problems[3].reason
    assert [(s.name, s.commune_insee) for s in stored(engine)] == [("Lycée Clemenceau", "44109")]


def test_the_row_bringing_a_conflict_is_rejected_not_the_earlier_one(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    mairie = ["Mairie de Nantes", "mairie", "", SIRET, "44109", "47,218", "-1,554", "", ""]
    small_import(engine, settings, small_file(tmp_path, [mairie], "first.csv"))
    college = ["Collège Jules Verne", "collège", new_uai(440002), "", "44109"]
    rows = [
        [*college, "47,2", "-1,55", "", ""],
        # The collège's UAI with the town hall's SIRET, and no point: it brings the conflict.
        [*college[:3], SIRET, "44109", "", "", "", ""],
    ]
    report = small_import(engine, settings, small_file(tmp_path, rows))
    assert [r.line for r in report.rejected] == [3]
    assert "names two different sites" in report.rejected[0].reason
    assert (report.created, report.updated, report.merged) == (1, 0, [])
    assert report.placed_at_commune == []
    assert sorted((s.name, s.uai, s.siret) for s in stored(engine)) == [
        ("Collège Jules Verne", new_uai(440002), None),
        ("Mairie de Nantes", None, SIRET),
    ]


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--departement", "99", "'99' is not a département of the communes reference"),
        ("--commune", "4410", "an INSEE commune code is 5 characters"),
        ("--commune", "35238", "'35238' is not a commune of the communes reference"),
    ],
)
def test_list_refuses_a_place_no_site_can_be_in(
    *,
    engine: Engine,
    settings: Settings,
    runner: CliRunner,
    tmp_path: Path,
    option: str,
    value: str,
    reason: str,
) -> None:
    small_import(engine, settings, small_file(tmp_path, [LYCEE]))
    result = gigalis(runner, "sites-needs", "list", option, value)
    assert result.exit_code == 1, result.output
    assert option in result.stderr
    assert reason in result.stderr
    assert "Lycée" not in result.stdout


def test_show_names_the_nearest_pop_and_cable_by_code(
    engine: Engine, network: None, runner: CliRunner, tmp_path: Path
) -> None:
    imported = gigalis(
        runner, "sites-needs", "import", small_file(tmp_path, [LYCEE]), *SMALL_OPTIONS
    )
    assert imported.exit_code == 0, imported.output
    (site,) = stored(engine)
    with session_scope(engine, read_only=True) as session:
        pop = session.get(Site, site.nearest_pop_id)
        cable = session.get(FibreCable, site.nearest_cable_id)
        assert pop is not None
        assert cable is not None
        codes = (pop.code, cable.code)
    assert codes[0] != str(site.nearest_pop_id)

    shown = gigalis(runner, "sites-needs", "show", new_uai(440001))
    assert shown.exit_code == 0, shown.output
    assert re.search(rf"nearest_pop\W+{re.escape(codes[0])}\W", shown.stdout), shown.stdout
    assert re.search(rf"nearest_cable\W+{re.escape(codes[1])}\W", shown.stdout), shown.stdout
    assert "nearest_pop_id" not in shown.stdout
    as_json = json.loads(gigalis(runner, "sites-needs", "show", "1", "--format", "json").stdout)
    assert (as_json["nearest_pop"], as_json["nearest_cable"]) == codes
    assert as_json["nearest_pop_id"] == site.nearest_pop_id


def test_the_import_help_mentions_the_cp1252_fallback(runner: CliRunner) -> None:
    result = gigalis(runner, "sites-needs", "import", "--help")
    assert "cp1252" in result.stdout


# Only a SQLite database is a file that --rejects could name.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_rejects_may_not_name_the_sqlite_database(
    engine: Engine, runner: CliRunner, tmp_path: Path
) -> None:
    assert engine.url.database
    database_file = Path(engine.url.database)
    size = database_file.stat().st_size
    path = small_file(tmp_path, [LYCEE, UNREADABLE])
    options = (*SMALL_OPTIONS, "--rejects", database_file)
    result = gigalis(runner, "sites-needs", "import", path, *options)
    assert result.exit_code == NOTHING_WRITTEN, result.output
    assert "is the SQLite database" in result.stderr
    assert database_file.stat().st_size == size
    assert stored(engine) == []
