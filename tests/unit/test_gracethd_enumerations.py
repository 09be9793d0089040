"""The GraceTHD mapping: its lists are GraceTHD-MCD v2.0.1's, every value of ours maps to a
code of the right list, the columns it names exist, codes fit GraceTHD's sizes, CSV values
keep GraceTHD's conventions, and the checks catch what they are for."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime
from types import ModuleType

import pytest
import shapely

from gigalis_nms.inventory.enums import CableOwnership, LifecycleStatus, SiteKind
from gigalis_nms.resource_centre import exports, gracethd, layers
from gigalis_nms.resource_centre.gracethd import (
    ENUMERATED_COLUMNS,
    PHASES,
    PROPERTY_TYPES,
    REFERENCES,
    SITE_TYPES,
    csv_lines,
    csv_value,
    enumeration_problems,
    organisation_code,
    reference_problems,
)
from gigalis_nms.resource_centre.layers import Column, Feature, FieldKind, Layer

# The codes of GraceTHD-MCD v2.0.1's lists (db_shpcsv/l_*.csv), written out here so that a
# change to the module's copy shows.
GRACETHD_LISTS = {
    "l_statut": {"PRE", "DIA", "AVP", "PRO", "ACT", "EXE", "TVX", "REC", "MCO"},
    "l_avancement": {"E", "C", "T", "S", "H", "A"},
    "l_etat_type": {"HS", "ME", "OK", "NC"},
    "l_propriete_type": {"CST", "RAC", "CES", "IRU", "LOC", "OCC"},
    "l_site_type_phy": {"ADR", "BAT", "COF", "SHE"},
    "l_site_type_log": {
        *("NRA", "NRAHD", "NRAMED", "NRAZO", "SRP", "SRS", "SRT"),
        *("NRO", "SRO", "SROL", "BRASSAGE", "CLIENT", "HEBERG"),
    },
    "l_noeud_type": {"PT", "ST", "SF", "SE", "JX", "SH", "SC", "PC", "EC", "SP"},
    "l_technologie_type": {"CUT", "OPT", "COA", "ECL", "ELE", "VID", "RAD"},
    "l_cable_type": {"C", "B", "J"},
    "l_infra_type_log": {"CX", "CO", "CT", "CD", "TD", "TR", "DI", "RA", "BM", "LH", "NC"},
    "l_implantation_type": {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
    "l_infra_nature": {"ASS", "EAU", "ELE", "GAZ", "NC", "TEL", "HTZ"},
    "l_geoloc_classe": {"A", "AP", "B", "C"},
    "l_geoloc_mode": {"LTRO", "LVIS", "DETC", "FDPL", "CBDU", "CADA", "ORTO", "INDT"},
}
MODULE_LISTS = {
    "l_statut": gracethd.STATUT,
    "l_avancement": gracethd.AVANCEMENT,
    "l_etat_type": gracethd.ETAT,
    "l_propriete_type": gracethd.PROPRIETE,
    "l_site_type_phy": gracethd.SITE_TYPE_PHY,
    "l_site_type_log": gracethd.SITE_TYPE_LOG,
    "l_noeud_type": gracethd.NOEUD_TYPE,
    "l_technologie_type": gracethd.TECHNOLOGIE,
    "l_cable_type": gracethd.CABLE_TYPE,
    "l_infra_type_log": gracethd.INFRA_TYPE_LOG,
    "l_implantation_type": gracethd.IMPLANTATION,
    "l_infra_nature": gracethd.INFRA_NATURE,
    "l_geoloc_classe": gracethd.GEOLOC_CLASSE,
    "l_geoloc_mode": gracethd.GEOLOC_MODE,
}
TABLE_COLUMNS = {
    "t_organisme": gracethd.ORGANISME_COLUMNS,
    "t_noeud": gracethd.NOEUD_COLUMNS,
    "t_sitetech": gracethd.SITETECH_COLUMNS,
    "t_cheminement": gracethd.CHEMINEMENT_COLUMNS,
    "t_cable": gracethd.CABLE_COLUMNS,
    "t_cableline": gracethd.CABLELINE_COLUMNS,
}


@pytest.mark.parametrize("name", sorted(GRACETHD_LISTS))
def test_each_list_holds_gracethds_codes_once(name: str) -> None:
    codes = MODULE_LISTS[name]
    assert set(codes) == GRACETHD_LISTS[name]
    assert len(codes) == len(set(codes))


def test_the_status_list_is_in_gracethds_order() -> None:
    assert gracethd.STATUT == ("PRE", "DIA", "AVP", "PRO", "ACT", "EXE", "TVX", "REC", "MCO")


@pytest.mark.parametrize("status", list(LifecycleStatus))
def test_every_lifecycle_status_maps_into_the_lists(status: LifecycleStatus) -> None:
    phase = PHASES[status]
    assert phase.statut in GRACETHD_LISTS["l_statut"]
    assert phase.avancement in GRACETHD_LISTS["l_avancement"]
    assert phase.etat in GRACETHD_LISTS["l_etat_type"]


def test_the_lifecycle_keeps_its_order_and_its_meaning() -> None:
    order = gracethd.STATUT
    planned, active = PHASES[LifecycleStatus.PLANNED], PHASES[LifecycleStatus.ACTIVE]
    assert order.index(planned.statut) < order.index(active.statut)
    assert (planned.avancement, active.avancement) == ("C", "S")
    assert PHASES[LifecycleStatus.RETIRED].avancement == "A"  # abandoned
    assert PHASES[LifecycleStatus.DECOMMISSIONING].avancement not in {"S", "C"}
    assert len(set(PHASES.values())) == len(LifecycleStatus)


@pytest.mark.parametrize("ownership", list(CableOwnership))
def test_every_ownership_maps_to_a_property_type(ownership: CableOwnership) -> None:
    assert PROPERTY_TYPES[ownership] in GRACETHD_LISTS["l_propriete_type"]


def test_ownerships_stay_apart_and_iru_is_iru() -> None:
    assert len(set(PROPERTY_TYPES.values())) == len(CableOwnership)
    assert PROPERTY_TYPES[CableOwnership.IRU] == "IRU"


@pytest.mark.parametrize("kind", list(SiteKind))
def test_every_site_kind_maps_to_site_types(kind: SiteKind) -> None:
    assert SITE_TYPES[kind].physical in GRACETHD_LISTS["l_site_type_phy"]
    assert SITE_TYPES[kind].logical in GRACETHD_LISTS["l_site_type_log"]


def test_the_constant_codes_are_in_their_lists() -> None:
    assert gracethd.SITE_NODE_TYPE in GRACETHD_LISTS["l_noeud_type"]
    assert gracethd.OPTICAL in GRACETHD_LISTS["l_technologie_type"]
    assert gracethd.CABLE_PHYSICAL_TYPE in GRACETHD_LISTS["l_cable_type"]
    assert gracethd.BACKBONE_LOGICAL_TYPE in GRACETHD_LISTS["l_infra_type_log"]
    assert gracethd.OWN_IMPLANTATION in GRACETHD_LISTS["l_implantation_type"]
    assert gracethd.OWN_NATURE in GRACETHD_LISTS["l_infra_nature"]
    assert gracethd.PRECISION_CLASS in GRACETHD_LISTS["l_geoloc_classe"]
    assert gracethd.PLACEMENT_MODE in GRACETHD_LISTS["l_geoloc_mode"]


def test_listed_and_referring_columns_exist_in_their_tables() -> None:
    names = {table: {column.name for column in cols} for table, cols in TABLE_COLUMNS.items()}
    for table, listed in ENUMERATED_COLUMNS.items():
        assert set(listed) <= names[table], table
    for (table, column), (target, key) in REFERENCES.items():
        assert column in names[table], (table, column)
        assert key in names[target], (target, key)


def test_tables_keep_gracethds_identifier_columns_first() -> None:
    firsts = {table: cols[0].name for table, cols in TABLE_COLUMNS.items()}
    assert firsts == {
        "t_organisme": "or_code",
        "t_noeud": "nd_code",
        "t_sitetech": "st_code",
        "t_cheminement": "cm_code",
        "t_cable": "cb_code",
        "t_cableline": "cl_code",
    }
    for cols in TABLE_COLUMNS.values():
        assert len({column.name for column in cols}) == len(cols)


def test_organisation_codes_fit_twenty_characters_and_tell_names_apart() -> None:
    names = ["Département de la Mayenne", "Département de la Sarthe", "RTE", "SNCF Réseau"]
    codes = [organisation_code(name, None) for name in names]
    assert len(set(codes)) == len(names)
    assert all(len(code) <= 20 and code.isascii() for code in codes)
    assert codes == [organisation_code(name, None) for name in names]  # stable
    assert organisation_code("Gigalis", "589140649") == "OR-589140649"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (None, FieldKind.TEXT, ""),
        ("a;b\r\nc", FieldKind.TEXT, "a,b c"),
        (False, FieldKind.BOOLEAN, "0"),
        (date(2031, 6, 30), FieldKind.DATE, "2031-06-30"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), FieldKind.DATETIME, "2024-01-02 03:04:05"),
        (1234.5, FieldKind.REAL, "1234.50"),
        (144, FieldKind.INTEGER, "144"),
    ],
)
def test_csv_values_follow_gracethds_conventions(
    value: object, kind: FieldKind, expected: str
) -> None:
    assert csv_value(value, kind) == expected


def _table(name: str, rows: list[dict[str, object]], geometry: str | None = None) -> Layer:
    cols = tuple(Column(key) for key in rows[0])
    point = shapely.Point(-1.55, 47.22)
    features = [Feature(str(row[cols[0].name]), row, point if geometry else None) for row in rows]
    return Layer(name, geometry, cols, features)


def test_the_checks_find_a_value_off_its_list_and_a_dangling_reference() -> None:
    nodes = _table("t_noeud", [{"nd_code": "ND-A", "nd_type": "ST"}], "Point")
    cables = _table(
        "t_cable",
        [
            {"cb_code": "CB-1", "cb_nd1": "ND-A", "cb_nd2": "ND-A", "cb_statut": "REC"},
            {"cb_code": "CB-2", "cb_nd1": "ND-A", "cb_nd2": "ND-B", "cb_statut": "LIVE"},
        ],
    )

    assert enumeration_problems([nodes, cables]) == ["t_cable.cb_statut of CB-2: 'LIVE'"]
    assert reference_problems([nodes, cables]) == ["t_cable.cb_nd2 of CB-2: 'ND-B'"]
    assert enumeration_problems([nodes]) == reference_problems([nodes]) == []


def test_csv_lines_end_with_lambert93_wkt_for_a_table_with_geometry() -> None:
    nodes = _table("t_noeud", [{"nd_code": "ND-A", "nd_nom": "Nantes; centre"}], "Point")

    header, row = list(csv_lines(nodes))

    assert header == "nd_code;nd_nom;geom"
    code, name, wkt = row.split(";")
    assert (code, name) == ("ND-A", "Nantes, centre")
    point = shapely.from_wkt(wkt)
    assert isinstance(point, shapely.Point)
    # Nantes in Lambert-93
    assert 300_000 < point.x < 400_000
    assert 6_600_000 < point.y < 6_800_000


@pytest.mark.parametrize("module", [gracethd, layers, exports])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
    assert result.attempted > 0
