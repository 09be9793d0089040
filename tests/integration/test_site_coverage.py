"""Coverage of the sites needing THD on both databases, with the Gigalis inventory loaded:
sites by status, those within a distance of the network, and the population of the communes
with an active PoP, checked against the communes file and the inventory files read here
independently (csv and yaml, not the product's readers)."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.resource_centre.cli import app
from gigalis_nms.resource_centre.communes import communes_of, communes_path
from gigalis_nms.resource_centre.coverage import (
    CoverageAxis,
    analysis_overview,
    coverage_report,
)
from gigalis_nms.resource_centre.models import NeedStatus, SiteCategory, SiteNeed
from gigalis_nms.settings import Settings
from tests.integration.conftest import Api

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:site-coverage"
DAY = date(2025, 3, 1)
DATES: dict[NeedStatus, dict[str, Any]] = {
    NeedStatus.IDENTIFIED: {"identified_on": DAY},
    NeedStatus.STUDIED: {"identified_on": DAY, "studied_on": DAY},
    NeedStatus.PLANNED: {"identified_on": DAY, "studied_on": DAY, "planned_on": DAY},
    NeedStatus.CONNECTED: {
        "identified_on": DAY,
        "studied_on": DAY,
        "planned_on": DAY,
        "connected_on": DAY,
    },
}
# (commune, status, distance to the nearest PoP, to the nearest cable); the distances are
# written as an analysis would have, so that the counts below are exact.
SITES = [
    ("44109", NeedStatus.IDENTIFIED, 500, 2500),  # Nantes: 500 m
    ("44109", NeedStatus.STUDIED, 3000, 1999),  # Nantes: 1,999 m
    ("44109", NeedStatus.CONNECTED, 0, 0),  # Nantes: at a PoP
    ("44001", NeedStatus.IDENTIFIED, 2000, None),  # Abbaretz: exactly 2,000 m
    ("49007", NeedStatus.PLANNED, 2001, 2600),  # Angers: 2,001 m, beyond 2 km
    ("53130", NeedStatus.IDENTIFIED, None, None),  # Laval: never reached
    ("85191", NeedStatus.STUDIED, 12_000, 8000),  # La Roche-sur-Yon: 8 km
]


@pytest.fixture
def network(engine: Engine) -> Engine:
    """The Gigalis network and the sites."""
    load_inventory(engine, ROOT / "inventory", actor=ACTOR)
    return add_sites(engine)


def add_sites(engine: Engine) -> Engine:
    with session_scope(engine, actor=ACTOR) as session:
        for number, (insee, status, pop_m, cable_m) in enumerate(SITES):
            session.add(
                SiteNeed(
                    name=f"Site {number}",
                    category=SiteCategory.HOSPITAL if number == 0 else SiteCategory.SCHOOL,
                    latitude=47.0,
                    longitude=-1.0,
                    commune_insee=insee,
                    departement=insee[:2],
                    status=status,
                    pop_distance_m=pop_m,
                    cable_distance_m=cable_m,
                    **DATES[status],
                )
            )
    return engine


def independent_populations(settings: Settings) -> dict[str, tuple[str, int]]:
    """INSEE code → (département, population), read with the csv module."""
    with communes_path(settings).open(newline="", encoding="utf-8-sig") as stream:
        return {
            row["insee_com"]: (row["insee_dep"], int(row["population_2021"] or 0))
            for row in csv.DictReader(stream)
        }


def pop_communes_from_files() -> set[str]:
    """The communes of the active PoPs, from inventory/sites.yaml."""
    document = yaml.safe_load((ROOT / "inventory" / "sites.yaml").read_text(encoding="utf-8"))
    return {
        site["insee_code"]
        for site in document["sites"]
        if site["kind"] == "pop" and site.get("status", "active") == "active"
    }


def report(engine: Engine, settings: Settings, **kwargs: Any) -> Any:
    with session_scope(engine, read_only=True) as session:
        return coverage_report(session, communes_of(settings), **kwargs)


def test_sites_within_the_distance_and_by_status(network: Engine, settings: Settings) -> None:
    found = report(network, settings, by=CoverageAxis.DEPARTEMENT)

    rows = {row.code: row for row in found.rows}
    assert set(rows) == {"44", "49", "53", "72", "85"}
    nantes_area = rows["44"]
    assert (nantes_area.sites, nantes_area.within, nantes_area.within_share) == (4, 4, 1.0)
    assert (nantes_area.identified, nantes_area.studied, nantes_area.connected) == (2, 1, 1)
    assert (rows["49"].sites, rows["49"].within, rows["49"].planned) == (1, 0, 1)
    assert (rows["53"].within, rows["53"].within_share) == (0, 0.0)
    assert (rows["72"].sites, rows["72"].within_share) == (0, None)
    assert (found.totals.sites, found.totals.within) == (7, 4)
    assert found.totals.within_share == round(4 / 7, 4)
    assert found.within_m == 2000


@pytest.mark.parametrize(("within", "expected"), [(0, 1), (499, 1), (500, 2), (1999, 3), (8000, 6)])
def test_the_distance_is_an_option(
    network: Engine, settings: Settings, within: int, expected: int
) -> None:
    assert report(network, settings, within_m=within).totals.within == expected
    with session_scope(network, read_only=True) as session:
        assert analysis_overview(session, within).within == expected


def test_the_population_of_communes_with_a_pop(network: Engine, settings: Settings) -> None:
    people = independent_populations(settings)
    with_pop = pop_communes_from_files()
    assert with_pop  # the inventory has active PoPs
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for insee, (departement, population) in people.items():
        expected[departement][0] += population
        expected[departement][1] += population if insee in with_pop else 0

    found = report(network, settings, by=CoverageAxis.DEPARTEMENT)

    for row in found.rows:
        total, served = expected[row.code]
        assert (row.population, row.population_with_pop) == (total, served)
        assert row.population_with_pop_share == round(served / total, 4)
    region = sum(total for total, _ in expected.values())
    assert found.totals.population == region
    assert found.totals.population_with_pop == sum(served for _, served in expected.values())


def test_by_commune_lists_communes_with_a_site_or_a_pop(
    network: Engine, settings: Settings
) -> None:
    people = independent_populations(settings)

    found = report(network, settings, by=CoverageAxis.COMMUNE, departement="44")

    site_communes = {insee for insee, *_ in SITES if insee.startswith("44")}
    pop_communes = {insee for insee in pop_communes_from_files() if people[insee][0] == "44"}
    assert [row.code for row in found.rows] == sorted(site_communes | pop_communes)
    nantes = next(row for row in found.rows if row.code == "44109")
    assert (nantes.name, nantes.sites, nantes.within) == ("Nantes", 3, 3)
    assert nantes.population == nantes.population_with_pop == people["44109"][1]
    abbaretz = next(row for row in found.rows if row.code == "44001")
    assert (abbaretz.sites, abbaretz.within, abbaretz.population_with_pop) == (1, 1, 0)
    # The totals are the département's own.
    assert found.totals.sites == 4
    assert found.totals.population == sum(pop for dep, pop in people.values() if dep == "44")


def test_filters_by_status_and_category(network: Engine, settings: Settings) -> None:
    studied = report(network, settings, statuses=[NeedStatus.STUDIED])
    hospitals = report(network, settings, categories=[SiteCategory.HOSPITAL])

    assert (studied.totals.sites, studied.totals.studied, studied.totals.within) == (2, 2, 1)
    assert (hospitals.totals.sites, hospitals.totals.within) == (1, 1)


def test_coverage_through_the_api(api: Api, engine: Engine) -> None:
    add_sites(engine)  # on the API fixtures' own small network

    answer = api.get(
        "viewer", "/api/v1/site-needs/coverage", params={"by": "commune", "within": 500}
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by"], body["within_m"]) == ("commune", 500)
    nantes = next(row for row in body["rows"] if row["code"] == "44109")
    assert (nantes["sites"], nantes["within"]) == (3, 2)
    assert body["totals"]["sites"] == 7

    sheet = api.get(
        "finance",
        "/api/v1/site-needs/coverage",
        params={"departement": "44", "format": "csv"},
    )
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"].startswith("text/csv")
    lines = sheet.text.splitlines()
    assert lines[0].startswith("code,name,departement,sites,identified,studied,planned,connected")
    assert lines[1].startswith("44,Loire-Atlantique,44,4,2,1,0,1,4,1.0,")


def test_coverage_on_the_command_line(network: Engine, runner: CliRunner) -> None:
    table = runner.invoke(
        app, ["report", "--by", "departement", "--within", "1999", "--no-refresh"]
    )
    sheet = runner.invoke(
        app, ["report", "--by", "commune", "--format", "csv", "--no-refresh", "--departement", "53"]
    )

    assert table.exit_code == 0, table.output
    assert "within 1999 m" in table.output
    assert "Loire-Atlantique" in table.output
    assert sheet.exit_code == 0, sheet.output
    laval = next(line for line in sheet.output.splitlines() if line.startswith("53130,"))
    assert laval.startswith("53130,Laval,53,1,1,0,0,0,0,0.0,")
