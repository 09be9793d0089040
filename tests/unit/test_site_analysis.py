"""The pure parts of the analysis of sites needing THD, with figures worked out by hand:
point-to-line distances in Lambert-93, the connection estimate at its band edges, the
cheaper connection, and the priority rule at its corners."""

from __future__ import annotations

import doctest
from decimal import Decimal
from types import ModuleType

import numpy as np
import pytest
from shapely import LineString, Point

from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import ConnectionBand, SiteConnection
from gigalis_nms.resource_centre import analysis, coverage, priority
from gigalis_nms.resource_centre.analysis import (
    Connection,
    cheaper_connection,
    metres,
    nearest,
    route_cost,
)
from gigalis_nms.resource_centre.models import ConnectFrom, Connectivity, NeedStatus, SiteCategory
from gigalis_nms.resource_centre.priority import priority_of

# Rates easy to multiply by hand: a route 1.25 times the straight line, 0–0.5 km at 50 €/m,
# 0.5–2 km at 40 €/m, beyond at 30 €/m.
RATES = SiteConnection(
    route_factor=Decimal("1.25"),
    cable_splice_fee=Decimal("1000"),
    pop_termination_fee=Decimal("500"),
    site_termination_fee=Decimal("200"),
    bands=[
        ConnectionBand(from_km=Decimal(0), to_km=Decimal("0.5"), per_metre=Decimal(50)),
        ConnectionBand(from_km=Decimal("0.5"), to_km=Decimal(2), per_metre=Decimal(40)),
        ConnectionBand(from_km=Decimal(2), per_metre=Decimal(30)),
    ],
)


def xy(*points: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


@pytest.mark.parametrize("module", [analysis, priority, coverage])
def test_the_doctests_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_site_1234_m_from_a_straight_cable_is_measured_to_the_line() -> None:
    # An east-west cable 10 km long; the site stands 1,234 m north of its middle.
    cable = LineString([(400_000, 6_700_000), (410_000, 6_700_000)])

    found = nearest([cable], *xy((405_000, 6_701_234)))

    assert found == [(0, pytest.approx(1234.0))]


def test_beyond_a_cable_end_the_distance_is_to_the_end() -> None:
    cable = LineString([(400_000, 6_700_000), (410_000, 6_700_000)])

    # 3 km east and 4 km north of the east end: 5 km (3-4-5), not 4 km to the line's
    # extension.
    assert nearest([cable], *xy((413_000, 6_704_000))) == [(0, pytest.approx(5000.0))]


def test_the_nearest_of_several_and_ties_go_to_the_first() -> None:
    pops = [Point(0, 0), Point(1000, 0), Point(2000, 0)]

    found = nearest(pops, *xy((900, 0), (500, 0), (2000, 300)))

    # 500 is as far from the first as from the second: the first (lowest code) wins.
    assert found == [(1, 100.0), (0, 500.0), (2, 300.0)]


def test_an_empty_network_has_no_nearest() -> None:
    assert nearest([], *xy((1, 2), (3, 4))) == [None, None]


def test_distances_round_half_up_to_the_metre() -> None:
    assert [metres(value) for value in (0.0, 0.49, 0.5, 1233.5, 1234.4999)] == [
        0,
        0,
        1,
        1234,
        1234,
    ]


def test_the_band_holding_the_whole_route_gives_every_metres_rate() -> None:
    # 399 m straight is 498.75 m of route: still the first band, 50 €/m.
    assert route_cost(RATES, 399, Decimal(0)) == Decimal("24937.50") + 200
    # 400 m straight is 500 m of route: the second band starts there, 40 €/m for all.
    assert route_cost(RATES, 400, Decimal(0)) == Decimal("20000.00") + 200
    # 1,600 m is 2,000 m of route: the last band, 30 €/m, plus the joint's fee.
    assert route_cost(RATES, 1600, Decimal(1000)) == Decimal("60000") + 1000 + 200


def test_a_route_is_rounded_to_the_cent() -> None:
    odd = RATES.model_copy(update={"route_factor": Decimal("1.333")})
    # 7 m × 1.333 = 9.331 m at 50 €/m = 466.55 €, plus 200 €.
    assert route_cost(odd, 7, Decimal(0)) == Decimal("666.55")


def test_the_shipped_rates_by_hand() -> None:
    rates = load_catalogue(REPOSITORY_CATALOGUE).site_connection
    assert rates is not None

    # 1,000 m straight: 1,300 m of route in the 0.5–2 km band at 42 €/m = 54,600 €;
    # from a joint 1,500 € + the site's 1,200 €; from a PoP 800 € + 1,200 €.
    assert cheaper_connection(rates, 1000, 1000) == Connection(ConnectFrom.POP, Decimal("56600.00"))
    assert route_cost(rates, 1000, rates.cable_splice_fee) == Decimal("57300.00")


def test_the_cheaper_connection() -> None:
    # 600 m to the PoP (750 m of route at 40 €) = 30,000 + 500 + 200 = 30,700;
    # 100 m to the cable (125 m at 50 €) = 6,250 + 1,000 + 200 = 7,450.
    assert cheaper_connection(RATES, 600, 100) == Connection(ConnectFrom.CABLE, Decimal("7450"))
    # 20 m to the PoP: 25 m × 50 + 500 + 200 = 1,950; 10 m to the cable: 625 + 1,200 = 1,825.
    assert cheaper_connection(RATES, 20, 10) == Connection(ConnectFrom.CABLE, Decimal("1825"))
    # At the PoP, on a cable leaving it: no joint to open.
    assert cheaper_connection(RATES, 0, 0) == Connection(ConnectFrom.POP, Decimal("700"))


def test_a_tie_in_cost_goes_to_the_pop() -> None:
    same = RATES.model_copy(update={"cable_splice_fee": RATES.pop_termination_fee})

    assert cheaper_connection(same, 300, 300) == Connection(ConnectFrom.POP, Decimal("19450"))


def test_half_a_network_or_no_rates() -> None:
    assert cheaper_connection(RATES, None, 100) == Connection(ConnectFrom.CABLE, Decimal("7450"))
    assert cheaper_connection(RATES, 100, None) == Connection(ConnectFrom.POP, Decimal("6950"))
    assert cheaper_connection(RATES, None, None) is None
    # Without rates the nearer is kept, uncosted.
    assert cheaper_connection(None, 100, 50) == Connection(ConnectFrom.CABLE, None)
    assert cheaper_connection(None, 50, 50) == Connection(ConnectFrom.POP, None)


def test_priority_at_its_top_corner() -> None:
    # Every part at 1: a hospital with nothing, needing 1 Gb/s, connected for free.
    top = priority_of(
        SiteCategory.HOSPITAL, Connectivity.NONE, 1000, NeedStatus.IDENTIFIED, Decimal(0)
    )
    assert top == 100


def test_priority_at_its_lowest_unconnected_corner() -> None:
    # 100 × (0.35 × 0.15 + 0.15 × 0 + 0.25 × 0.4 + 0.25 × 0) = 15.25.
    low = priority_of(
        SiteCategory.OTHER, Connectivity.FTTE, 1, NeedStatus.STUDIED, Decimal(500_000)
    )
    assert low == 15
    assert priority_of(SiteCategory.OTHER, Connectivity.FTTE, 1, NeedStatus.STUDIED, None) == 15


@pytest.mark.parametrize(
    ("connectivity", "status"),
    [(Connectivity.NONE, NeedStatus.CONNECTED), (Connectivity.FTTO, NeedStatus.IDENTIFIED)],
)
def test_a_connected_site_or_one_on_ftto_scores_zero(
    connectivity: Connectivity, status: NeedStatus
) -> None:
    assert priority_of(SiteCategory.HOSPITAL, connectivity, 10_000, status, Decimal(0)) == 0


def test_priority_in_the_middle_by_hand() -> None:
    # A school, connectivity and need unknown, 100,000 € (half the ceiling):
    # 100 × (0.35 × 0.5 + 0.15 × 0.5 + 0.25 × 0.9 + 0.25 × 0.5) = 60.
    assert (
        priority_of(
            SiteCategory.SCHOOL, Connectivity.UNKNOWN, None, NeedStatus.PLANNED, Decimal(100_000)
        )
        == 60
    )
    # A town hall on DSL needing 100 Mb/s, 20,000 €:
    # 100 × (0.35 × 0.6 + 0.15 × 2/3 + 0.25 × 0.7 + 0.25 × 0.9) = 71.
    assert (
        priority_of(
            SiteCategory.TOWN_HALL, Connectivity.DSL, 100, NeedStatus.IDENTIFIED, Decimal(20_000)
        )
        == 71
    )


def test_the_weights_add_up_and_cover_every_value() -> None:
    assert sum(priority.WEIGHTS.values()) == pytest.approx(1.0)
    assert set(priority.CONNECTIVITY_NEED) == set(Connectivity)
    assert set(priority.CATEGORY_WEIGHT) == set(SiteCategory)
    assert all(0 <= value <= 1 for value in priority.CONNECTIVITY_NEED.values())
    assert all(0 <= value <= 1 for value in priority.CATEGORY_WEIGHT.values())


def test_a_dearer_or_needier_site_moves_the_right_way() -> None:
    def score(connectivity: Connectivity, cost: int) -> int:
        return priority_of(
            SiteCategory.SCHOOL, connectivity, 100, NeedStatus.IDENTIFIED, Decimal(cost)
        )

    assert score(Connectivity.NONE, 10_000) > score(Connectivity.DSL, 10_000)
    assert score(Connectivity.DSL, 10_000) > score(Connectivity.DSL, 150_000)
