"""The public read-only API under /api/v1/public/, on both databases, over the real Gigalis
network and real collèges: counts that match the database, exact filters, unknown filters
refused, read-only methods, cable routes simplified with their ends kept, services per
commune, and the headers that let members' sites read it."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import (
    CableOwnership,
    LifecycleStatus,
    OrganisationKind,
    SiteKind,
)
from gigalis_nms.inventory.models import FibreCable, Organisation, Site
from gigalis_nms.resource_centre.communes import communes_of
from gigalis_nms.resource_centre.geo import to_lambert93, to_wgs84
from gigalis_nms.resource_centre.models import (
    NeedStatus,
    SiteNeed,
)
from gigalis_nms.settings import Settings
from tests.integration.public_support import (
    COLLEGES_TAKEN,
    PUBLIC,
    Private,
    load_public_data,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def public_data(engine: Engine) -> Private:
    return load_public_data(engine)


def get_ok(client: TestClient, path: str, **params: Any) -> Any:
    # No params at all for a ``next`` link: httpx would replace its query with an empty one.
    response = client.get(path, params=params) if params else client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def everything(client: TestClient, path: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paged collection, following ``next``."""
    page = get_ok(client, path, limit=0, **params)
    items = list(page[key])
    while page["next"]:
        page = get_ok(client, page["next"])
        items += page[key]
    assert len(items) == page["count"]
    return items


def count_rows(engine: Engine, statement: sa.Select[Any]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


# --- counts -------------------------------------------------------------------------------


def test_counts_match_the_database(
    client: TestClient, engine: Engine, settings: Settings, public_data: Private
) -> None:
    site, cable, need = table_of(Site), table_of(FibreCable), table_of(SiteNeed)
    network = count_rows(
        engine,
        sa.select(sa.func.count())
        .select_from(site)
        .where(site.c.kind != SiteKind.CUSTOMER_SITE, site.c.status != LifecycleStatus.RETIRED),
    )
    cables = count_rows(
        engine,
        sa.select(sa.func.count())
        .select_from(cable)
        .where(cable.c.status != LifecycleStatus.RETIRED),
    )
    needs = count_rows(engine, sa.select(sa.func.count()).select_from(need))
    assert network > 0
    assert cables > 0
    assert needs == COLLEGES_TAKEN

    pops = everything(client, f"{PUBLIC}/pops", "features")
    assert len(pops) == network
    assert {f["id"] for f in pops} >= {"NTE1", "STH1", "NOI1", "PLN1"}
    assert len(everything(client, f"{PUBLIC}/cables", "features")) == cables
    sites = everything(client, f"{PUBLIC}/sites", "features")
    assert len(sites) == needs
    by_status = dict.fromkeys(NeedStatus, 0)
    for feature in sites:
        by_status[NeedStatus(feature["properties"]["status"])] += 1
    assert by_status == dict.fromkeys(NeedStatus, COLLEGES_TAKEN // 4)

    communes = communes_of(settings)
    listed = everything(client, f"{PUBLIC}/communes", "results")
    assert [c["insee"] for c in listed] == sorted(communes)
    assert sum(sum(c["sites_needing_thd"].values()) for c in listed) == needs
    # A commune the reference gives no centre (absorbed into a commune nouvelle) has none.
    centred = sorted(insee for insee, c in communes.items() if c.latitude is not None)
    outlines = everything(client, f"{PUBLIC}/boundaries/communes", "features")
    assert [f["id"] for f in outlines] == centred
    departements = everything(client, f"{PUBLIC}/boundaries/departements", "features")
    assert [f["id"] for f in departements] == ["44", "49", "53", "72", "85"]
    assert sum(f["properties"]["communes"] for f in departements) == len(centred)


def test_index_lists_every_endpoint(client: TestClient, public_data: Private) -> None:
    index = get_ok(client, f"{PUBLIC}/")
    paths = {endpoint["path"] for endpoint in index["endpoints"]}
    assert paths == {
        f"{PUBLIC}/pops",
        f"{PUBLIC}/pops/{{code}}",
        f"{PUBLIC}/cables",
        f"{PUBLIC}/cables/{{code}}",
        f"{PUBLIC}/communes",
        f"{PUBLIC}/communes/{{insee}}",
        f"{PUBLIC}/sites",
        f"{PUBLIC}/sites/{{site_id}}",
        f"{PUBLIC}/boundaries/communes",
        f"{PUBLIC}/boundaries/departements",
    }
    sites = next(e for e in index["endpoints"] if e["path"] == f"{PUBLIC}/sites")
    assert sites["parameters"] == [
        "category",
        "commune",
        "departement",
        "limit",
        "offset",
        "status",
    ]
    assert sites["url"] == f"http://testserver{PUBLIC}/sites"
    assert set(index["services"]) == {
        "ethernet_eline",
        "wavelength",
        "dark_fibre",
        "hosting",
        "on_study",
    }


# --- filters ------------------------------------------------------------------------------


def test_filters_are_exact(client: TestClient, engine: Engine, public_data: Private) -> None:
    with Session(engine) as session:
        in_44 = session.exec(
            select(Site).where(
                col(Site.insee_code).startswith("44"), Site.kind != SiteKind.CUSTOMER_SITE
            )
        ).all()
        needs = session.exec(select(SiteNeed)).all()
    pops_44 = everything(client, f"{PUBLIC}/pops", "features", departement="44")
    assert sorted(f["id"] for f in pops_44) == sorted(site.code for site in in_44)

    hosting = everything(client, f"{PUBLIC}/pops", "features", service="hosting")
    assert [f["id"] for f in hosting] == ["STH1"]
    several = everything(client, f"{PUBLIC}/pops", "features", kind=["nro", "hosting_room"])
    assert sorted(f["id"] for f in several) == ["NOI1", "STH1"]
    planned = everything(client, f"{PUBLIC}/pops", "features", status="planned")
    assert [(f["id"], f["properties"]["services"]) for f in planned] == [("PLN1", [])]

    assert [
        f["id"] for f in everything(client, f"{PUBLIC}/cables", "features", status="planned")
    ] == ["C-MAY1-MMR1"]
    at_sth1 = everything(client, f"{PUBLIC}/cables", "features", site="STH1")
    assert sorted(f["id"] for f in at_sth1) == ["C-NTE1-STH1", "C-NTE2-STH1"]

    for status in NeedStatus:
        found = everything(client, f"{PUBLIC}/sites", "features", status=status.value)
        assert sorted(f["id"] for f in found) == sorted(n.id for n in needs if n.status == status)
    first = needs[0]
    assert first.commune_insee is not None
    by_commune = everything(client, f"{PUBLIC}/sites", "features", commune=first.commune_insee)
    assert sorted(f["id"] for f in by_commune) == sorted(
        n.id for n in needs if n.commune_insee == first.commune_insee
    )
    mayenne_or_sarthe = everything(
        client, f"{PUBLIC}/sites", "features", departement=["53", "72"], status="identified"
    )
    assert sorted(f["id"] for f in mayenne_or_sarthe) == sorted(
        n.id for n in needs if n.departement in {"53", "72"} and n.status == NeedStatus.IDENTIFIED
    )
    assert everything(client, f"{PUBLIC}/sites", "features", category="hospital") == []

    vendee = everything(client, f"{PUBLIC}/communes", "results", departement="85")
    assert vendee
    assert {c["departement"] for c in vendee} == {"85"}
    lit = everything(client, f"{PUBLIC}/communes", "results", service="ethernet_eline")
    assert all(c["pops"] and "wavelength" in c["services"] for c in lit)
    assert len(
        everything(client, f"{PUBLIC}/boundaries/communes", "features", departement="53")
    ) == len(
        [c for c in everything(client, f"{PUBLIC}/communes", "results") if c["departement"] == "53"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/pops",
        "/pops/NTE1",
        "/cables",
        "/communes",
        "/communes/44109",
        "/sites",
        "/boundaries/communes",
        "/boundaries/departements",
    ],
)
def test_an_unknown_filter_is_refused_naming_it(
    client: TestClient, public_data: Private, path: str
) -> None:
    response = client.get(f"{PUBLIC}{path}", params={"statut": "connected"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unknown_parameter"
    assert error["problems"][0]["field"] == "query.statut"
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_bad_filter_value_is_refused_naming_it(client: TestClient, public_data: Private) -> None:
    for path, params, field in [
        ("/sites", {"status": "done"}, "query.status.0"),
        ("/sites", {"departement": "Vendée"}, "query.departement.0"),
        ("/communes", {"service": "fibre"}, "query.service.0"),
        ("/communes/4410", {}, "path.insee"),
        ("/sites/0", {}, "path.site_id"),
        ("/pops", {"limit": "-1"}, "query.limit"),
    ]:
        response = client.get(f"{PUBLIC}{path}", params=params)
        assert response.status_code == 422, (path, response.text)
        assert [p["field"] for p in response.json()["error"]["problems"]] == [field]
    for path in ("/pops/XXX9", "/cables/C-NONE", "/communes/75056", "/sites/999999"):
        assert client.get(f"{PUBLIC}{path}").status_code == 404, path


def test_pages_follow_each_other(client: TestClient, public_data: Private) -> None:
    first = get_ok(client, f"{PUBLIC}/communes", limit=7, departement="53")
    second = get_ok(client, first["next"])
    assert len(first["results"]) == len(second["results"]) == 7
    assert "departement=53" in first["next"]
    assert not {c["insee"] for c in first["results"]} & {c["insee"] for c in second["results"]}
    assert get_ok(client, second["previous"])["results"] == first["results"]
    beyond = get_ok(client, f"{PUBLIC}/cables", offset=1000)
    assert (beyond["count"], beyond["features"]) == (64, [])


# --- read-only, headers -------------------------------------------------------------------


def test_the_public_api_is_read_only(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    before = count_rows(engine, sa.select(sa.func.count()).select_from(table_of(SiteNeed)))
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/", "/pops", "/sites", "/sites/1", "/communes/44109"):
            response = client.request(method, f"{PUBLIC}{path}", json={"name": "x"})
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == "GET, HEAD"
            assert response.json()["error"]["code"] == "method_not_allowed"
    after = count_rows(engine, sa.select(sa.func.count()).select_from(table_of(SiteNeed)))
    assert before == after

    got, head = client.get(f"{PUBLIC}/cables"), client.head(f"{PUBLIC}/cables")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]


def test_headers_let_other_sites_read_and_cache(client: TestClient, public_data: Private) -> None:
    for path, age, media in [
        ("/", 300, "application/json"),
        ("/pops", 300, "application/geo+json"),
        ("/sites", 300, "application/geo+json"),
        ("/communes", 300, "application/json"),
        ("/boundaries/communes", 86400, "application/geo+json"),
    ]:
        response = client.get(f"{PUBLIC}{path}", headers={"Origin": "https://www.mairie.example"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == f"public, max-age={age}"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["content-type"] == media
    missing = client.get(f"{PUBLIC}/pops/NONE1")
    assert missing.headers["access-control-allow-origin"] == "*"
    assert missing.headers["cache-control"] == "no-store"


# --- content ------------------------------------------------------------------------------


def test_simplified_cables_keep_their_ends_at_the_pops(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    pops = {
        f["id"]: f["geometry"]["coordinates"]
        for f in everything(client, f"{PUBLIC}/pops", "features")
    }
    with Session(engine) as session:
        stored = {cable.code: cable for cable in session.exec(select(FibreCable)).all()}
    for feature in everything(client, f"{PUBLIC}/cables", "features"):
        properties, line = feature["properties"], feature["geometry"]["coordinates"]
        cable = stored[feature["id"]]
        a, z = properties["ends"]
        assert line[0] == pytest.approx(pops[a], abs=1e-5), feature["id"]
        assert line[-1] == pytest.approx(pops[z], abs=1e-5), feature["id"]
        assert 2 <= len(line) <= len(cable.route or [0, 0])
        assert properties["length_km"] == round(cable.length_m / 1000, 1)
        assert properties["simplified_m"] == 100
        assert properties["status"] == cable.status


def test_simplification_drops_bends_under_the_tolerance(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    """A route with a 2 km detour then a 30 m kink: the kink goes, the detour stays."""
    with session_scope(engine, actor="test") as session:
        nte1 = session.exec(select(Site).where(Site.code == "NTE1")).one()
        anc1 = session.exec(select(Site).where(Site.code == "ANC1")).one()
        owner = session.exec(select(Organisation).where(Organisation.name == "Gigalis")).one()
        a = to_lambert93(nte1.longitude, nte1.latitude)
        z = to_lambert93(anc1.longitude, anc1.latitude)
        detour = off_line(a, z, 0.5, 2000)
        kink = off_line(to_lambert93(*detour), z, 0.5, 30)
        route = [[nte1.longitude, nte1.latitude], detour, kink, [anc1.longitude, anc1.latitude]]
        session.add(
            FibreCable(
                code="C-TEST-KINK",
                a_site_id=nte1.id,
                z_site_id=anc1.id,
                length_m=45000,
                fibre_count=24,
                owner_id=owner.id,
                ownership=CableOwnership.OWN,
                route=route,
                status=LifecycleStatus.ACTIVE,
            )
        )
    line = get_ok(client, f"{PUBLIC}/cables/C-TEST-KINK")["geometry"]["coordinates"]
    assert len(line) == 3
    assert line[1] == pytest.approx(detour, abs=1e-5)


def off_line(
    a: tuple[float, float], z: tuple[float, float], fraction: float, offset_m: float
) -> list[float]:
    """The WGS84 point ``fraction`` of the way from ``a`` to ``z`` (Lambert-93), moved
    ``offset_m`` square to the line."""
    dx, dy = z[0] - a[0], z[1] - a[1]
    norm = math.hypot(dx, dy)
    x = a[0] + fraction * dx - dy / norm * offset_m
    y = a[1] + fraction * dy + dx / norm * offset_m
    return list(to_wgs84(x, y))


def test_services_per_commune(client: TestClient, settings: Settings, public_data: Private) -> None:
    communes = communes_of(settings)

    nantes = get_ok(client, f"{PUBLIC}/communes/44109")
    assert nantes["pops"] == ["NTE1", "NTE2"]
    assert nantes["services"] == ["ethernet_eline", "wavelength", "dark_fibre"]
    assert nantes["nearest_pop"]["code"] in {"NTE1", "NTE2"}
    assert nantes["nearest_pop"]["distance_km"] < 2

    # A hosting room without a router: hosting and dark fibre, no lit service.
    saint_herblain = get_ok(client, f"{PUBLIC}/communes/44162")
    assert saint_herblain["pops"] == ["STH1"]
    assert saint_herblain["services"] == ["dark_fibre", "hosting"]

    # Pornichet: only a planned PoP, which offers nothing yet.
    pornichet = get_ok(client, f"{PUBLIC}/communes/44132")
    assert pornichet["pops"] == []
    assert "ethernet_eline" not in pornichet["services"]

    # Communes without a PoP: the nearest one, at the distance Lambert-93 gives.
    pops = {
        f["id"]: f["geometry"]["coordinates"]
        for f in everything(client, f"{PUBLIC}/pops", "features", kind="pop", status="active")
    }
    for listed in everything(client, f"{PUBLIC}/communes", "results", departement="53")[:40]:
        commune = communes[listed["insee"]]
        assert commune.longitude is not None
        assert commune.latitude is not None
        x, y = to_lambert93(commune.longitude, commune.latitude)
        distances = {
            code: math.dist((x, y), to_lambert93(*point)) / 1000 for code, point in pops.items()
        }
        nearest = min(distances, key=lambda code: (distances[code], code))
        assert listed["nearest_pop"]["code"] == nearest
        assert listed["nearest_pop"]["distance_km"] == pytest.approx(distances[nearest], abs=0.051)
        if listed["pops"]:
            continue
        expected = ["on_study"] if distances[nearest] <= 10 else []
        assert listed["services"] == expected, listed
    listed = everything(client, f"{PUBLIC}/communes", "results")
    far = [c for c in listed if not c["services"] and c["latitude"] is not None]
    unplaced = [c for c in listed if c["latitude"] is None]
    assert all(c["nearest_pop"] is None for c in unplaced)
    assert sorted(c["insee"] for c in unplaced) == sorted(
        insee for insee, commune in communes.items() if commune.latitude is None
    )
    assert far
    assert all(c["nearest_pop"]["distance_km"] >= 10 for c in far)  # rounded to 0.1


def test_commune_counts_sites_needing_thd_by_status(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    with Session(engine) as session:
        needs = session.exec(select(SiteNeed)).all()
    insee = max(
        {n.commune_insee for n in needs}, key=lambda i: sum(n.commune_insee == i for n in needs)
    )
    commune = get_ok(client, f"{PUBLIC}/communes/{insee}")
    expected = {status.value: 0 for status in NeedStatus}
    for need in needs:
        if need.commune_insee == insee:
            expected[need.status.value] += 1
    assert commune["sites_needing_thd"] == expected


def test_a_site_shows_its_public_fields_and_distance(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    with session_scope(engine, actor="test") as session:
        need = session.exec(select(SiteNeed).order_by(col(SiteNeed.id))).first()
        pop = session.exec(select(Site).where(Site.code == "LVL1")).one()
        assert need is not None
        need.nearest_pop_id, need.pop_distance_m, need.cable_distance_m = pop.id, 8200, 950
        site_id = need.id
    feature = get_ok(client, f"{PUBLIC}/sites/{site_id}")
    properties = feature["properties"]
    assert feature["geometry"]["type"] == "Point"
    assert (properties["nearest_pop"], properties["distance_to_network_m"]) == ("LVL1", 950)
    assert properties["uai"]
    assert properties["commune"]
    assert properties["status"] == "identified"
    assert properties["identified_on"] == "2024-01-15"
    assert set(properties) == {
        "id",
        "name",
        "category",
        "uai",
        "finess",
        "siret",
        "commune_insee",
        "commune",
        "departement",
        "located_by",
        "status",
        "identified_on",
        "studied_on",
        "planned_on",
        "connected_on",
        "nearest_pop",
        "pop_distance_m",
        "cable_distance_m",
        "distance_to_network_m",
    }


def test_boundaries_say_they_are_approximate(client: TestClient, public_data: Private) -> None:
    for path in ("/boundaries/communes", "/boundaries/departements"):
        for feature in everything(client, f"{PUBLIC}{path}", "features"):
            assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
            assert feature["properties"]["precision"] == "approximate"
            assert "Voronoi" in feature["properties"]["source"]


# --- fixes after the fresh-eyes test (issue 8) ----------------------------------------------


def test_customer_premises_stay_private(
    client: TestClient, engine: Engine, public_data: Private
) -> None:
    """A customer site and the leased cable an operator holds to it: neither is listed, the
    cable cannot be read by its code nor found by the site, and the shelter at its other end
    offers no dark fibre for it."""
    with session_scope(engine, actor="test") as session:
        operator = session.exec(
            select(Organisation).where(Organisation.kind == OrganisationKind.OPERATOR)
        ).first()
        assert operator is not None
        assert operator.id is not None
        shelter = Site(
            code="SHX1",
            name="Shelter du Pellerin",
            kind=SiteKind.SHELTER,
            insee_code="44120",
            latitude=47.2340,
            longitude=-1.8370,
            status=LifecycleStatus.ACTIVE,
        )
        customer = Site(
            code="CUS-PELLERIN",
            name="Laiterie du Pellerin (client)",
            kind=SiteKind.CUSTOMER_SITE,
            insee_code="44120",
            latitude=47.2380,
            longitude=-1.8300,
            status=LifecycleStatus.ACTIVE,
        )
        session.add_all([shelter, customer])
        session.flush()
        assert shelter.id is not None
        assert customer.id is not None
        session.add(
            FibreCable(
                code="C-SHX1-CUS",
                a_site_id=shelter.id,
                z_site_id=customer.id,
                length_m=900,
                fibre_count=12,
                owner_id=operator.id,
                ownership=CableOwnership.LEASED,
                route=None,
                status=LifecycleStatus.ACTIVE,
            )
        )
    cables = everything(client, f"{PUBLIC}/cables", "features")
    assert "C-SHX1-CUS" not in {f["id"] for f in cables}
    assert all("CUS-PELLERIN" not in f["properties"]["ends"] for f in cables)
    assert client.get(f"{PUBLIC}/cables/C-SHX1-CUS").status_code == 404
    assert everything(client, f"{PUBLIC}/cables", "features", site="CUS-PELLERIN") == []
    assert everything(client, f"{PUBLIC}/cables", "features", site="SHX1") == []
    pops = {f["id"]: f for f in everything(client, f"{PUBLIC}/pops", "features")}
    assert "CUS-PELLERIN" not in pops
    assert pops["SHX1"]["properties"]["services"] == []
    assert client.get(f"{PUBLIC}/pops/CUS-PELLERIN").status_code == 404
    pellerin = get_ok(client, f"{PUBLIC}/communes/44120")
    assert pellerin["pops"] == ["SHX1"]
    assert "dark_fibre" not in pellerin["services"]


LISTS = [
    "/pops",
    "/cables",
    "/communes",
    "/sites",
    "/boundaries/communes",
    "/boundaries/departements",
]
HUGE = "9223372036854775808"


def assert_public_error(response: Any, status: int, field: str | None) -> dict[str, Any]:
    """An error of the public view: its status, the field it names, and its headers."""
    assert response.status_code == status, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "no-store"
    error: dict[str, Any] = response.json()["error"]
    if field is not None:
        assert [p["field"] for p in error["problems"]] == [field], error
    return error


@pytest.mark.parametrize("path", LISTS)
def test_paging_beyond_what_the_database_counts_is_refused(
    client: TestClient, public_data: Private, path: str
) -> None:
    for name in ("offset", "limit"):
        for value in (HUGE, str(2**31)):
            response = client.get(f"{PUBLIC}{path}?{name}={value}")
            error = assert_public_error(response, 422, f"query.{name}")
            assert "2147483647" in error["message"]
    last = get_ok(client, f"{PUBLIC}{path}", offset=2**31 - 1, limit=2**31 - 1)
    assert last[("results" if path == "/communes" else "features")] == []


@pytest.mark.parametrize("path", LISTS)
def test_a_single_valued_parameter_given_twice_is_refused(
    client: TestClient, public_data: Private, path: str
) -> None:
    for query, name in (("limit=0&limit=5", "limit"), ("offset=1&offset=1", "offset")):
        error = assert_public_error(client.get(f"{PUBLIC}{path}?{query}"), 400, f"query.{name}")
        assert error["code"] == "repeated_parameter"
        assert "given 2 times" in error["message"]
    # Filters still repeat, for any of several (as on the staff lists).
    assert client.get(f"{PUBLIC}{path}?departement=44&departement=85").status_code in {
        200,
        400,  # /cables has no département filter: refused as unknown, not as repeated
    }
    if path != "/cables":
        assert get_ok(client, f"{PUBLIC}{path}?departement=44&departement=85")["count"] > 0


def test_every_public_error_carries_the_views_headers(
    client: TestClient, public_data: Private
) -> None:
    assert_public_error(client.get(f"{PUBLIC}/pops", params={"statut": "x"}), 400, "query.statut")
    assert_public_error(client.get(f"{PUBLIC}/pops/NONE1"), 404, "path.code")
    for method in ("GET", "HEAD", "POST", "DELETE"):
        for path in ("/nothing", "/pops/NTE1/circuits", "/sites/1/contacts"):
            response = client.request(method, f"{PUBLIC}{path}")
            assert response.status_code == 404, (method, path, response.text)
            assert response.headers["access-control-allow-origin"] == "*"
            assert response.headers["cache-control"] == "no-store"
            if method != "HEAD":
                assert response.json()["error"]["code"] == "not_found"
    refused = client.post(f"{PUBLIC}/pops", json={})
    assert assert_public_error(refused, 405, None)["code"] == "method_not_allowed"
    assert refused.headers["allow"] == "GET, HEAD"
    assert_public_error(client.get(f"{PUBLIC}/sites", params={"limit": "many"}), 422, "query.limit")
    # The index lists the view's endpoints, not the catch-all behind them.
    index = get_ok(client, f"{PUBLIC}/")
    assert all("{path" not in e["path"] for e in index["endpoints"])


def test_codes_refused_say_what_is_expected_not_a_pattern(
    client: TestClient, public_data: Private
) -> None:
    for path, params, field, expected in [
        ("/sites", {"departement": "Vendée"}, "query.departement.0", "44, 49…, 2A, 971"),
        ("/pops", {"departement": "4"}, "query.departement.0", "44, 49…, 2A, 971"),
        ("/pops", {"commune": "4410"}, "query.commune.0", "44109, 2A004"),
        ("/communes", {"insee": "44 109"}, "query.insee.0", "44109, 2A004"),
        ("/communes/4410", {}, "path.insee", "44109, 2A004"),
    ]:
        response = client.get(f"{PUBLIC}{path}", params=params)
        error = assert_public_error(response, 422, field)
        reason = error["problems"][0]["reason"]
        assert expected in reason, reason
        assert "pattern" not in error["message"]
        assert "\\d" not in error["message"]
        assert "[0-9" not in error["message"]
    # The OpenAPI document keeps the pattern for tools.
    schema = client.get("/openapi.json").json()
    parameters = schema["paths"][f"{PUBLIC}/sites"]["get"]["parameters"]
    departement = next(p for p in parameters if p["name"] == "departement")
    assert "pattern" in str(departement["schema"])
