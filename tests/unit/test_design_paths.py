"""Paths over the backbone, on plain records: shortest by IGP or by length, capacity, and
protection paths that share no fibre cable with the working one; and the ports given to
circuit ends, judged on their own."""

from __future__ import annotations

import doctest
import importlib
import zlib

import pytest

from gigalis_nms.lab.names import operator_of
from gigalis_nms.provisioning.models import PathMetric
from gigalis_nms.provisioning.paths import (
    BackboneEdge,
    Route,
    candidate_routes,
    diverse_route,
    protected_pair,
    shortest_route,
)
from gigalis_nms.provisioning.ports import GivenPort, given_port_problem, handoff_operator


def edge(
    code: str,
    a: str,
    z: str,
    *,
    igp: int = 10,
    km: float = 10,
    free: int = 10_000,
    cables: tuple[str, ...] | None = None,
) -> BackboneEdge:
    """A link whose cable is named after it unless told otherwise."""
    ridden = (f"C-{code.removeprefix('BL-')}",) if cables is None else cables
    return BackboneEdge(
        link_id=zlib.crc32(code.encode()),
        code=code,
        a_device=a,
        z_device=z,
        igp_metric=igp,
        length_m=int(km * 1000),
        free_mbps=free,
        cables=frozenset(ridden),
    )


# Nantes to Cholet: cheap in IGP through Angers, short in fibre through La Roche-sur-Yon.
DIAMOND = [
    edge("BL-NTE1-ANG1", "nte1", "ang1", igp=10, km=90),
    edge("BL-ANG1-CHO1", "ang1", "cho1", igp=10, km=60),
    edge("BL-NTE1-LRY1", "nte1", "lry1", igp=30, km=20),
    edge("BL-LRY1-CHO1", "lry1", "cho1", igp=30, km=25),
]


@pytest.mark.parametrize(
    "module",
    [
        "gigalis_nms.provisioning.paths",
        "gigalis_nms.provisioning.ports",
        "gigalis_nms.provisioning.design",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_shortest_by_igp_and_by_length_differ() -> None:
    by_igp = shortest_route(DIAMOND, "nte1", "cho1", PathMetric.IGP)
    by_length = shortest_route(DIAMOND, "nte1", "cho1", PathMetric.LENGTH)

    assert by_igp is not None
    assert by_length is not None
    assert by_igp.codes == ("BL-NTE1-ANG1", "BL-ANG1-CHO1")
    assert by_igp.devices == ("nte1", "ang1", "cho1")
    assert (by_igp.igp_metric, by_igp.length_m) == (20, 150_000)
    assert by_length.codes == ("BL-NTE1-LRY1", "BL-LRY1-CHO1")
    assert (by_length.igp_metric, by_length.length_m) == (60, 45_000)


def test_a_path_is_read_from_its_start_whatever_the_links_direction() -> None:
    route = shortest_route(DIAMOND, "cho1", "nte1", PathMetric.IGP)

    assert route is not None
    assert route.devices == ("cho1", "ang1", "nte1")
    assert route.codes == ("BL-ANG1-CHO1", "BL-NTE1-ANG1")


def test_a_tie_on_the_metric_goes_to_the_other_metric_then_to_the_code() -> None:
    links = [
        edge("BL-A-B", "a", "b", igp=10, km=50),
        edge("BL-B-D", "b", "d", igp=10, km=50),
        edge("BL-A-C", "a", "c", igp=10, km=20),
        edge("BL-C-D", "c", "d", igp=10, km=20),
    ]

    route = shortest_route(links, "a", "d", PathMetric.IGP)

    assert route is not None
    assert route.codes == ("BL-A-C", "BL-C-D")  # same IGP, shorter fibre
    same_everything = [edge("BL-X-2", "x", "y"), edge("BL-X-1", "x", "y")]
    parallel = shortest_route(same_everything, "x", "y", PathMetric.IGP)
    assert parallel is not None
    assert parallel.codes == ("BL-X-1",)


def test_links_without_room_are_left_out_and_named() -> None:
    links = [*DIAMOND[:1], edge("BL-ANG1-CHO1", "ang1", "cho1", free=500), *DIAMOND[2:]]

    route = shortest_route(links, "nte1", "cho1", PathMetric.IGP, min_free_mbps=1000)
    unbounded = shortest_route(links, "nte1", "cho1", PathMetric.IGP)

    assert route is not None
    assert route.codes == ("BL-NTE1-LRY1", "BL-LRY1-CHO1")
    assert unbounded is not None
    assert [link.code for link in unbounded.short_of(1000)] == ["BL-ANG1-CHO1"]
    assert shortest_route(links, "nte1", "cho1", PathMetric.IGP, min_free_mbps=20_000) is None


def test_no_path_between_routers_that_no_links_join() -> None:
    assert shortest_route(DIAMOND, "nte1", "lmn1", PathMetric.IGP) is None
    island = [*DIAMOND, edge("BL-LMN1-LVL1", "lmn1", "lvl1")]
    assert shortest_route(island, "nte1", "lmn1", PathMetric.IGP) is None
    assert list(candidate_routes(island, "nte1", "lmn1", PathMetric.IGP)) == []


def test_both_ends_on_one_router_is_an_empty_path_with_nothing_to_protect() -> None:
    route = shortest_route(DIAMOND, "nte1", "nte1", PathMetric.IGP)

    assert route == Route(("nte1",))
    assert (route.codes, route.cables, route.length_m, route.igp_metric) == ((), (), 0, 0)
    assert diverse_route(DIAMOND, route, PathMetric.IGP) is None
    assert protected_pair(DIAMOND, "nte1", "nte1", PathMetric.IGP) is None


def test_a_link_looping_on_one_router_carries_nothing() -> None:
    links = [edge("BL-LOOP", "nte1", "nte1", igp=1), *DIAMOND]

    route = shortest_route(links, "nte1", "cho1", PathMetric.IGP)

    assert route is not None
    assert "BL-LOOP" not in route.codes


def test_the_protection_path_shares_no_cable_and_no_link() -> None:
    working, protect = protected_pair(DIAMOND, "nte1", "cho1", PathMetric.IGP) or (None, None)

    assert working is not None
    assert protect is not None
    assert working.codes == ("BL-NTE1-ANG1", "BL-ANG1-CHO1")
    assert protect.codes == ("BL-NTE1-LRY1", "BL-LRY1-CHO1")
    assert not set(working.cables) & set(protect.cables)
    assert not set(working.codes) & set(protect.codes)


def test_an_express_link_shares_the_cables_it_rides() -> None:
    # Nantes–Angers express rides both cables through Ancenis: no protection is possible.
    links = [
        edge("BL-NTE1-ANG1", "nte1", "ang1", igp=20, cables=("C-NTE1-ANC1", "C-ANC1-ANG1")),
        edge("BL-NTE1-ANC1", "nte1", "anc1", cables=("C-NTE1-ANC1",)),
        edge("BL-ANC1-ANG1", "anc1", "ang1", cables=("C-ANC1-ANG1",)),
    ]

    assert shortest_route(links, "nte1", "ang1", PathMetric.IGP) is not None
    assert protected_pair(links, "nte1", "ang1", PathMetric.IGP) is None
    detour = [*links, edge("BL-NTE1-CHO1", "nte1", "cho1"), edge("BL-CHO1-ANG1", "cho1", "ang1")]
    pair = protected_pair(detour, "nte1", "ang1", PathMetric.IGP)
    assert pair is not None
    assert pair[1].codes == ("BL-NTE1-CHO1", "BL-CHO1-ANG1")


def test_a_longer_working_path_is_taken_when_the_shortest_leaves_no_partner() -> None:
    # The shortest path s-a-b-t uses the middle link a-b and cuts both detours; the pair
    # s-a-t and s-b-t is cable-disjoint.
    links = [
        edge("BL-S-A", "s", "a", igp=1),
        edge("BL-A-B", "a", "b", igp=1),
        edge("BL-B-T", "b", "t", igp=1),
        edge("BL-S-B", "s", "b", igp=3),
        edge("BL-A-T", "a", "t", igp=3),
    ]
    shortest = shortest_route(links, "s", "t", PathMetric.IGP)
    assert shortest is not None
    assert diverse_route(links, shortest, PathMetric.IGP) is None

    pair = protected_pair(links, "s", "t", PathMetric.IGP)

    assert pair is not None
    working, protect = pair
    assert {working.codes, protect.codes} == {("BL-S-A", "BL-A-T"), ("BL-S-B", "BL-B-T")}
    assert protected_pair(links, "s", "t", PathMetric.IGP, candidates=1) is None


def test_a_parallel_link_on_another_cable_protects() -> None:
    links = [
        edge("BL-A-B-1", "a", "b", igp=10, cables=("C-NORTH",)),
        edge("BL-A-B-2", "a", "b", igp=20, cables=("C-SOUTH",)),
    ]

    pair = protected_pair(links, "a", "b", PathMetric.IGP)

    assert pair is not None
    assert (pair[0].codes, pair[1].codes) == (("BL-A-B-1",), ("BL-A-B-2",))


def test_the_protection_path_needs_room_too() -> None:
    links = [*DIAMOND[:3], edge("BL-LRY1-CHO1", "lry1", "cho1", igp=30, km=25, free=100)]

    assert protected_pair(links, "nte1", "cho1", PathMetric.IGP, min_free_mbps=1000) is None
    pair = protected_pair(links, "nte1", "cho1", PathMetric.IGP)
    assert pair is not None
    assert [link.code for link in pair[1].short_of(1000)] == ["BL-LRY1-CHO1"]


@pytest.mark.parametrize(
    "description",
    ["NNI ORNG", "wavelength GIG-WAV-000001 SFRB", "ORNG SFRB", "spare", "", None],
)
def test_a_port_hands_off_to_the_operator_the_lab_plugs_in(description: str | None) -> None:
    codes = frozenset({"ORNG", "SFRB"})
    assert handoff_operator(description, codes) == operator_of(description, codes)


def given(*, speed: int | None = 1000, enabled: bool = True, link: str | None = None) -> GivenPort:
    return GivenPort(7, "nte1-cr1", "eth11", speed, enabled, link)


@pytest.mark.parametrize(
    ("port", "mbps", "field", "reason"),
    [
        (given(link="BL-NTE1-ANG1", enabled=False, speed=100), 1000, "a_interface_id",
         "nte1-cr1 eth11 ends backbone link BL-NTE1-ANG1; a circuit ends on a customer port"),
        (given(enabled=False, speed=100), 1000, "a_interface_id",
         "nte1-cr1 eth11 is disabled (enabled: false)"),
        (given(speed=100), 1000, "bandwidth_mbps",
         "1000 Mb/s is more than the A end port nte1-cr1 eth11 runs at (100 Mb/s)"),
    ],
)  # fmt: skip
def test_a_given_port_names_its_first_fault(
    port: GivenPort, mbps: int, field: str, reason: str
) -> None:
    problem = given_port_problem(port, "a", mbps)

    assert problem is not None
    assert (problem.field, problem.reason) == (field, reason)


def test_a_given_port_of_unknown_or_enough_speed_is_accepted() -> None:
    assert given_port_problem(given(speed=None), "z", 400_000) is None
    assert given_port_problem(given(speed=1000), "z", 1000) is None
