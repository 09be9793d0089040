"""`gigalis inventory load`: validate whole, diff, apply in one transaction — on both databases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import session_scope
from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Organisation

SMALL_NETWORK = Path(__file__).resolve().parents[1] / "data" / "small-network"
TABLES = (
    "organisation", "site", "device", "interface", "fibre_cable", "fibre_strand",
    "backbone_link", "circuit", "strand_holding", "vlan_holding", "bandwidth_holding",
    "audit_entry",
)  # fmt: skip


@pytest.fixture
def network(tmp_path: Path) -> Path:
    folder = tmp_path / "network"
    shutil.copytree(SMALL_NETWORK, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    file = folder / "network.yaml"
    text = file.read_text()
    assert old in text, f"test setup: {old!r} not in the sample"
    file.write_text(text.replace(old, new, 1))


def snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in TABLES
        }


def held_mbps(engine: Engine, code: str) -> int:
    with engine.connect() as connection:
        query = sa.text("SELECT held_mbps FROM backbone_link WHERE code = :code")
        return connection.execute(query, {"code": code}).scalar_one()


def test_first_load_creates_everything_and_second_changes_nothing(engine: Engine, network: Path):
    first = load_inventory(engine, network, actor="test")
    assert first.applied
    counts = first.plan.counts()
    assert counts["sites"]["create"] == 3
    assert counts["interfaces"]["create"] == 9
    assert counts["circuits"]["create"] == 2

    rows = snapshot(engine)
    assert rows["fibre_strand"] == 24 + 12 + 48
    assert rows["strand_holding"] == 3 * 2 + 2  # two per link, two for the dark fibre
    assert rows["vlan_holding"] == 2
    assert held_mbps(engine, "BL-NTE1-ANC1") == 1000

    second = load_inventory(engine, network, actor="test")
    assert second.plan.is_empty
    assert not second.applied
    assert snapshot(engine) == rows


def test_dry_run_shows_the_plan_and_writes_nothing(engine: Engine, network: Path):
    result = load_inventory(engine, network, actor="test", dry_run=True)
    assert len(result.plan.changes) == 26
    assert not result.applied
    assert set(snapshot(engine).values()) == {0}


def test_unknown_site_names_file_line_and_field_and_writes_nothing(engine: Engine, network: Path):
    load_inventory(engine, network, actor="test")
    before = snapshot(engine)
    edit(network, "z_site: ANC1, length_m: 40200", "z_site: XYZ9, length_m: 40200")

    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")

    problem = raised.value.problems[0]
    assert problem.location == "network.yaml:47"
    assert problem.field == "z_site"
    assert "unknown site 'XYZ9'" in problem.reason
    assert snapshot(engine) == before


def test_every_problem_is_reported_at_once(engine: Engine, network: Path):
    edit(network, "latitude: 47.3665", "latitude: 147.3665")
    edit(network, "kind: operator\n    arcep_code: ALPH", "kind: operator\n    arcep: ALPH")
    edit(network, "capacity_mbps: 10000", "capacity_mbps: ten")

    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")

    found = {(p.field, p.location) for p in raised.value.problems}
    assert ("latitude", "network.yaml:16") in found
    assert ("arcep", "network.yaml:8") in found
    assert ("capacity_mbps", "network.yaml:55") in found
    assert snapshot(engine)["site"] == 0


def test_malformed_yaml_gives_the_line(engine: Engine, network: Path):
    (network / "broken.yaml").write_text("sites:\n  - code: AAA\n   name: x\n")
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    assert raised.value.problems[0].location == "broken.yaml:3"


def test_object_defined_twice_is_refused(engine: Engine, network: Path):
    (network / "more.yaml").write_text(
        "sites:\n  - {code: NTE1, name: x, kind: pop, insee_code: '44109', latitude: 47,"
        " longitude: -1}\n"
    )
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    problem = raised.value.problems[0]
    assert (problem.field, problem.location) == ("code", "network.yaml:15")
    assert problem.reason == "site NTE1 is also defined at more.yaml:2"


def test_a_management_address_given_twice_is_refused(engine: Engine, network: Path):
    edit(
        network,
        "  - hostname: anc1-cr1\n    site: ANC1\n",
        "  - hostname: anc1-cr1\n    site: ANC1\n    management_address: 198.51.100.11\n",
    )
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    problem = raised.value.problems[0]
    assert problem.field == "management_address"
    assert problem.reason == "nte1-cr1 already has 198.51.100.11"


def test_vlan_held_twice_in_the_files_is_refused(engine: Engine, network: Path):
    edit(network, "a: {site: NTE1}\n", "a: {site: NTE1, interface: nte1-cr1:eth10, vlan: 101}\n")
    edit(
        network, "service_type: dark_fibre", "service_type: ethernet_eline\n    bandwidth_mbps: 10"
    )
    edit(network, "strands: [{cable: C-NTE1-ANG1, strands: [3, 4]}]", "path: [BL-NTE1-ANG1]")

    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")

    problem = next(p for p in raised.value.problems if p.field == "a.vlan")
    assert "VLAN 101 on nte1-cr1:eth10 is also held by" in problem.reason


def test_bandwidth_beyond_capacity_in_the_files_is_refused(engine: Engine, network: Path):
    edit(network, "bandwidth_mbps: 1000", "bandwidth_mbps: 20000")
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    reasons = [p.reason for p in raised.value.problems]
    assert any("more than its capacity" in reason for reason in reasons)


def test_strand_held_by_a_link_and_a_circuit_is_refused(engine: Engine, network: Path):
    edit(network, "strands: [{cable: C-NTE1-ANG1, strands: [3, 4]}]",
         "strands: [{cable: C-NTE1-ANG1, strands: [2, 3]}]")  # fmt: skip
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    assert "strand 2 of C-NTE1-ANG1 is also held by link BL-NTE1-ANG1" in str(raised.value)


def test_faulty_strand_cannot_be_held(engine: Engine, network: Path):
    edit(network, "faulty_strands: [7]", "faulty_strands: [2]")
    with pytest.raises(InvalidInput, match="strand 2 of C-NTE1-ANC1 is faulty"):
        load_inventory(engine, network, actor="test")


def test_broken_circuit_path_is_refused(engine: Engine, network: Path):
    edit(network, "path: [BL-NTE1-ANC1, BL-ANC1-ANG1]", "path: [BL-ANC1-ANG1]")
    with pytest.raises(InvalidInput, match="the route is broken at NTE1"):
        load_inventory(engine, network, actor="test")


def test_changes_are_applied_and_audited(engine: Engine, network: Path):
    load_inventory(engine, network, actor="first")
    edit(network, "length_m: 58100", "length_m: 58900")
    edit(network, "bandwidth_mbps: 1000", "bandwidth_mbps: 2000")
    edit(network, "faulty_strands: [7]", "faulty_strands: [7, 8]")

    result = load_inventory(engine, network, actor="second")

    updates = {(c.kind, c.key): c.changed_fields for c in result.plan.changes}
    assert updates == {
        ("cables", "C-NTE1-ANC1"): ["faulty_strands"],
        ("cables", "C-ANC1-ANG1"): ["length_m"],
        ("circuits", "GIG-ETH-000001"): ["bandwidth_mbps"],
    }
    assert held_mbps(engine, "BL-ANC1-ANG1") == 2000
    with engine.connect() as connection:
        faulty = connection.execute(
            sa.text("SELECT count(*) FROM fibre_strand WHERE state = 'faulty'")
        ).scalar_one()
        audit = connection.execute(
            sa.text("SELECT actor, action, before, after FROM audit_entry WHERE actor = 'second'")
        ).all()
    assert faulty == 2
    assert len(audit) == 3
    cable_change = next(row for row in audit if "length_m" in str(row.after))
    assert "58100" in str(cable_change.before)
    assert "58900" in str(cable_change.after)


def test_removed_objects_are_deleted_and_release_their_holdings(engine: Engine, network: Path):
    load_inventory(engine, network, actor="test")
    text = (network / "network.yaml").read_text()
    cut = text.index("  - ref: GIG-ETH-000001")
    end = text.index("  - ref: GIG-DF-000001")
    (network / "network.yaml").write_text(text[:cut] + text[end:])

    result = load_inventory(engine, network, actor="test")

    assert [(c.kind, c.action) for c in result.plan.changes] == [("circuits", "delete")]
    assert held_mbps(engine, "BL-NTE1-ANC1") == 0
    assert snapshot(engine)["vlan_holding"] == 0


def test_database_refusal_leaves_everything_as_it_was(engine: Engine, network: Path, tmp_path):
    load_inventory(engine, network, actor="test")
    before = snapshot(engine)
    only_cables = tmp_path / "only-cables"
    only_cables.mkdir()
    text = (network / "network.yaml").read_text()
    cables = text[text.index("cables:") : text.index("links:")]
    # Shrinking a cable below the strands a link holds: the links are not in these files, so
    # only the database knows, and it refuses to drop held strands.
    shrunk = cables.replace("fibre_count: 24", "fibre_count: 1").replace(
        ", faulty_strands: [7]", ""
    )
    (only_cables / "cables.yaml").write_text(shrunk)

    with pytest.raises(Conflict, match="nothing was written"):
        load_inventory(engine, only_cables, actor="test")
    assert snapshot(engine) == before


def test_references_to_kinds_absent_from_the_files_use_the_database(
    engine: Engine, network: Path, tmp_path: Path
):
    load_inventory(engine, network, actor="test")
    circuits_only = tmp_path / "circuits-only"
    circuits_only.mkdir()
    (circuits_only / "circuits.yaml").write_text(
        "circuits:\n"
        "  - ref: GIG-ETH-000009\n"
        "    operator: Opérateur Beta\n"
        "    service_type: ethernet_eline\n"
        "    a: {site: NTE1, interface: nte1-cr1:eth10, vlan: 300}\n"
        "    z: {site: ANG1, interface: ang1-cr1:eth10, vlan: 300}\n"
        "    bandwidth_mbps: 500\n"
        "    path: [BL-NTE1-ANG1]\n"
    )
    result = load_inventory(engine, circuits_only, actor="test")
    # The file lists circuits, so the two loaded earlier are deleted and the new one created.
    actions = sorted((c.key, c.action) for c in result.plan.changes)
    assert actions == [
        ("GIG-DF-000001", "delete"),
        ("GIG-ETH-000001", "delete"),
        ("GIG-ETH-000009", "create"),
    ]
    assert held_mbps(engine, "BL-NTE1-ANG1") == 500


def test_service_shape_follows_the_rules_the_api_applies(engine: Engine, network: Path):
    edit(network, "service_type: dark_fibre", "service_type: dark_fibre\n    bandwidth_mbps: 10")
    with pytest.raises(InvalidInput, match="dark fibre has no bandwidth"):
        load_inventory(engine, network, actor="test")


def test_invalid_date_and_nul_character_give_the_line(engine: Engine, network: Path):
    edit(network, "iru_end_date: 2038-06-30", "iru_end_date: 2038-02-30")
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, network, actor="test")
    assert raised.value.problems[0].location == "network.yaml:49"
    assert "2038-02-30" in raised.value.problems[0].reason

    edit(network, "iru_end_date: 2038-02-30", "iru_end_date: 2038-06-30")
    edit(network, "name: Nantes,", 'name: "Nan\\0tes",')
    with pytest.raises(InvalidInput, match="NUL"):
        load_inventory(engine, network, actor="test")


def test_deleting_what_the_database_still_uses_is_named_before_writing(
    engine: Engine, network: Path, tmp_path: Path
):
    load_inventory(engine, network, actor="test")
    before = snapshot(engine)
    only_sites = tmp_path / "only-sites"
    only_sites.mkdir()
    (only_sites / "sites.yaml").write_text(
        "sites:\n"
        "  - {code: NTE1, name: Nantes, kind: pop, insee_code: '44109',"
        " latitude: 47.23823, longitude: -1.56033}\n"
        "  - {code: ANG1, name: Angers, kind: pop, insee_code: '49007',"
        " latitude: 47.4819, longitude: -0.56293}\n"
    )
    with pytest.raises(InvalidInput) as raised:
        load_inventory(engine, only_sites, actor="test", dry_run=True)
    reasons = [p.reason for p in raised.value.problems]
    assert (
        "site ANC1 is no longer in the files, but device anc1-cr1, which the files do not"
        " describe, still uses it" in reasons
    )
    assert snapshot(engine) == before


def test_a_vlan_holding_released_behind_the_files_back_is_restored(engine: Engine, network: Path):
    load_inventory(engine, network, actor="test")
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM vlan_holding WHERE vlan = 101"))

    result = load_inventory(engine, network, actor="test")

    assert [(c.key, c.changed_fields) for c in result.plan.changes] == [
        ("GIG-ETH-000001", ["held_vlans"])
    ]
    assert snapshot(engine)["vlan_holding"] == 2


def test_an_organisation_with_tokens_is_not_deleted_by_a_load(engine: Engine, network: Path):
    load_inventory(engine, network, actor="test")
    with session_scope(engine) as session:
        beta = session.scalar(sa.select(Organisation).where(Organisation.name == "Opérateur Beta"))
        assert beta is not None
        create_token(session, name="beta", role=Role.OPERATOR, organisation_id=beta.id,
                     secret_key="k" * 40)  # fmt: skip
    text = (network / "network.yaml").read_text()
    text = text.replace("  - name: Opérateur Beta\n    kind: operator\n", "")
    (network / "network.yaml").write_text(text[: text.index("  - ref: GIG-DF-000001")])

    with pytest.raises(InvalidInput, match="Opérateur Beta is no longer in the files, but 1 API"):
        load_inventory(engine, network, actor="test", dry_run=True)


def test_a_customer_vlan_on_a_backbone_port_is_refused(engine: Engine, network: Path):
    edit(network, "interface: nte1-cr1:eth10, vlan: 101", "interface: nte1-cr1:eth1, vlan: 101")
    with pytest.raises(InvalidInput, match="nte1-cr1:eth1 ends backbone link BL-NTE1-ANC1"):
        load_inventory(engine, network, actor="test")
