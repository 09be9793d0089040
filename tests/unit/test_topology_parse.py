"""Parsing published topologies (pure): the six shared Topology Zoo files, GML, bad input."""

from __future__ import annotations

import doctest
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory import topology
from gigalis_nms.inventory.topology import TopologyGraph, parse_topology, target_url
from gigalis_nms.inventory.validators import SITE_CODE
from gigalis_nms.settings import Settings
from tests.conftest import need

ZOO = Path(__file__).resolve().parents[3] / "shared" / "data" / "topology-zoo"

# file: (sites, cables, nodes skipped, hyperedge groups, edges skipped, parallel cables)
EXPECTED = {
    "Renater2010": (37, 48, 5, 1, 8, 0),
    "Geant2012": (37, 58, 3, 0, 3, 0),
    "Surfnet": (50, 73, 0, 0, 0, 5),
    "Uninett2011": (66, 95, 3, 0, 3, 2),
    "Cogentco": (186, 248, 0, 9, 0, 5),
    "Kdl": (726, 899, 0, 20, 0, 9),
}


def zoo_file(name: str) -> Path:
    need(ZOO.is_dir(), f"Topology Zoo files not found at {ZOO}")
    return ZOO / f"{name}.graphml"


def skipped_kinds(graph: TopologyGraph) -> Counter[str]:
    return Counter(item.item.split(" ")[0] for item in graph.skipped)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(topology)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_file_parses_with_its_skipped_items(name: str) -> None:
    graph = parse_topology(zoo_file(name))

    sites, cables, nodes_skipped, hyperedges, edges_skipped, parallel = EXPECTED[name]
    kinds = skipped_kinds(graph)
    assert (len(graph.nodes), len(graph.edges)) == (sites, cables)
    assert (kinds["node"], kinds["hyperedge"], kinds["edge"]) == (
        nodes_skipped,
        hyperedges,
        edges_skipped,
    )
    assert sum(not edge.code.endswith("-1") for edge in graph.edges) == parallel
    assert all(item.reason for item in graph.skipped)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_codes_are_valid_and_unique(name: str) -> None:
    graph = parse_topology(zoo_file(name))

    site_codes = [node.code for node in graph.nodes]
    cable_codes = [edge.code for edge in graph.edges]
    assert len(set(site_codes)) == len(site_codes)
    assert all(SITE_CODE.fullmatch(code) for code in site_codes)
    assert len(set(cable_codes)) == len(cable_codes)
    assert all(2 <= len(code) <= 64 for code in cable_codes)


def test_network_name_comes_from_the_file() -> None:
    names = {name: parse_topology(zoo_file(name)).network for name in EXPECTED}
    assert names == {
        "Renater2010": "Renater",
        "Geant2012": "GEANT",
        "Surfnet": "SURFNET",
        "Uninett2011": "Uninett",
        "Cogentco": "Cogent",
        "Kdl": "Kentucky Datalink",
    }


def test_nodes_without_coordinates_are_skipped_with_their_edges() -> None:
    graph = parse_topology(zoo_file("Geant2012"))

    skipped = {item.item: item.reason for item in graph.skipped}
    assert skipped["node 'UA' [10]"] == "no coordinates: a site needs a place"
    assert "'UA' [10] not imported" in skipped["edge 'PL' [3] – 'UA' [10]"]
    assert "UA" not in {node.code for node in graph.nodes}


def test_repeated_labels_get_numbered_codes() -> None:
    graph = parse_topology(zoo_file("Kdl"))

    lebanon = sorted(node.code for node in graph.nodes if node.label == "Lebanon")
    assert lebanon == ["LEBANON", "LEBANON-2", "LEBANON-3", "LEBANON-4", "LEBANON-5", "LEBANON-6"]
    uninett = parse_topology(zoo_file("Uninett2011"))
    assert sorted(node.code for node in uninett.nodes if node.label == "UiO") == ["UIO", "UIO-2"]


def test_parallel_edges_stay_distinct_cables() -> None:
    graph = parse_topology(zoo_file("Surfnet"))

    by_stem = Counter(edge.code.rsplit("-", 1)[0] for edge in graph.edges)
    doubled = {stem for stem, count in by_stem.items() if count == 2}
    assert len(doubled) == 5
    stem = sorted(doubled)[0]
    assert {f"{stem}-1", f"{stem}-2"} <= {edge.code for edge in graph.edges}


def test_a_hyperedge_joins_its_places_pairwise() -> None:
    graph = parse_topology(zoo_file("Cogentco"))

    medium = [edge for edge in graph.edges if edge.via_hyperedge == "hyperedge 148"]
    pairs = {frozenset((edge.a.label, edge.z.label)) for edge in medium}
    assert pairs == {
        frozenset(("Washington", "Charlotte")),
        frozenset(("Washington", "Greensboro")),
        frozenset(("Charlotte", "Greensboro")),
    }
    # Hyperedges are never sites, even where they chain into one medium.
    assert not [node for node in graph.nodes if node.label == "None"]
    chained = next(item for item in graph.skipped if item.item == "hyperedge 144+149+150")
    assert "New Orleans" in chained.reason
    assert "Birmingham" in chained.reason


def test_a_hyperedge_to_places_without_coordinates_yields_skipped_edges() -> None:
    graph = parse_topology(zoo_file("Renater2010"))

    reasons = {item.item: item.reason for item in graph.skipped}
    assert "'Paris' [32]" in reasons["hyperedge 20"]
    outre_mer = "edge 'Outre Mer: Nouvelle Caledonie, Polynesie Francaise, La Reunion' [21]"
    assert "not imported" in reasons[f"{outre_mer} – 'Paris' [32]"]
    assert not [edge for edge in graph.edges if edge.via_hyperedge]


def test_speeds_and_lengths() -> None:
    graph = parse_topology(zoo_file("Renater2010"))

    assert {edge.speed_mbps for edge in graph.edges} == {155.0}
    nantes_angers = next(
        edge for edge in graph.edges if {edge.a.label, edge.z.label} == {"Nantes", "Angers"}
    )
    assert nantes_angers.code == "RENATER-ANGERS-NANTES-1"
    assert 79_000 < nantes_angers.distance_m < 82_000


SMALL_GML = """\
graph [
  multigraph 1
  Network "Petit R&#233;seau"
  node [ id 0 label "Nantes" Latitude 47.2181 Longitude -1.5528 Country "France" ]
  node [ id 1 label "Nantes" Latitude 47.2300 Longitude -1.5500 ]
  node [ id 2 label "Angers" Latitude 47.4784 Longitude -0.5632 ]
  node [ id 3 label "Nowhere" ]
  node [ id 4 label "None" hyperedge 1 ]
  node [ id 5 label "Le Mans" Latitude 48.0061 Longitude 0.1996 ]
  edge [ source 0 target 2 LinkSpeed "10" LinkSpeedUnits "G" LinkLabel "10G" ]
  edge [ source 0 target 2 ]
  edge [ source 2 target 2 ]
  edge [ source 2 target 3 ]
  edge [ source 4 target 0 ]
  edge [ source 4 target 1 ]
  edge [ source 4 target 5 ]
]
"""


def test_a_small_gml_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "petit.gml"
    path.write_text(SMALL_GML, encoding="ascii")  # GML is ASCII, with &#…; for the rest

    graph = parse_topology(path)

    assert graph.network == "Petit Réseau"
    assert [node.code for node in graph.nodes] == ["NANTES", "NANTES-2", "ANGERS", "LE-MANS"]
    assert graph.nodes[0].country == "France"
    codes = [edge.code for edge in graph.edges]
    assert codes[:2] == ["PETIT-RESEAU-ANGERS-NANTES-1", "PETIT-RESEAU-ANGERS-NANTES-2"]
    assert graph.edges[0].speed_mbps == 10_000.0
    assert graph.edges[0].link_label == "10G"
    via = [edge for edge in graph.edges if edge.via_hyperedge == "hyperedge 4"]
    assert len(via) == 3  # Nantes, Nantes-2 and Le Mans, pairwise
    reasons = {item.item: item.reason for item in graph.skipped}
    assert reasons["node 'Nowhere' [3]"].startswith("no coordinates")
    assert reasons["edge 'Angers' [2] – 'Angers' [2]"].startswith("self-loop")
    assert "not imported" in reasons["edge 'Angers' [2] – 'Nowhere' [3]"]


def test_a_shared_file_converted_to_gml_parses_alike(tmp_path: Path) -> None:
    source = zoo_file("Renater2010")
    graph = nx.read_graphml(source)
    # write_gml writes node keys as labels, so the nodes are keyed by their (unique) label.
    labelled = nx.relabel_nodes(graph, {key: attrs["label"] for key, attrs in graph.nodes.items()})
    gml = tmp_path / "Renater2010.gml"
    nx.write_gml(labelled, gml)

    from_gml, from_graphml = parse_topology(gml), parse_topology(source)

    assert from_gml.network == from_graphml.network
    assert {node.code for node in from_gml.nodes} == {node.code for node in from_graphml.nodes}
    assert sorted((e.code, round(e.distance_m)) for e in from_gml.edges) == sorted(
        (e.code, round(e.distance_m)) for e in from_graphml.edges
    )
    assert len(from_gml.skipped) == len(from_graphml.skipped)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot be read"),
        ("<graphml><graph>", "malformed XML"),
        ("<?xml version='1.0'?><html/>", "not a GraphML graph"),
        ("this is not a graph", "neither GraphML nor GML"),
        ("", "neither GraphML nor GML"),
        ('graph [ node [ id 0 label "A" ] node [ id 1 label "B" ] ]', "no node with coordinates"),
    ],
)
def test_bad_input_names_the_file_and_the_reason(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "bad.graphml"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(InvalidInput) as raised:
        parse_topology(path)

    assert str(path) in raised.value.message
    assert reason in raised.value.message


def test_the_default_target_is_a_file_of_its_own(tmp_path: Path) -> None:
    current = Settings(data_dir=tmp_path, database_url=None)

    url = target_url(Path("zoo/Renater2010.graphml"), current, None)

    assert url == f"sqlite:///{tmp_path.resolve()}/topologies/renater2010.sqlite3"


@pytest.mark.parametrize(
    ("main_url", "given_url"),
    [
        ("sqlite:///{tmp}/gigalis.sqlite3", "sqlite:///{tmp}/../{name}/gigalis.sqlite3"),
        (
            "postgresql+psycopg://gigalis:secret@db.example:5432/gigalis",
            "postgresql://other@db.example/gigalis",
        ),
    ],
)
def test_the_gigalis_database_is_refused(tmp_path: Path, main_url: str, given_url: str) -> None:
    current = Settings(data_dir=tmp_path, database_url=main_url.format(tmp=tmp_path))
    given = given_url.format(tmp=tmp_path, name=tmp_path.name)

    with pytest.raises(InvalidInput, match="is the Gigalis database"):
        target_url(Path("Kdl.graphml"), current, given)


def test_detour_factor_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput, match="detour_factor"):
        topology.check_detour_factor(0.9)


def test_plan_skips_cables_longer_than_a_cable_may_be() -> None:
    graph = parse_topology(zoo_file("Cogentco"))

    plans, too_long = topology.plan_cables(graph.edges, 1.0)

    assert len(plans) + len(too_long) == len(graph.edges)
    assert "cable COGENT-LONDON-NEW-YORK-1" in {item.item for item in too_long}
    assert all(plan.length_m <= topology.MAX_CABLE_LENGTH_M for plan in plans)


def test_zero_length_edges_get_one_metre() -> None:
    graph = parse_topology(zoo_file("Uninett2011"))

    plans, _ = topology.plan_cables(graph.edges, 1.0)

    same_place = [plan for plan in plans if plan.edge.distance_m == 0]
    assert same_place
    assert {plan.length_m for plan in same_place} == {1}
