"""The analysis of sites needing THD against the real Gigalis network, on both databases:
distances checked against independent computations (geodesic distances to the PoPs, a fresh
projection of every cable route), costs by hand from billing/catalogue.yaml, a change of the
network seen at the next analysis, an empty network, and the command line and API over it."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pyproj import Geod, Transformer
from shapely import LineString, Point
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gigalis_nms.audit import AuditEntry
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CableOwnership, LifecycleStatus, SiteKind
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import FibreCable, Organisation, Site
from gigalis_nms.inventory.tables import CABLE
from gigalis_nms.resource_centre.analysis import AnalysisSummary, analyse_sites
from gigalis_nms.resource_centre.cli import app
from gigalis_nms.resource_centre.models import (
    ConnectFrom,
    Connectivity,
    NeedStatus,
    SiteCategory,
    SiteNeed,
)
from tests.integration.conftest import Api

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:site-analysis"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
GEOD = Geod(ellps="GRS80")
# Lambert-93 keeps lengths within 0.1 % of the ellipsoid's over mainland France.
LAMBERT_SCALE_TOLERANCE = 0.001
# Places across the five départements, none of them a PoP or on a cable.
SCATTERED = [
    (47.05, -1.05),  # south of Clisson
    (47.82, -0.21),  # north of Sablé
    (46.71, -1.92),  # near Saint-Gilles
    (48.21, 0.18),  # north of Le Mans
    (47.61, -2.29),  # the Brière
    (46.45, -0.85),  # south Vendée
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


@pytest.fixture
def network(engine: Engine) -> Engine:
    load_inventory(engine, ROOT / "inventory", actor=ACTOR)
    return engine


def add_sites(engine: Engine, points: list[tuple[float, float]], **fields: Any) -> list[int]:
    with session_scope(engine, actor=ACTOR) as session:
        sites = [
            SiteNeed(
                name=f"{fields.get('name', 'Site')} {number}",
                category=fields.get("category", SiteCategory.SCHOOL),
                latitude=latitude,
                longitude=longitude,
                **{key: value for key, value in fields.items() if key not in ("category", "name")},
            )
            for number, (latitude, longitude) in enumerate(points)
        ]
        session.add_all(sites)
        session.flush()
        return [site.id for site in sites if site.id is not None]


def analyse(engine: Engine, catalogue: Catalogue, **kwargs: Any) -> AnalysisSummary:
    with session_scope(engine, actor=ACTOR) as session:
        return analyse_sites(session, catalogue, now=kwargs.pop("now", NOW), **kwargs)


def stored(engine: Engine, site_id: int) -> SiteNeed:
    with session_scope(engine, read_only=True) as session:
        site = session.get(SiteNeed, site_id)
        assert site is not None
        return site


def active_pops(session: Session) -> list[Site]:
    query = select(Site).where(Site.kind == SiteKind.POP, Site.status == LifecycleStatus.ACTIVE)
    return list(session.exec(query))


def active_cables(session: Session) -> list[FibreCable]:
    return list(session.exec(select(FibreCable).where(FibreCable.status == LifecycleStatus.ACTIVE)))


def by_hand(distance_m: int, start_fee: str) -> Decimal:
    """billing/catalogue.yaml's site_connection, read by a person: 1.3 m of route per metre,
    55 €/m under 500 m of route, 42 € under 2 km, 34 € under 10 km, 28 € beyond; the fee at
    the start (joint 1,500 €, PoP 800 €) and the site's termination, 1,200 €."""
    route = Decimal(distance_m) * Decimal("1.3")
    rate = 55 if route < 500 else 42 if route < 2000 else 34 if route < 10_000 else 28
    cost = route * rate + Decimal(start_fee) + 1200
    return cost.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- Distances and costs ----------------------------------------------------------------------


def test_a_site_at_a_pop_is_connected_from_it(network: Engine, catalogue: Catalogue) -> None:
    with session_scope(network, read_only=True) as session:
        pop = next(site for site in active_pops(session) if site.code == "ANG1")
    (site_id,) = add_sites(network, [(pop.latitude, pop.longitude)])

    summary = analyse(network, catalogue)

    assert summary == AnalysisSummary(analysed=1, unreachable=0)
    site = stored(network, site_id)
    assert (site.nearest_pop_id, site.pop_distance_m) == (pop.id, 0)
    assert site.connect_from == ConnectFrom.POP
    assert site.connection_cost == Decimal("2000.00")  # PoP 800 € + the site's 1,200 €
    assert site.analysed_at == NOW


def test_a_site_on_a_cable_route_is_connected_from_a_joint(
    network: Engine, catalogue: Catalogue
) -> None:
    with session_scope(network, read_only=True) as session:
        cable = next(c for c in active_cables(session) if c.route and len(c.route) >= 3)
    assert cable.route is not None
    longitude, latitude = cable.route[len(cable.route) // 2]
    (site_id,) = add_sites(network, [(latitude, longitude)])

    analyse(network, catalogue)

    site = stored(network, site_id)
    assert site.cable_distance_m == 0
    with session_scope(network, read_only=True) as session:
        sharing = {
            c.id for c in active_cables(session) if c.route and [longitude, latitude] in c.route
        }
    assert site.nearest_cable_id in sharing
    assert site.connect_from == ConnectFrom.CABLE
    assert site.connection_cost == Decimal("2700.00")  # a joint 1,500 € + the site's 1,200 €
    assert site.pop_distance_m is not None
    assert site.pop_distance_m > 0


def test_distances_agree_with_an_independent_computation(
    network: Engine, catalogue: Catalogue
) -> None:
    site_ids = add_sites(network, SCATTERED)

    analyse(network, catalogue)

    project = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    with session_scope(network, read_only=True) as session:
        pops = active_pops(session)
        lines = {
            cable.id: LineString([project.transform(x, y) for x, y in _route(session, cable)])
            for cable in active_cables(session)
        }
    for site_id, (latitude, longitude) in zip(site_ids, SCATTERED, strict=True):
        site = stored(network, site_id)
        geodesic = {
            pop.id: GEOD.inv(longitude, latitude, pop.longitude, pop.latitude)[2] for pop in pops
        }
        nearest_pop = min(geodesic, key=lambda pop_id: geodesic[pop_id])
        assert site.nearest_pop_id == nearest_pop
        assert site.pop_distance_m == pytest.approx(
            geodesic[nearest_pop], rel=LAMBERT_SCALE_TOLERANCE, abs=1
        )

        point = Point(project.transform(longitude, latitude))
        to_cable = {cable_id: line.distance(point) for cable_id, line in lines.items()}
        nearest_cable = min(to_cable, key=lambda cable_id: to_cable[cable_id])
        assert site.nearest_cable_id == nearest_cable
        assert site.cable_distance_m == pytest.approx(to_cable[nearest_cable], abs=0.5)

        assert site.pop_distance_m is not None
        assert site.cable_distance_m is not None
        from_pop = by_hand(site.pop_distance_m, "800")
        from_cable = by_hand(site.cable_distance_m, "1500")
        assert site.connection_cost == min(from_pop, from_cable)
        assert site.connect_from == (
            ConnectFrom.POP if from_pop <= from_cable else ConnectFrom.CABLE
        )
        # A school, connectivity and need unknown: 100 × (0.35 × 0.5 + 0.15 × 0.5 + 0.25 × 0.9
        # + 0.25 × cheapness), cheapness falling from 1 at 0 € to 0 at 200,000 €.
        cheapness = max(Decimal(0), 1 - site.connection_cost / 200_000)
        expected = (Decimal("47.5") + 25 * cheapness).quantize(Decimal(1), ROUND_HALF_UP)
        assert site.priority == int(expected)


def _route(session: Session, cable: FibreCable) -> list[list[float]]:
    if cable.route:
        return cable.route
    ends = [session.get(Site, cable.a_site_id), session.get(Site, cable.z_site_id)]
    return [[end.longitude, end.latitude] for end in ends if end is not None]


def test_a_retired_cable_changes_the_answer_at_the_next_analysis(
    network: Engine, catalogue: Catalogue
) -> None:
    with session_scope(network, read_only=True) as session:
        cable = next(c for c in active_cables(session) if c.route and len(c.route) >= 3)
    assert cable.route is not None
    longitude, latitude = cable.route[1]
    # 300 m east of a point of its route.
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(
        longitude, latitude
    )
    back = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    near_longitude, near_latitude = back.transform(east + 300, north)
    (site_id,) = add_sites(network, [(near_latitude, near_longitude)])
    analyse(network, catalogue)
    before = stored(network, site_id)
    assert before.nearest_cable_id == cable.id
    assert before.cable_distance_m is not None
    assert before.cable_distance_m <= 300

    with session_scope(network, actor=ACTOR) as session:
        session.execute(
            sa.update(CABLE).where(CABLE.c.id == cable.id).values(status=LifecycleStatus.RETIRED)
        )
    later = NOW + timedelta(days=1)
    analyse(network, catalogue, now=later)

    after = stored(network, site_id)
    assert after.nearest_cable_id not in (None, cable.id)
    assert after.cable_distance_m is not None
    assert after.cable_distance_m > before.cable_distance_m
    assert after.analysed_at == later
    assert after.connection_cost is not None
    assert before.connection_cost is not None
    assert after.connection_cost > before.connection_cost


def test_a_customers_lead_in_is_no_place_for_a_joint(network: Engine, catalogue: Catalogue) -> None:
    """A cable from a PoP to a customer's premises is the customer's, not backbone: a site
    beside those premises is measured to the backbone, not to the lead-in."""
    with session_scope(network, actor=ACTOR) as session:
        nte1 = session.exec(select(Site).where(Site.code == "NTE1")).one()
        owner = session.exec(select(Organisation).where(Organisation.kind == "operator")).first()
        assert owner is not None
        assert owner.id is not None
        assert nte1.id is not None
        customer = Site(
            code="CUST1",
            name="Customer premises",
            kind=SiteKind.CUSTOMER_SITE,
            insee_code="44109",
            latitude=47.2000,
            longitude=-1.5000,
        )
        session.add(customer)
        session.flush()
        assert customer.id is not None
        session.add(
            FibreCable(
                code="C-NTE1-CUST1",
                a_site_id=nte1.id,
                z_site_id=customer.id,
                length_m=6000,
                fibre_count=12,
                owner_id=owner.id,
                ownership=CableOwnership.LEASED,
            )
        )
        lead_in = session.exec(select(FibreCable).where(FibreCable.code == "C-NTE1-CUST1")).one()
        lead_in_id = lead_in.id
    (beside,) = add_sites(network, [(47.2001, -1.5001)])
    analyse(network, catalogue)
    site = stored(network, beside)
    assert site.nearest_cable_id is not None
    assert site.nearest_cable_id != lead_in_id
    assert site.cable_distance_m is not None
    assert site.cable_distance_m > 500  # the lead-in passes within 20 m


def test_an_empty_network_leaves_distances_unknown(engine: Engine, catalogue: Catalogue) -> None:
    site_ids = add_sites(engine, SCATTERED[:3], connectivity=Connectivity.DSL)

    summary = analyse(engine, catalogue)

    assert summary == AnalysisSummary(analysed=3, unreachable=3)
    for site_id in site_ids:
        site = stored(engine, site_id)
        assert (site.nearest_pop_id, site.pop_distance_m) == (None, None)
        assert (site.nearest_cable_id, site.cable_distance_m) == (None, None)
        assert (site.connect_from, site.connection_cost) == (None, None)
        # 100 × (0.35 × 0.6 + 0.15 × 0.5 + 0.25 × 0.9 + 0.25 × 0): cost unknown earns nothing.
        assert site.priority == 51
        assert site.analysed_at == NOW


def test_only_the_sites_asked_are_analysed_and_nothing_is_audited(
    network: Engine, catalogue: Catalogue
) -> None:
    first, second = add_sites(network, SCATTERED[:2])
    updated_at = stored(network, first).updated_at
    with session_scope(network, read_only=True) as session:
        audited = _audit_count(session)

    assert analyse(network, catalogue, site_ids=[first]) == AnalysisSummary(1, 0)

    assert stored(network, first).analysed_at == NOW
    assert stored(network, first).updated_at == updated_at  # the site's own data is unchanged
    assert stored(network, second).analysed_at is None
    assert stored(network, second).pop_distance_m is None
    with session_scope(network, read_only=True) as session:
        assert _audit_count(session) == audited


def _audit_count(session: Session) -> int:
    query = select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.entity == "site_need")
    return int(session.exec(query).one())


def test_without_rates_the_nearer_start_is_kept_uncosted(
    network: Engine, catalogue: Catalogue
) -> None:
    (site_id,) = add_sites(network, SCATTERED[:1])
    bare = catalogue.model_copy(update={"site_connection": None})

    analyse(network, bare)

    site = stored(network, site_id)
    assert site.pop_distance_m is not None
    assert site.cable_distance_m is not None
    nearer = ConnectFrom.POP if site.pop_distance_m <= site.cable_distance_m else ConnectFrom.CABLE
    assert (site.connect_from, site.connection_cost) == (nearer, None)


def test_a_connected_site_is_measured_but_scores_zero(
    network: Engine, catalogue: Catalogue
) -> None:
    (site_id,) = add_sites(
        network,
        SCATTERED[:1],
        status=NeedStatus.CONNECTED,
        connected_on=datetime(2025, 1, 1).date(),
        identified_on=datetime(2024, 1, 1).date(),
    )

    analyse(network, catalogue)

    site = stored(network, site_id)
    assert site.priority == 0
    assert site.pop_distance_m is not None
    assert site.connection_cost is not None


def test_the_colleges_count_of_sites_is_analysed_well_under_a_second(
    network: Engine, catalogue: Catalogue
) -> None:
    rng = random.Random(8)
    points = [(rng.uniform(46.3, 48.5), rng.uniform(-2.5, 0.9)) for _ in range(442)]
    add_sites(network, points)

    started = time.perf_counter()
    summary = analyse(network, catalogue)
    elapsed = time.perf_counter() - started

    assert summary == AnalysisSummary(analysed=442, unreachable=0)
    assert elapsed < 1.0, f"{elapsed:.3f} s"


def test_a_long_list_of_ids_is_read_in_batches(network: Engine, catalogue: Catalogue) -> None:
    rng = random.Random(80)
    site_ids = add_sites(
        network, [(rng.uniform(46.5, 48), rng.uniform(-2, 0.5)) for _ in range(1100)]
    )
    asked = [*site_ids[:1050], site_ids[-1] + 1]  # and an id that is no site

    assert analyse(network, catalogue, site_ids=asked) == AnalysisSummary(1050, 0)
    with session_scope(network, read_only=True) as session:
        analysed = session.exec(select(SiteNeed.id).where(col(SiteNeed.analysed_at).is_not(None)))
        assert sorted(site_id for site_id in analysed if site_id) == site_ids[:1050]


# --- Command line -----------------------------------------------------------------------------


def test_analyse_prints_the_figures(network: Engine, runner: CliRunner) -> None:
    add_sites(network, SCATTERED)

    result = runner.invoke(app, ["analyse"])

    assert result.exit_code == 0, result.output
    assert "analysed 6 sites; 0 unreachable" in result.output
    assert "of 6 sites within 2000 m of the network" in result.output
    with session_scope(network, read_only=True) as session:
        sites = list(session.exec(select(SiteNeed)))
    assert all(site.analysed_at is not None for site in sites)
    total = sum(site.connection_cost or 0 for site in sites)
    assert f"estimated total {total:,.2f} EUR" in result.output


def test_the_report_ranks_by_priority_and_refreshes_unless_told(
    network: Engine, runner: CliRunner
) -> None:
    add_sites(network, SCATTERED)
    add_sites(
        network,
        SCATTERED[:2],
        name="Hospital",
        category=SiteCategory.HOSPITAL,
        connectivity=Connectivity.NONE,
    )

    first = runner.invoke(app, ["report", "--format", "json"])

    assert first.exit_code == 0, first.output
    ranked = json.loads(first.output)
    assert len(ranked) == 8
    priorities = [site["priority"] for site in ranked]
    assert priorities == sorted(priorities, reverse=True)
    # At the same place, a hospital without any access comes before a school.
    order = [site["name"] for site in ranked]
    assert order.index("Hospital 0") < order.index("Site 0")
    assert order.index("Hospital 1") < order.index("Site 1")
    assert all(site["connect_from"] in ("pop", "cable") for site in ranked)

    # Retire the cable the first site would be joined to: only a refreshed report sees it.
    gone = ranked[0]["nearest_cable"]
    with session_scope(network, actor=ACTOR) as session:
        session.execute(
            sa.update(CABLE).where(CABLE.c.code == gone).values(status=LifecycleStatus.RETIRED)
        )
    stale = json.loads(runner.invoke(app, ["report", "--format", "json", "--no-refresh"]).output)
    assert stale[0]["nearest_cable"] == gone
    fresh = json.loads(runner.invoke(app, ["report", "--format", "json", "--top", "8"]).output)
    assert gone not in {site["nearest_cable"] for site in fresh}


def test_the_report_as_csv_and_filtered(network: Engine, runner: CliRunner) -> None:
    add_sites(network, SCATTERED[:3], departement="44")
    add_sites(
        network,
        SCATTERED[3:],
        departement="72",
        status=NeedStatus.STUDIED,
        identified_on=datetime(2025, 1, 1).date(),
        studied_on=datetime(2025, 6, 1).date(),
    )

    result = runner.invoke(
        app,
        ["report", "--format", "csv", "--departement", "72", "--status", "studied", "--top", "2"],
    )

    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.startswith("priority,id,name,category,commune_insee,departement,status")
    assert len(rows) == 2
    assert all(",72,studied," in row for row in rows)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--departement", "99"], "--departement: not a département of the region"),
        (["--within", "500"], "--within: counts sites near the network"),
        (["--by", "commune", "--top", "3"], "--top: ranks sites"),
    ],
)
def test_the_report_refuses_options_that_do_not_apply(
    engine: Engine, runner: CliRunner, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["report", *arguments])

    assert result.exit_code == 1
    assert message in result.output


# --- API ----------------------------------------------------------------------------------------


def test_analysing_through_the_api_is_for_the_noc_and_admins(api: Api, engine: Engine) -> None:
    add_sites(engine, SCATTERED[:2])

    for who in ("viewer", "finance", "operator_a"):
        assert api.post(who, "/api/v1/site-needs/analyse").status_code == 403
    assert api.post(None, "/api/v1/site-needs/analyse").status_code == 401

    answer = api.post("noc", "/api/v1/site-needs/analyse", params={"within": 1000})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["analysed"], body["sites"], body["within_m"]) == (2, 2, 1000)
    with session_scope(engine, read_only=True) as session:
        sites = list(session.exec(select(SiteNeed)))
    assert all(site.analysed_at is not None for site in sites)
    assert body["unreachable"] == sum(1 for site in sites if site.connect_from is None)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"within": "-5"}, 422, "within"),
        ({"within": "far"}, 422, "within"),
        ({"by": "region"}, 422, "by"),
        ({"departement": "99"}, 422, "departement"),
        ({"status": "done"}, 422, "status"),
        ({"withn": "200"}, 400, "withn"),
    ],
)
def test_bad_coverage_parameters_are_named(
    api: Api, query: dict[str, str], status: int, field: str
) -> None:
    answer = api.get("viewer", "/api/v1/site-needs/coverage", params=query)

    assert answer.status_code == status, answer.text
    assert field in answer.text
    assert api.get("operator_a", "/api/v1/site-needs/coverage").status_code == 403
