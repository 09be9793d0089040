"""How imported rows name the same site — by UAI, FINESS or SIRET, or by name and commune
without case or accents when they carry none — and what merging one into another keeps."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gigalis_nms.inventory.validators import luhn_valid
from gigalis_nms.resource_centre.communes import Commune
from gigalis_nms.resource_centre.csv_source import Record
from gigalis_nms.resource_centre.identifiers import uai_key
from gigalis_nms.resource_centre.importer import (
    Merge,
    MergeConflict,
    Rejection,
    RowContext,
    RowRejected,
    SiteRow,
    keys_of,
    merge_rows,
    merged_changes,
    read_row,
)
from gigalis_nms.resource_centre.mapping import build_mapping
from gigalis_nms.resource_centre.models import LocatedBy, SiteNeed

COMMUNES = {
    "44109": Commune("44109", "44", "Nantes", "44000", 47.2316, -1.5484, 65.2, 320000, 170000),
    "49007": Commune("49007", "49", "Angers", "49000", 47.4784, -0.5632, 42.7, 155000, 85000),
    "44184": Commune("44184", "44", "Saint-Nazaire", "44600", 47.2802, -2.2544, 46.8, 72000, 36000),
}
COLUMNS = ["name", "uai", "finess", "siret", "commune", "lat", "lon", "status", "address"]
CONTEXT = RowContext(
    build_mapping(
        None,
        columns={target: target for target in COLUMNS},
        constants={"category": "school"},
    ),
    {column: index for index, column in enumerate(COLUMNS)},
    len(COLUMNS),
    COMMUNES,
    "test",
)
SIRET = "73282932000074"
FINESS = "440000289"


def uai(number: int) -> str:
    seven = f"{number:07d}"
    return seven + uai_key(seven)


def site_row(line: int, **cells: str) -> SiteRow:
    values = {"name": "Collège Jules Verne", "commune": "44109", "lat": "47,2", "lon": "-1,55"}
    values.update(cells)
    return read_row(Record(line, [values.get(column, "") for column in COLUMNS]), CONTEXT)


def merged(rows: list[SiteRow]) -> tuple[list[SiteRow], list[Merge], list[Rejection]]:
    plan = merge_rows(rows, COMMUNES)
    return plan.kept, plan.merges, plan.rejections


def test_identifiers_name_a_site_else_its_name_and_commune() -> None:
    assert keys_of({"uai": uai(440001), "siret": SIRET, "name": "X"}) == [
        ("uai", uai(440001)),
        ("siret", SIRET),
    ]
    assert keys_of({"name": "Mairie d'Évron", "commune_insee": "53097"}) == keys_of(
        {"name": "MAIRIE D EVRON", "commune_insee": "53097"}
    )
    assert keys_of({"name": "Mairie", "commune_insee": "53097"}) != keys_of(
        {"name": "Mairie", "commune_insee": "44109"}
    )


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        ({"uai": uai(440001)}, {"uai": uai(440001).lower(), "address": "1 rue"}, "uai"),
        ({"finess": FINESS}, {"finess": FINESS, "address": "1 rue"}, "finess"),
        ({"siret": SIRET}, {"siret": "732 829 320 00074", "address": "1 rue"}, "siret"),
        (
            {"name": "Collège Jules-Verne"},
            {"name": "college jules verne", "address": "1 rue"},
            "name",
        ),
    ],
)
def test_rows_naming_the_same_site_merge_into_the_first(
    first: dict[str, str], second: dict[str, str], key: str
) -> None:
    rows = [
        site_row(2, **first),
        site_row(3, name="Other", uai=uai(440002)),
        site_row(4, **second),
    ]
    kept, merges, rejections = merged(rows)
    assert not rejections
    assert len(kept) == 2
    assert [(m.line, m.into_line) for m in merges] == [(4, 2)]
    assert merges[0].key.startswith(key)
    assert kept[0].lines == [2, 4]
    assert kept[0].full["address"] == "1 rue"  # the later row's non-empty value


def test_a_row_without_identifiers_merges_into_a_row_with_one_of_that_name() -> None:
    kept, merges, _ = merged([site_row(2, uai=uai(440001)), site_row(3, address="2 rue")])
    assert len(kept) == 1
    assert kept[0].full["uai"] == uai(440001)
    assert [(m.line, m.into_line, m.key) for m in merges] == [(3, 2, "name and commune")]


def test_a_row_naming_two_sites_is_rejected_naming_both() -> None:
    rows = [
        site_row(2, name="A", uai=uai(440001)),
        site_row(3, name="B", siret=SIRET),
        site_row(4, name="C", uai=uai(440001), siret=SIRET),
    ]
    kept, merges, rejections = merged(rows)
    assert len(kept) == 2
    assert not merges
    assert [r.line for r in rejections] == [4]
    reason = rejections[0].problems[0].reason
    assert f"uai {uai(440001)} is the row of line 2" in reason
    assert f"siret {SIRET} is the row of line 3" in reason


def test_an_identifier_that_differs_is_a_conflict_not_an_overwrite() -> None:
    rows = [site_row(2, uai=uai(440001), siret=SIRET), site_row(3, uai=uai(440001), siret="")]
    assert len(merged(rows)[0]) == 1
    rows = [site_row(2, uai=uai(440001), finess=FINESS), site_row(3, uai=uai(440001))]
    rows.append(site_row(4, uai=uai(440001), finess=finess("44", serial="000015")))
    _, merges, rejections = merged(rows)
    assert [m.line for m in merges] == [3]
    assert [r.line for r in rejections] == [4]
    problem = rejections[0].problems[0]
    assert (problem.column, problem.field) == ("finess", "finess")
    assert f"the row of line 2 has finess {FINESS}, this row {finess('44', serial='000015')}" in (
        problem.reason
    )


def test_a_status_never_moves_back_and_dates_must_follow_it() -> None:
    current = {"status": "planned", "planned_on": date(2025, 3, 1), "located_by": "source"}
    assert merged_changes(current, {"status": "studied", "notes": "x"}, "site 1") == {"notes": "x"}
    assert merged_changes(current, {"status": "connected"}, "site 1") == {"status": "connected"}
    with pytest.raises(MergeConflict) as conflict:
        merged_changes(current, {"studied_on": date(2025, 4, 1)}, "site 1 (Mairie)")
    assert conflict.value.field == "studied_on"
    assert "merged with site 1 (Mairie)" in conflict.value.reason


def test_a_communes_centre_never_replaces_a_point_given() -> None:
    given = {"latitude": 47.2, "longitude": -1.55, "located_by": LocatedBy.SOURCE}
    centre = {"latitude": 47.23, "longitude": -1.54, "located_by": LocatedBy.COMMUNE}
    assert merged_changes(given, {**centre, "address": "1 rue"}, "x") == {"address": "1 rue"}
    assert merged_changes(centre, given, "x") == given

    kept, _, _ = merged(
        [site_row(2, uai=uai(440001)), site_row(3, uai=uai(440001), lat="", lon="")]
    )
    assert kept[0].full["located_by"] == LocatedBy.SOURCE
    assert kept[0].full["latitude"] == 47.2


def finess(departement: str, serial: str = "000028") -> str:
    """A FINESS number of ``departement`` whose Luhn key holds."""
    return next(number for key in range(10) if luhn_valid(number := f"{departement}{serial}{key}"))


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ({"uai": uai(350001)}, "uai", f"{uai(350001)} is a UAI of département 35"),
        ({"uai": uai(490001)}, "uai", "commune 44109 (Nantes) is in département 44"),
        ({"finess": finess("35")}, "finess", f"{finess('35')} is a FINESS of département 35"),
        ({"uai": uai(440001), "commune": "49007"}, "uai", "check the UAI"),
    ],
)
def test_an_identifier_of_another_departement_is_rejected(
    cells: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(RowRejected) as refused:
        site_row(2, **cells)
    problem = refused.value.problems[0]
    assert (problem.column, problem.field) == (field, field)
    assert reason in problem.reason


def test_an_identifier_shared_by_rows_in_two_communes_is_rejected_not_merged() -> None:
    nazaire = {"commune": "44184", "lat": "47,28", "lon": "-2,25"}
    rows = [
        site_row(2, name="Collège Jules Verne", uai=uai(440001)),
        site_row(3, name="Collège Aristide Briand", uai=uai(440001), **nazaire),
    ]
    kept, merges, rejections = merged(rows)
    assert [row.line for row in kept] == [2]
    assert kept[0].full["name"] == "Collège Jules Verne"
    assert not merges
    assert [r.line for r in rejections] == [3]
    problem = rejections[0].problems[0]
    assert (problem.column, problem.field) == ("uai", "uai")
    assert problem.reason == (
        f"uai {uai(440001)} is also line 2: Collège Jules Verne in Nantes (44109); this row "
        "(line 3) is Collège Aristide Briand in Saint-Nazaire (44184): check the UAI"
    )


def stored_site(site_id: int, **fields: Any) -> SiteNeed:
    values: dict[str, Any] = {
        "name": "Mairie de Nantes",
        "category": "town_hall",
        "commune_insee": "44109",
        "departement": "44",
        "latitude": 47.218,
        "longitude": -1.554,
        "located_by": LocatedBy.SOURCE,
        **fields,
    }
    return SiteNeed(id=site_id, **values)


def test_an_identifier_shared_with_a_stored_site_in_another_commune_is_rejected() -> None:
    stored = [stored_site(4, name="Lycée Clemenceau", category="school", uai=uai(440001))]
    row = site_row(2, name="Lycée Aristide Briand", uai=uai(440001), commune="44184")
    plan = merge_rows([row], COMMUNES, stored)
    assert (plan.created, plan.updates) == ([], {})
    reason = plan.rejections[0].problems[0].reason
    assert f"uai {uai(440001)} is also site 4: Lycée Clemenceau in Nantes (44109)" in reason
    assert "this row (line 2) is Lycée Aristide Briand in Saint-Nazaire (44184)" in reason


def test_the_row_bringing_a_conflict_is_rejected_not_the_earlier_one() -> None:
    # Stored: a town hall with a SIRET and a UAI. Line 2 is a new collège; line 3 gives the
    # collège's UAI with the town hall's SIRET: line 3 brings the conflict.
    stored = [stored_site(7, siret=SIRET)]
    rows = [
        site_row(2, name="Collège Jules Verne", uai=uai(440001)),
        site_row(3, name="Collège Jules Verne", uai=uai(440001), siret=SIRET),
    ]
    plan = merge_rows(rows, COMMUNES, stored)
    assert [row.line for row in plan.kept] == [2]
    assert [r.line for r in plan.rejections] == [3]
    reason = plan.rejections[0].problems[0].reason
    assert f"uai {uai(440001)} is the row of line 2" in reason
    assert f"siret {SIRET} is site 7 (Mairie de Nantes)" in reason
    assert plan.updates == {}


def test_rows_naming_a_stored_site_update_it_once() -> None:
    stored = [stored_site(7, siret=SIRET)]
    rows = [
        site_row(2, name="Mairie de Nantes", siret=SIRET, address="2 rue de l'Hôtel de Ville"),
        site_row(3, name="Mairie de Nantes", siret=SIRET, status="studied"),
    ]
    plan = merge_rows(rows, COMMUNES, stored)
    assert (plan.kept, plan.rejections) == ([], [])
    assert [(m.line, m.into_line, m.key) for m in plan.merges] == [(3, 2, f"siret {SIRET}")]
    assert list(plan.updates) == [7]
    assert plan.updates[7]["address"] == "2 rue de l'Hôtel de Ville"  # line 2's
    assert plan.updates[7]["status"] == "studied"  # line 3's
