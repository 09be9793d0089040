"""/api/v1/site-needs on both databases: who may read and write, exact filters and pages,
PATCH of only what is sent with the dates checked against the status, the place checks,
the analysis recomputed when the point changes, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.db import session_scope
from gigalis_nms.resource_centre.identifiers import uai_key
from tests.integration.conftest import Api

BASE = "/api/v1/site-needs"
STAFF = ("admin", "noc", "viewer", "finance")
SIRET = "73282932000074"
FINESS = "440000289"


def uai(number: int) -> str:
    seven = f"{number:07d}"
    return seven + uai_key(seven)


def body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Collège Jules Verne",
        "category": "school",
        "uai": uai(440001),
        "postcode": "44000",
        "commune_insee": "44109",
        "latitude": 47.25,
        "longitude": -1.55,
        **fields,
    }


def create(api: Api, who: str = "noc", **fields: Any) -> dict[str, Any]:
    response = api.post(who, BASE, json=body(**fields))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problem(response: Any) -> tuple[str, str]:
    first = response.json()["error"]["problems"][0]
    return first["field"], first["reason"]


def audit_actions(engine: Engine, site_id: int) -> list[str]:
    with session_scope(engine, read_only=True) as session:
        query = (
            select(AuditEntry.action)
            .where(col(AuditEntry.entity) == "site_need", col(AuditEntry.entity_id) == site_id)
            .order_by(col(AuditEntry.id))
        )
        return list(session.exec(query).all())


def test_staff_read_admins_and_the_noc_write_operators_are_refused(api: Api) -> None:
    site = create(api, "noc")
    assert create(api, "admin", uai=uai(440002), name="Collège B")["id"] != site["id"]
    for who in ("viewer", "finance", "operator_a"):
        refused = api.post(who, BASE, json=body(uai=uai(440003)))
        assert refused.status_code == 403, who
        assert api.patch(who, f"{BASE}/{site['id']}", json={"notes": "x"}).status_code == 403
        assert api.delete(who, f"{BASE}/{site['id']}").status_code == 403
    for who in STAFF:
        assert api.get(who, BASE).json()["count"] == 2, who
        assert api.get(who, f"{BASE}/{site['id']}").json()["uai"] == uai(440001)
    for who in ("operator_a", "operator_b"):
        assert api.get(who, BASE).status_code == 403
        assert api.get(who, f"{BASE}/{site['id']}").status_code == 403
    assert api.get(None, BASE).status_code == 401


def test_a_new_site_is_placed_and_analysed(api: Api, engine: Engine) -> None:
    site = create(api)
    assert site["departement"] == "44"
    assert site["located_by"] == "source"
    assert site["status"] == "identified"
    assert site["pop_distance_m"] is not None
    assert site["cable_distance_m"] is not None
    assert site["connection_cost"] is not None
    assert site["priority"] is not None
    assert site["analysed_at"] is not None
    assert audit_actions(engine, site["id"]) == ["create"]


def test_lists_filter_exactly_and_page(api: Api) -> None:
    create(api, name="A", uai=uai(440001))
    create(api, name="B", uai=uai(440002), status="studied", studied_on="2025-01-10")
    create(
        api,
        name="Mairie d'Angers",
        category="town_hall",
        uai=None,
        siret=SIRET,
        postcode="49000",
        commune_insee="49007",
        latitude=47.47,
        longitude=-0.55,
    )
    create(api, name="CHU", category="hospital", uai=None, finess=FINESS, located_by="commune")
    create(api, name="E", uai=uai(440005))

    def names(query: str) -> list[str]:
        response = api.get("viewer", f"{BASE}?{query}")
        assert response.status_code == 200, response.text
        return [site["name"] for site in response.json()["results"]]

    assert names("departement=49") == ["Mairie d'Angers"]
    assert names("commune_insee=44109&category=hospital") == ["CHU"]
    assert names("category=town_hall&category=hospital") == ["Mairie d'Angers", "CHU"]
    assert names("status=studied") == ["B"]
    assert names(f"uai={uai(440005)}") == ["E"]
    assert names(f"finess={FINESS}") == ["CHU"]
    assert names(f"siret={SIRET}") == ["Mairie d'Angers"]
    assert names("located_by=commune") == ["CHU"]
    assert names("departement=85") == []

    page = api.get("viewer", f"{BASE}?category=school&limit=2").json()
    assert (page["count"], [s["name"] for s in page["results"]]) == (3, ["A", "B"])
    assert "category=school" in page["next"]
    assert "offset=2" in page["next"]
    last = api.get("viewer", page["next"]).json()
    assert ([s["name"] for s in last["results"]], last["next"]) == (["E"], None)
    assert "offset" not in last["previous"]

    unknown = api.get("viewer", f"{BASE}?categorie=school")
    assert unknown.status_code == 400
    assert problem(unknown)[0] == "query.categorie"
    bad = api.get("viewer", f"{BASE}?status=done")
    assert bad.status_code == 422
    assert problem(bad)[0] == "query.status"


def test_patch_changes_what_is_sent_with_the_dates_checked_against_the_status(
    api: Api, engine: Engine
) -> None:
    site = create(api, notes="à voir")
    path = f"{BASE}/{site['id']}"

    studied = api.patch("noc", path, json={"status": "studied", "studied_on": "2025-02-01"})
    assert studied.status_code == 200, studied.text
    assert (studied.json()["status"], studied.json()["notes"]) == ("studied", "à voir")

    for change, field, reason in (
        ({"planned_on": "2025-03-01"}, "planned_on", "has not reached planned"),
        (
            {"status": "planned", "planned_on": "2025-01-15"},
            "planned_on",
            "2025-01-15 is before studied_on (2025-02-01)",
        ),
        ({"name": None}, "name", "may not be null"),
        ({"uai": "0440001A"}, "uai", "key letter"),
        ({"latitude": 95}, "latitude", "less than or equal to 90"),
        ({"nmae": "Collège"}, "nmae", "Extra inputs are not permitted"),
        ({"status": "identified"}, "studied_on", "has not reached studied"),
    ):
        refused = api.patch("noc", path, json=change)
        assert refused.status_code == 422, (change, refused.text)
        assert problem(refused)[0] == field
        assert reason in problem(refused)[1], problem(refused)

    planned = api.patch("admin", path, json={"status": "planned", "planned_on": "2025-03-01"})
    assert planned.status_code == 200, planned.text
    assert planned.json()["studied_on"] == "2025-02-01"
    assert audit_actions(engine, site["id"]) == ["create", "update", "update"]

    dated = api.post("noc", BASE, json=body(uai=uai(440009), studied_on="2025-01-01"))
    assert dated.status_code == 422
    assert problem(dated) == (
        "studied_on",
        "the site is identified: it has not reached studied yet",
    )


def test_a_new_point_recomputes_the_analysis(api: Api) -> None:
    site = create(api, latitude=47.2, longitude=-1.55)  # at the fixture's PoPs
    path = f"{BASE}/{site['id']}"
    assert site["pop_distance_m"] == 0

    noted = api.patch("noc", path, json={"notes": "rien"}).json()
    assert noted["analysed_at"] == site["analysed_at"]
    moved = api.patch("noc", path, json={"latitude": 47.3}).json()
    assert moved["pop_distance_m"] == pytest.approx(11_120, abs=50)
    assert moved["analysed_at"] > site["analysed_at"]

    centred = create(api, uai=uai(440002), located_by="commune", latitude=47.23, longitude=-1.55)
    followed = api.patch("noc", f"{BASE}/{centred['id']}", json={"commune_insee": "49007"})
    assert followed.status_code == 422  # postcode 44000 and UAI 044… are not of Maine-et-Loire
    fields = {problem["field"] for problem in followed.json()["error"]["problems"]}
    assert fields == {"postcode", "uai"}
    followed = api.patch(
        "noc",
        f"{BASE}/{centred['id']}",
        json={"commune_insee": "49007", "postcode": "49000", "uai": uai(490002)},
    ).json()
    assert (followed["latitude"], followed["longitude"]) != (47.23, -1.55)
    assert followed["departement"] == "49"
    assert followed["located_by"] == "commune"
    assert followed["pop_distance_m"] != centred["pop_distance_m"]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"latitude": -1.55, "longitude": 47.25}, "latitude", "swapped"),
        ({"latitude": 52.52, "longitude": 13.405}, "latitude", "outside France"),
        ({"commune_insee": "35238"}, "commune_insee", "unknown commune 35238"),
        ({"postcode": "53600"}, "postcode", "not a postcode of département 44"),
        ({"uai": uai(490002)}, "uai", "département"),
        ({"finess": "440000288"}, "finess", "Luhn"),
        ({"category": "collège"}, "category", "Input should be"),
        ({"contacts": [{"name": "X", "email": "not-an-email"}]}, "contacts.0.email", ""),
    ],
)
def test_a_bad_site_is_refused_naming_the_field(
    api: Api, fields: dict[str, Any], field: str, reason: str
) -> None:
    refused = api.post("noc", BASE, json=body(**fields))
    assert refused.status_code == 422, refused.text
    assert problem(refused)[0] == field
    assert reason in problem(refused)[1]
    assert api.get("noc", BASE).json()["count"] == 0


def test_an_identifier_is_one_sites_only(api: Api) -> None:
    first = create(api)
    duplicate = api.post("noc", BASE, json=body(name="Autre"))
    assert duplicate.status_code == 409
    assert problem(duplicate) == (
        "uai",
        f"another site needing THD already has uai {uai(440001)} (site {first['id']}, "
        "Collège Jules Verne)",
    )
    other = create(api, uai=uai(440002))
    clash = api.patch("noc", f"{BASE}/{other['id']}", json={"uai": uai(440001)})
    assert clash.status_code == 409
    assert problem(clash)[0] == "uai"


def test_get_and_delete(api: Api, engine: Engine) -> None:
    site = create(api)
    assert api.get("noc", f"{BASE}/{site['id'] + 1}").status_code == 404
    assert api.get("noc", f"{BASE}/0").status_code == 422
    assert api.delete("noc", f"{BASE}/{site['id']}").status_code == 204
    assert api.get("noc", f"{BASE}/{site['id']}").status_code == 404
    assert api.delete("admin", f"{BASE}/{site['id']}").status_code == 404
    assert audit_actions(engine, site["id"]) == ["create", "delete"]
