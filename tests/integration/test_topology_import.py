"""Writing published topologies into a database of their own, on SQLite and PostgreSQL, and
the `gigalis inventory import-topology` command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gigalis_nms.audit import AuditEntry
from gigalis_nms.cli import app
from gigalis_nms.db import make_engine
from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory.enums import CableOwnership, OrganisationKind, SiteKind
from gigalis_nms.inventory.models import FibreCable, FibreStrand, Organisation, Site
from gigalis_nms.inventory.topology import (
    TOPOLOGY_INSEE_PLACEHOLDER,
    ImportReport,
    RowCounts,
    import_topology,
    import_topology_file,
    parse_topology,
)
from gigalis_nms.settings import Settings, get_settings
from tests.conftest import need

ZOO = Path(__file__).resolve().parents[3] / "shared" / "data" / "topology-zoo"
ZOO_FILES = ("Renater2010", "Geant2012", "Surfnet", "Uninett2011", "Cogentco", "Kdl")


def zoo_file(name: str) -> Path:
    need(ZOO.is_dir(), f"Topology Zoo files not found at {ZOO}")
    return ZOO / f"{name}.graphml"


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def import_file(engine: Engine, name: str, detour_factor: float = 1.0) -> ImportReport:
    return import_topology(engine, parse_topology(zoo_file(name)), detour_factor=detour_factor)


def cable_between(session: Session, a_code: str, z_code: str) -> FibreCable:
    ends = {
        site.id: site.code
        for site in session.exec(select(Site).where(col(Site.code).in_([a_code, z_code])))
    }
    assert len(ends) == 2, f"{a_code} or {z_code} missing"
    return session.exec(
        select(FibreCable).where(
            col(FibreCable.a_site_id).in_(list(ends)), col(FibreCable.z_site_id).in_(list(ends))
        )
    ).one()


def test_renater_becomes_sites_and_cables(engine: Engine) -> None:
    report = import_file(engine, "Renater2010")

    assert report.network == "Renater"
    assert report.sites == RowCounts(created=37)
    assert report.cables == RowCounts(created=48)
    assert report.strands_created == 48 * 48
    assert len(report.skipped) == 14
    assert {speed.speed_mbps for speed in report.speeds} == {155.0}
    assert (count(engine, Site), count(engine, FibreCable)) == (37, 48)
    assert count(engine, FibreStrand) == 48 * 48

    with Session(engine) as session:
        sites = {site.code: site for site in session.exec(select(Site))}
        assert {"NANTES", "ANGERS", "LE-MANS"} <= set(sites)
        nantes = sites["NANTES"]
        assert (nantes.kind, nantes.insee_code) == (SiteKind.POP, TOPOLOGY_INSEE_PLACEHOLDER)
        assert 47.0 < nantes.latitude < 47.4
        assert nantes.address == "France"

        owner = session.exec(select(Organisation)).one()
        assert (owner.name, owner.kind) == ("Renater", OrganisationKind.FIBRE_OWNER)
        cable = cable_between(session, "NANTES", "ANGERS")
        assert cable.code == "RENATER-ANGERS-NANTES-1"
        assert 78_000 <= cable.length_m <= 83_000  # crow-flies Nantes–Angers is about 80 km
        assert (cable.owner_id, cable.ownership) == (owner.id, CableOwnership.OWN)
        assert cable.route is not None
        assert len(cable.route) == 2

        strands = session.exec(
            select(FibreStrand)
            .where(FibreStrand.cable_id == cable.id)
            .order_by(col(FibreStrand.number))
        ).all()
        assert [strand.number for strand in strands] == list(range(1, 49))
        assert (strands[12].tube, strands[12].colour) == (2, "rouge")
        assert (strands[47].tube, strands[47].colour) == (4, "rose")

        created = session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor == "topology-import", AuditEntry.action == "create")
        ).one()
        assert created == 1 + 37 + 48  # the owner, the sites and the cables


def test_a_second_import_changes_nothing(engine: Engine) -> None:
    import_file(engine, "Renater2010")
    audit_entries = count(engine, AuditEntry)

    again = import_file(engine, "Renater2010")

    assert not again.changed
    assert again.sites == RowCounts(unchanged=37)
    assert again.cables == RowCounts(unchanged=48)
    assert again.strands_created == 0
    assert (count(engine, Site), count(engine, FibreCable)) == (37, 48)
    assert count(engine, FibreStrand) == 48 * 48
    assert count(engine, AuditEntry) == audit_entries


def test_a_new_import_puts_back_what_the_file_says(engine: Engine) -> None:
    import_file(engine, "Renater2010")
    with Session(engine) as session:
        nantes = session.exec(select(Site).where(Site.code == "NANTES")).one()
        nantes.name = "Nantes (renamed by hand)"
        session.add(nantes)
        session.commit()

    again = import_file(engine, "Renater2010", detour_factor=1.3)

    assert again.sites == RowCounts(updated=1, unchanged=36)
    assert again.cables == RowCounts(updated=48)
    with Session(engine) as session:
        assert session.exec(select(Site.name).where(Site.code == "NANTES")).one() == "Nantes"
        cable = cable_between(session, "NANTES", "ANGERS")
        assert 102_000 <= cable.length_m <= 108_000


def test_bad_input_writes_nothing(engine: Engine, database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken.graphml"
    bad.write_text("<graphml><graph><node id='n0'>", encoding="utf-8")
    current = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/main.sqlite3")

    with pytest.raises(InvalidInput, match="malformed XML"):
        import_topology_file(bad, current, database_url=database_url)

    assert (count(engine, Site), count(engine, FibreCable), count(engine, AuditEntry)) == (0, 0, 0)


def test_a_second_network_is_refused_and_leaves_the_first_alone(engine: Engine) -> None:
    import_file(engine, "Renater2010")

    with pytest.raises(Conflict, match="already holds the cables of Renater"):
        import_file(engine, "Geant2012")

    assert (count(engine, Site), count(engine, FibreCable)) == (37, 48)


def test_a_large_network_with_hyperedges_and_parallel_links(engine: Engine) -> None:
    report = import_file(engine, "Cogentco")

    assert report.sites == RowCounts(created=186)
    # 248 links, less those longer than a cable may be (the oceans Cogent crosses).
    too_long = [item for item in report.skipped if item.item.startswith("cable ")]
    assert report.cables == RowCounts(created=248 - len(too_long))
    assert len(too_long) == 15
    assert count(engine, FibreStrand) == report.cables.created * 48
    with Session(engine) as session:
        codes = set(session.exec(select(FibreCable.code)))
    assert {"COGENT-CHARLOTTE-GREENSBORO-1", "COGENT-CHARLOTTE-WASHINGTON-1"} <= codes
    assert {"COGENT-JACKSON-NEW-ORLEANS-1", "COGENT-JACKSON-NEW-ORLEANS-2"} <= codes


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GIGALIS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GIGALIS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def summary_counts(output: str, kind: str) -> tuple[int, int, int]:
    match = re.search(rf"{kind}\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", output)
    assert match, output
    created, updated, unchanged = (int(number) for number in match.groups())
    return created, updated, unchanged


def test_command_imports_each_shared_file_into_its_own_database(data_dir: Path) -> None:
    runner = CliRunner()
    for name in ZOO_FILES:
        result = runner.invoke(app, ["inventory", "import-topology", str(zoo_file(name))])

        assert result.exit_code == 0, result.output
        target = data_dir / "topologies" / f"{name.lower()}.sqlite3"
        assert target.is_file()
        assert str(target) in result.output.replace("\n", "")
        sites, _, _ = summary_counts(result.output, "sites")
        cables, _, _ = summary_counts(result.output, "cables")
        engine = make_engine(f"sqlite:///{target}")
        assert (count(engine, Site), count(engine, FibreCable)) == (sites, cables)
        engine.dispose()
        assert sites > 0
        assert cables > 0
        if name != "Surfnet":  # the only file where every node and link is usable
            assert "Skipped" in result.output
    assert not (data_dir / "gigalis.sqlite3").exists()

    again = runner.invoke(app, ["inventory", "import-topology", str(zoo_file("Renater2010"))])
    assert again.exit_code == 0, again.output
    assert summary_counts(again.output, "sites") == (0, 0, 37)
    assert "Nothing changed" in again.output


def test_command_refuses_the_gigalis_database(data_dir: Path) -> None:
    main = f"sqlite:///{data_dir / 'gigalis.sqlite3'}"

    result = CliRunner().invoke(
        app,
        ["inventory", "import-topology", str(zoo_file("Renater2010")), "--database-url", main],
    )

    assert result.exit_code == 1
    assert "is the Gigalis database" in result.output
    assert not (data_dir / "gigalis.sqlite3").exists()
