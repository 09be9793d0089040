"""The Gigalis backbone described in inventory/ holds together.

These checks read the YAML files directly, with no database, so that a careless edit of the
network (a strand given twice, a PoP left on a single cable, a site moved to the wrong
commune) fails here before anyone tries to load it.
"""

from __future__ import annotations

import csv
import ipaddress
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml

from gigalis_nms.inventory.validators import departement_of, luhn_valid
from tests.conftest import need

INVENTORY = Path(__file__).resolve().parents[2] / "inventory"
COMMUNES_CSV = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "opendata"
    / "communes-pays-de-la-loire.csv"
)

DEPARTEMENTS = {"44", "49", "53", "72", "85"}
MAJOR_POPS = {"NTE1", "NTE2", "SNZ1", "ANG1", "CHO1", "LVL1", "LMN1", "LRY1"}
HUB = "NTE1"
# The communes the product issue names, by current INSEE code (several were merged).
REQUIRED_COMMUNES = {
    "44109": "Nantes",
    "44184": "Saint-Nazaire",
    "44003": "Ancenis-Saint-Géréon",
    "44036": "Châteaubriant",
    "49007": "Angers",
    "49099": "Cholet",
    "49328": "Saumur",
    "49331": "Segré-en-Anjou Bleu",
    "53130": "Laval",
    "53147": "Mayenne",
    "53062": "Château-Gontier-sur-Mayenne",
    "72181": "Le Mans",
    "72154": "La Flèche",
    "72264": "Sablé-sur-Sarthe",
    "72180": "Mamers",
    "85191": "La Roche-sur-Yon",
    "85194": "Les Sables-d'Olonne",
    "85092": "Fontenay-le-Comte",
    "85047": "Challans",
    "85128": "Luçon",
}
COORDINATE_TOLERANCE_DEG = 0.02
# The band of detour factors stated at the top of cables.yaml (railway 1.20 to power line
# 1.30); one metre either side allows for the rounding of length_m.
DETOUR_BAND = (1.20, 1.30)
EARTH_RADIUS_M = 6_371_008.8
MANAGEMENT_NETWORK = ipaddress.ip_network("198.51.100.0/24")
NATURAL_KEYS = {
    "organisations": "name",
    "sites": "code",
    "devices": "hostname",
    "cables": "code",
    "links": "code",
    "circuits": "ref",
}
SERVICE_PREFIX = {
    "dark_fibre": "GIG-DF-",
    "ethernet_eline": "GIG-ETH-",
    "wavelength": "GIG-WAV-",
    "hosting": "GIG-HST-",
}

Network = dict[str, list[dict[str, Any]]]


# --- reading the files --------------------------------------------------------------------


def read_inventory(folder: Path) -> Network:
    """Every top-level list of every YAML file in the folder, merged by key, as the loader
    reads them."""
    merged: Network = defaultdict(list)
    for path in sorted(folder.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, objects in document.items():
            merged[key].extend(objects)
    return dict(merged)


@pytest.fixture(scope="module")
def network() -> Network:
    return read_inventory(INVENTORY)


@pytest.fixture(scope="module")
def communes() -> dict[str, dict[str, str]]:
    need(COMMUNES_CSV.exists(), f"the communes open data at {COMMUNES_CSV}")
    with COMMUNES_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["insee_com"]: row for row in csv.DictReader(handle)}


def index(network: Network, kind: str) -> dict[str, dict[str, Any]]:
    key = NATURAL_KEYS[kind]
    return {item[key]: item for item in network.get(kind, [])}


def pops(network: Network) -> list[dict[str, Any]]:
    return [site for site in network["sites"] if site["kind"] == "pop"]


def device_of(endpoint: str) -> str:
    hostname, _, _ = endpoint.partition(":")
    return hostname


def site_of_device(network: Network) -> dict[str, str]:
    return {device["hostname"]: device["site"] for device in network["devices"]}


def link_sites(sites: dict[str, str], link: dict[str, Any]) -> tuple[str, str]:
    """The sites of a link's two ends, given each device's site."""
    return sites[device_of(link["a"])], sites[device_of(link["z"])]


def great_circle_m(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Distance between two sites on a sphere, in metres (haversine)."""
    lat_a, lat_b = math.radians(a["latitude"]), math.radians(b["latitude"])
    d_lat = lat_b - lat_a
    d_lon = math.radians(b["longitude"] - a["longitude"])
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def walk(start: str, steps: list[tuple[str, str]]) -> str | None:
    """Follows hops (each a pair of sites, in either direction) from a site; None when a hop
    does not start where the previous one ended."""
    here = start
    for one_end, other_end in steps:
        if here == one_end:
            here = other_end
        elif here == other_end:
            here = one_end
        else:
            return None
    return here


def cable_spans(
    cables: dict[str, dict[str, Any]], legs: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The (a_site, z_site) of each cable a route rides."""
    return [(cables[leg["cable"]]["a_site"], cables[leg["cable"]]["z_site"]) for leg in legs]


def held_strands(network: Network) -> Iterator[tuple[str, str, int]]:
    """(holder, cable, strand) for every strand a link or a dark-fibre circuit holds."""
    for link in network["links"]:
        for leg in link["route"]:
            for strand in leg["strands"]:
                yield link["code"], leg["cable"], strand
    for circuit in network["circuits"]:
        for leg in circuit.get("strands", []):
            for strand in leg["strands"]:
                yield circuit["ref"], leg["cable"], strand


def interface_refs(network: Network) -> set[str]:
    return {
        f"{device['hostname']}:{interface['name']}"
        for device in network["devices"]
        for interface in device["interfaces"]
    }


# --- identity and geography ---------------------------------------------------------------


def test_natural_keys_are_unique(network: Network) -> None:
    for kind, key in NATURAL_KEYS.items():
        counts = Counter(item[key] for item in network[kind])
        assert [value for value, n in counts.items() if n > 1] == [], kind


def test_there_are_at_least_25_pops(network: Network) -> None:
    assert len(pops(network)) >= 25


def test_pops_cover_the_five_departements(network: Network) -> None:
    found = Counter(departement_of(site["insee_code"]) for site in pops(network))
    assert set(found) == DEPARTEMENTS
    assert min(found.values()) >= 3


def test_the_communes_of_the_issue_have_a_pop(network: Network) -> None:
    served = {site["insee_code"] for site in pops(network)}
    missing = {code: name for code, name in REQUIRED_COMMUNES.items() if code not in served}
    assert missing == {}


def test_sites_stand_at_their_commune(
    network: Network, communes: dict[str, dict[str, str]]
) -> None:
    for site in network["sites"]:
        commune = communes.get(site["insee_code"])
        assert commune is not None, f"{site['code']}: unknown INSEE code {site['insee_code']}"
        assert abs(site["latitude"] - float(commune["lat"])) <= COORDINATE_TOLERANCE_DEG
        assert abs(site["longitude"] - float(commune["lng"])) <= COORDINATE_TOLERANCE_DEG


# --- organisations ------------------------------------------------------------------------


def test_sirens_pass_the_luhn_checksum(network: Network) -> None:
    for organisation in network["organisations"]:
        siren = organisation.get("siren")
        if siren is not None:
            assert isinstance(siren, str), f"{organisation['name']}: quote the SIREN"
            assert len(siren) == 9, organisation["name"]
            assert luhn_valid(siren), organisation["name"]


def test_operators_have_an_arcep_code_and_contacts(network: Network) -> None:
    operators = [org for org in network["organisations"] if org["kind"] == "operator"]
    assert len(operators) >= 4
    for operator in operators:
        assert operator.get("arcep_code"), operator["name"]
        roles = {contact.get("role") for contact in operator["contacts"]}
        assert {"NOC", "billing"} <= roles, operator["name"]


# --- devices --------------------------------------------------------------------------------


def test_major_pops_have_two_routers_and_the_others_one(network: Network) -> None:
    routers = Counter(device["site"] for device in network["devices"])
    for site in pops(network):
        expected = 2 if site["code"] in MAJOR_POPS else 1
        assert routers[site["code"]] == expected, site["code"]


def test_management_addresses_are_unique_documentation_addresses(network: Network) -> None:
    addresses = [ipaddress.ip_address(d["management_address"]) for d in network["devices"]]
    assert len(set(addresses)) == len(addresses)
    assert all(address in MANAGEMENT_NETWORK for address in addresses)


def test_interface_names_are_unique_per_device(network: Network) -> None:
    for device in network["devices"]:
        names = [interface["name"] for interface in device["interfaces"]]
        assert len(set(names)) == len(names), device["hostname"]


# --- fibre ----------------------------------------------------------------------------------


def test_every_pop_has_two_cable_disjoint_routes_to_nantes(network: Network) -> None:
    graph = nx.Graph()
    for cable in network["cables"]:
        if cable["status"] == "active":
            graph.add_edge(cable["a_site"], cable["z_site"])

    fragile = {
        site["code"]: nx.edge_connectivity(graph, site["code"], HUB)
        for site in pops(network)
        if site["code"] != HUB
    }
    assert {code: routes for code, routes in fragile.items() if routes < 2} == {}


def test_cable_lengths_follow_the_detour_factor(network: Network) -> None:
    sites = index(network, "sites")
    low, high = DETOUR_BAND
    for cable in network["cables"]:
        crow_flies = great_circle_m(sites[cable["a_site"]], sites[cable["z_site"]])
        assert low * crow_flies - 1 <= cable["length_m"] <= high * crow_flies + 1, cable["code"]


def test_cable_ownership_is_consistent(network: Network) -> None:
    organisations = index(network, "organisations")
    for cable in network["cables"]:
        owner = organisations[cable["owner"]]
        assert ("iru_end_date" in cable) == (cable["ownership"] == "iru"), cable["code"]
        if cable["ownership"] != "own":
            assert owner["kind"] == "fibre_owner", cable["code"]
        assert cable["fibre_count"] in {48, 72, 96, 144, 288}, cable["code"]


def test_no_strand_is_held_twice(network: Network) -> None:
    holders = defaultdict(list)
    for holder, cable, strand in held_strands(network):
        holders[cable, strand].append(holder)
    assert {place: who for place, who in holders.items() if len(who) > 1} == {}


def test_held_strands_exist_and_are_sound(network: Network) -> None:
    cables = index(network, "cables")
    for holder, code, strand in held_strands(network):
        cable = cables[code]
        assert 1 <= strand <= cable["fibre_count"], f"{holder}: {code} has no strand {strand}"
        assert strand not in cable.get("faulty_strands", []), f"{holder}: {code}/{strand}"


# --- links ----------------------------------------------------------------------------------


def test_link_ends_and_cables_resolve(network: Network) -> None:
    interfaces = interface_refs(network)
    cables = index(network, "cables")
    for link in network["links"]:
        assert link["a"] in interfaces, link["code"]
        assert link["z"] in interfaces, link["code"]
        assert all(leg["cable"] in cables for leg in link["route"]), link["code"]


def test_each_interface_ends_one_link_at_most(network: Network) -> None:
    ends = Counter(end for link in network["links"] for end in (link["a"], link["z"]))
    assert [end for end, n in ends.items() if n > 1] == []


def test_link_routes_join_their_ends(network: Network) -> None:
    cables, sites = index(network, "cables"), site_of_device(network)
    for link in network["links"]:
        a_site, z_site = link_sites(sites, link)
        assert walk(a_site, cable_spans(cables, link["route"])) == z_site, link["code"]
        assert all(len(leg["strands"]) == 2 for leg in link["route"]), link["code"]


def test_link_capacity_matches_its_ports(network: Network) -> None:
    speeds = {
        f"{device['hostname']}:{interface['name']}": interface.get("speed_mbps")
        for device in network["devices"]
        for interface in device["interfaces"]
    }
    for link in network["links"]:
        assert speeds[link["a"]] == speeds[link["z"]] == link["capacity_mbps"], link["code"]


# --- circuits -------------------------------------------------------------------------------


def circuit_ends(circuit: dict[str, Any]) -> list[dict[str, Any]]:
    return [end for end in (circuit["a"], circuit.get("z")) if end is not None]


def test_circuit_operators_and_refs_resolve(network: Network) -> None:
    organisations = index(network, "organisations")
    for circuit in network["circuits"]:
        assert organisations[circuit["operator"]]["kind"] == "operator", circuit["ref"]
        assert circuit["ref"].startswith(SERVICE_PREFIX[circuit["service_type"]]), circuit["ref"]


def test_circuit_ends_resolve_to_ports_at_their_site(network: Network) -> None:
    sites, devices = index(network, "sites"), index(network, "devices")
    interfaces = interface_refs(network)
    for circuit in network["circuits"]:
        for end in circuit_ends(circuit):
            assert end["site"] in sites, circuit["ref"]
            if "interface" in end:
                assert end["interface"] in interfaces, circuit["ref"]
                assert devices[device_of(end["interface"])]["site"] == end["site"], circuit["ref"]


def test_circuit_links_and_cables_resolve(network: Network) -> None:
    links, cables = index(network, "links"), index(network, "cables")
    for circuit in network["circuits"]:
        assert all(code in links for code in circuit.get("path", [])), circuit["ref"]
        assert all(leg["cable"] in cables for leg in circuit.get("strands", [])), circuit["ref"]


def test_circuit_paths_join_their_ends(network: Network) -> None:
    links, sites = index(network, "links"), site_of_device(network)
    for circuit in network["circuits"]:
        if "path" not in circuit:
            continue
        hops = [link_sites(sites, links[code]) for code in circuit["path"]]
        assert walk(circuit["a"]["site"], hops) == circuit["z"]["site"], circuit["ref"]


def test_dark_fibre_strands_join_their_ends(network: Network) -> None:
    cables = index(network, "cables")
    for circuit in network["circuits"]:
        if circuit["service_type"] != "dark_fibre":
            continue
        spans = cable_spans(cables, circuit["strands"])
        assert walk(circuit["a"]["site"], spans) == circuit["z"]["site"], circuit["ref"]
        assert "bandwidth_mbps" not in circuit, circuit["ref"]


def test_circuit_bandwidth_fits_link_capacity(network: Network) -> None:
    held: Counter[str] = Counter()
    for circuit in network["circuits"]:
        if circuit["status"] != "terminated":
            for code in circuit.get("path", []):
                held[code] += circuit["bandwidth_mbps"]
    links = index(network, "links")
    assert {code: mbps for code, mbps in held.items() if mbps > links[code]["capacity_mbps"]} == {}


def test_vlans_are_unique_per_port(network: Network) -> None:
    tagged = Counter(
        (end["interface"], end["vlan"])
        for circuit in network["circuits"]
        for end in circuit_ends(circuit)
        if "vlan" in end
    )
    assert [place for place, n in tagged.items() if n > 1] == []
    assert all(1 <= vlan <= 4094 for _, vlan in tagged)
