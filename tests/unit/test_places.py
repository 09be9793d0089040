"""The nearest PoP to a point, by great-circle distance."""

from __future__ import annotations

from gigalis_nms.ordering.places import SitePoint, pops_by_distance

NANTES = SitePoint(1, "NTE1", 47.2181, -1.5528)
ANGERS = SitePoint(2, "ANG1", 47.4784, -0.5632)
ANGERS_TWIN = SitePoint(3, "ANG0", 47.4784, -0.5632)


def test_pops_come_nearest_first_with_their_distance_in_metres() -> None:
    nearby = pops_by_distance([NANTES, ANGERS], 47.2181, -1.5528)
    assert [(pop.code, pop.distance_m) for pop in nearby] == [
        ("NTE1", 0),
        ("ANG1", 79_976),
    ]  # ≈ 80.0 km


def test_a_tie_goes_to_the_first_code() -> None:
    nearby = pops_by_distance([ANGERS, ANGERS_TWIN], 47.47, -0.55)
    assert [pop.code for pop in nearby] == ["ANG0", "ANG1"]
    assert nearby[0].distance_m == nearby[1].distance_m


def test_no_pops_no_answer() -> None:
    assert pops_by_distance([], 47.0, -1.0) == []
