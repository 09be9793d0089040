"""A synthetic Gigalis network, large and deterministic, written as an inventory folder.

Sites are scattered over the five départements; cables join each site to its nearest
neighbours (a spanning tree first, so the mesh is connected, then the shortest remaining
pairs); every cable carries one backbone link on strands 1-2. Circuits are E-Lines between a
site and a site one to three links away, along those links, with a VLAN of their own on a
customer port at each end; a few are dark fibre (free strand pairs) or hosting.

The same seed and size always write the same files, so timings compare between runs.

    python -m bench.generate OUT_FOLDER [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from gigalis_nms.inventory.validators import luhn_valid

DEFAULT_SEED = 20_251_204
# (number, site code prefix, name, south, north, west, east): each département and a rough
# bounding box of it, in degrees.
DEPARTEMENTS = (
    ("44", "LAT", "Loire-Atlantique", 46.86, 47.83, -2.55, -1.00),
    ("49", "MEL", "Maine-et-Loire", 46.97, 47.81, -1.35, 0.23),
    ("53", "MAY", "Mayenne", 47.73, 48.57, -1.24, -0.05),
    ("72", "SAR", "Sarthe", 47.57, 48.49, -0.45, 0.92),
    ("85", "VEN", "Vendée", 46.27, 47.08, -2.40, -0.54),
)
FIBRE_COUNTS = (24, 36, 48, 72)
CUSTOMER_PORTS = ("eth101", "eth102", "eth103", "eth104")
FIRST_VLAN, LAST_VLAN = 100, 4094
BANDWIDTHS = (10, 20, 50, 100)
# circuit status → share in percent
STATUSES = {"active": 85, "provisioning": 5, "designed": 4, "reserved": 3, "suspended": 3}
DARK_FIBRE_SHARE, HOSTING_SHARE = 0.02, 0.02
EARTH_RADIUS_M = 6_371_000
DETOUR = 1.25  # route length over crow-flies distance, as in the real inventory


@dataclass(frozen=True)
class NetworkSize:
    sites: int
    cables: int
    circuits: int
    operators: int = 20

    @property
    def label(self) -> str:
        return f"{self.sites}-sites-{self.cables}-cables-{self.circuits}-circuits"


FULL = NetworkSize(sites=2000, cables=5000, circuits=50_000)
QUICK = NetworkSize(sites=200, cables=500, circuits=5000)


@dataclass
class SyntheticSite:
    code: str
    latitude: float
    longitude: float
    hostnames: list[str] = field(default_factory=list)
    # (neighbour site index, link code) along every backbone link leaving the site
    neighbours: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Port:
    """A customer port and the next VLAN free on it."""

    interface: str
    next_vlan: int = FIRST_VLAN


@dataclass
class SyntheticNetwork:
    """The records of each file, built step by step, and what the circuits still need."""

    rng: random.Random
    size: NetworkSize
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sites: list[SyntheticSite] = field(default_factory=list)
    ports: dict[int, list[Port]] = field(default_factory=dict)  # site index → its ports
    capacity: dict[str, int] = field(default_factory=dict)  # link code → Mb/s left
    free_strand: dict[str, int] = field(default_factory=dict)  # cable code → next free pair
    fibre_count: dict[str, tuple[int, frozenset[int]]] = field(default_factory=dict)
    operators: list[str] = field(default_factory=list)


# --- organisations ------------------------------------------------------------------------


def siren_from(seed: int) -> str:
    """A 9-digit number with a valid Luhn checksum (the 9th digit completes it)."""
    stem = f"{seed:08d}"
    return next(stem + str(last) for last in range(10) if luhn_valid(stem + str(last)))


def organisations(network: SyntheticNetwork) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"name": "Gigalis", "kind": "member", "siren": siren_from(2535)},
        {"name": "SNCF Réseau", "kind": "fibre_owner", "siren": siren_from(41228)},
        {"name": "RTE", "kind": "fibre_owner", "siren": siren_from(44461)},
        {"name": "Fibre Ouest Équipements", "kind": "supplier"},
    ]
    for number in range(1, network.size.operators + 1):
        name = f"Opérateur Ligérien {number:02d}"
        network.operators.append(name)
        records.append(
            {
                "name": name,
                "kind": "operator",
                "siren": siren_from(50_000_000 + number * 1013),
                "arcep_code": f"OPL{number:02d}",
                "contacts": [
                    {
                        "name": f"NOC OPL{number:02d}",
                        "role": "NOC",
                        "email": f"noc@opl{number:02d}.example.net",
                    }
                ],
            }
        )
    for number in range(1, 11):
        records.append({"name": f"Communauté de communes {number:02d}", "kind": "member"})
    return records


# --- sites and the cable mesh -------------------------------------------------------------


def place_sites(network: SyntheticNetwork) -> list[dict[str, Any]]:
    rng, records = network.rng, []
    for index in range(network.size.sites):
        number, prefix, name, south, north, west, east = DEPARTEMENTS[index % len(DEPARTEMENTS)]
        code = f"{prefix}{index // len(DEPARTEMENTS) + 1:04d}"
        latitude = round(rng.uniform(south, north), 5)
        longitude = round(rng.uniform(west, east), 5)
        network.sites.append(SyntheticSite(code, latitude, longitude))
        records.append(
            {
                "code": code,
                "name": f"{name} – point {code[3:]}",
                "kind": rng.choice(("pop", "nro", "nro", "shelter")),
                "insee_code": f"{number}{rng.randint(1, 350):03d}",
                "latitude": latitude,
                "longitude": longitude,
                "status": "active",
            }
        )
    return records


def distance_m(a: SyntheticSite, b: SyntheticSite) -> float:
    """Great-circle distance (haversine, sphere of radius 6371 km)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def candidate_pairs(sites: list[SyntheticSite], per_site: int) -> list[tuple[float, int, int]]:
    """Each site with (about) its ``per_site`` nearest neighbours, shortest pairs first.

    Sites are bucketed in a grid of cells holding two sites on average; each site looks at
    the cells around its own, one ring wider than needed to find enough candidates.
    """
    cell = math.sqrt(_area(sites) * 2 / len(sites))
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, site in enumerate(sites):
        grid[_cell_of(site, cell)].append(index)
    pairs: dict[tuple[int, int], float] = {}
    for i, site in enumerate(sites):
        near = _around(grid, _cell_of(site, cell), per_site + 1)
        nearest = heapq.nsmallest(per_site + 1, near, key=lambda j: _flat(site, sites[j]))
        for j in nearest:
            if j != i:
                pairs[(min(i, j), max(i, j))] = distance_m(site, sites[j])
    return sorted((length, i, j) for (i, j), length in pairs.items())


def _area(sites: list[SyntheticSite]) -> float:
    latitudes = [site.latitude for site in sites]
    longitudes = [site.longitude for site in sites]
    return (max(latitudes) - min(latitudes)) * (max(longitudes) - min(longitudes)) or 1.0


def _cell_of(site: SyntheticSite, cell: float) -> tuple[int, int]:
    return math.floor(site.latitude / cell), math.floor(site.longitude / cell)


def _around(
    grid: dict[tuple[int, int], list[int]], centre: tuple[int, int], wanted: int
) -> list[int]:
    ring = 1
    while True:
        found = [
            index
            for row in range(centre[0] - ring, centre[0] + ring + 1)
            for column in range(centre[1] - ring, centre[1] + ring + 1)
            for index in grid.get((row, column), ())
        ]
        if len(found) >= wanted * 3 or ring > 64:
            return found
        ring += 1


def _flat(a: SyntheticSite, b: SyntheticSite) -> float:
    """A cheap stand-in for ranking neighbours: equirectangular, in squared degrees."""
    return (a.latitude - b.latitude) ** 2 + ((a.longitude - b.longitude) * 0.68) ** 2


class Components:
    """Union-find over site indexes, to build a spanning tree."""

    def __init__(self, count: int) -> None:
        self.parent = list(range(count))

    def root(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> bool:
        root_a, root_b = self.root(a), self.root(b)
        if root_a == root_b:
            return False
        self.parent[root_b] = root_a
        return True


def mesh(sites: list[SyntheticSite], cable_count: int) -> list[tuple[int, int]]:
    """``cable_count`` site pairs forming a connected graph, short cables preferred."""
    per_site = max(6, math.ceil(2 * cable_count / len(sites)) + 3)
    candidates = candidate_pairs(sites, per_site)
    components = Components(len(sites))
    tree = [(i, j) for _, i, j in candidates if components.join(i, j)]
    tree += _bridges(sites, components)
    chosen = set(tree)
    extra = [(i, j) for _, i, j in candidates if (i, j) not in chosen]
    pairs = tree + extra[: cable_count - len(tree)]
    if len(pairs) < cable_count:
        raise ValueError(f"only {len(pairs)} cables possible for {len(sites)} sites")
    return pairs


def _bridges(sites: list[SyntheticSite], components: Components) -> list[tuple[int, int]]:
    """The shortest pairs that join the nearest-neighbour islands into one network."""
    bridges: list[tuple[int, int]] = []
    while True:
        main = components.root(0)
        outside = [i for i in range(len(sites)) if components.root(i) != main]
        if not outside:
            return bridges
        inside = [i for i in range(len(sites)) if components.root(i) == main]
        _, i, j = min((_flat(sites[i], sites[j]), i, j) for i in inside for j in outside)
        components.join(i, j)
        bridges.append((min(i, j), max(i, j)))


def lay_cables(network: SyntheticNetwork, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rng, records = network.rng, []
    for i, j in pairs:
        a, z = network.sites[i], network.sites[j]
        code = f"C-{a.code}-{z.code}"
        fibre_count = rng.choice(FIBRE_COUNTS)
        record: dict[str, Any] = {
            "code": code,
            "a_site": a.code,
            "z_site": z.code,
            "length_m": max(100, round(distance_m(a, z) * DETOUR)),
            "fibre_count": fibre_count,
            **_ownership(rng),
            "status": "active",
        }
        faulty: frozenset[int] = frozenset()
        if rng.random() < 0.05:  # tube 1 stays whole: the backbone takes strands 1-2
            faulty = frozenset({rng.randint(13, fibre_count)})
            record["faulty_strands"] = sorted(faulty)
        network.fibre_count[code] = (fibre_count, faulty)
        network.free_strand[code] = 3
        records.append(record)
    return records


def _ownership(rng: random.Random) -> dict[str, Any]:
    draw = rng.random()
    if draw < 0.7:
        return {"owner": "Gigalis", "ownership": "own"}
    if draw < 0.9:
        owner = rng.choice(("SNCF Réseau", "RTE"))
        end = date(rng.randint(2030, 2045), 6, 30)
        return {"owner": owner, "ownership": "iru", "iru_end_date": end}
    return {"owner": "SNCF Réseau", "ownership": "leased"}


# --- devices and backbone links -----------------------------------------------------------


def light_links(
    network: SyntheticNetwork, pairs: list[tuple[int, int]]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """A backbone link on every cable; returns the links and each device's link ports."""
    rng = network.rng
    for site in network.sites:
        devices = 2 if rng.random() < 0.3 else 1
        site.hostnames = [f"{site.code.lower()}-cr{n}" for n in range(1, devices + 1)]
    ports: dict[str, list[dict[str, Any]]] = {h: [] for s in network.sites for h in s.hostnames}
    links = []
    for i, j in pairs:
        a, z = network.sites[i], network.sites[j]
        code = f"BL-{a.code}-{z.code}"
        capacity = 100_000 if len(a.hostnames) == len(z.hostnames) == 2 else 10_000
        ends = [_link_port(site, ports, code) for site in (a, z)]
        links.append(
            {
                "code": code,
                "a": ends[0],
                "z": ends[1],
                "capacity_mbps": capacity,
                "igp_metric": max(1, round(distance_m(a, z) / 1000)),
                "status": "active",
                "route": [{"cable": f"C-{a.code}-{z.code}", "strands": [1, 2]}],
            }
        )
        network.capacity[code] = capacity
        a.neighbours.append((j, code))
        z.neighbours.append((i, code))
    return links, ports


def _link_port(site: SyntheticSite, ports: dict[str, list[dict[str, Any]]], link: str) -> str:
    """The next backbone port of the site's devices, taken in turn."""
    hostname = min(site.hostnames, key=lambda name: len(ports[name]))
    name = f"eth{len(ports[hostname]) + 1}"
    ports[hostname].append(
        {
            "name": name,
            "type": "10gbase-x-sfpp",
            "speed_mbps": 10_000,
            "description": link,
        }
    )
    return f"{hostname}:{name}"


def build_devices(
    network: SyntheticNetwork, link_ports: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for index, site in enumerate(network.sites):
        network.ports[index] = []
        role = "core" if len(site.hostnames) == 2 else "aggregation"
        if role == "aggregation" and len(site.neighbours) < 3:
            role = "edge"
        for hostname in site.hostnames:
            customer = [
                {"name": name, "type": "10gbase-x-sfpp", "speed_mbps": 10_000}
                for name in CUSTOMER_PORTS
            ]
            network.ports[index] += [Port(f"{hostname}:{p['name']}") for p in customer]
            records.append(
                {
                    "hostname": hostname,
                    "site": site.code,
                    "role": role,
                    "platform": network.rng.choice(("frr", "frr", "junos", "eos", "iosxr")),
                    "serial": f"GIG-SYN-{len(records) + 1:06d}",
                    "status": "active",
                    "interfaces": [
                        {"name": "lo", "type": "loopback"},
                        *link_ports[hostname],
                        *customer,
                    ],
                }
            )
    return records


# --- circuits -----------------------------------------------------------------------------


def build_circuits(network: SyntheticNetwork) -> list[dict[str, Any]]:
    rng = network.rng
    records: list[dict[str, Any]] = []
    numbers = {"ETH": 0, "DF": 0, "HST": 0}
    statuses = [status for status, weight in STATUSES.items() for _ in range(weight)]
    while len(records) < network.size.circuits:
        draw = rng.random()
        if draw < DARK_FIBRE_SHARE:
            kind, record = "DF", _dark_fibre(network)
        elif draw < DARK_FIBRE_SHARE + HOSTING_SHARE:
            kind, record = "HST", _hosting(network)
        else:
            kind, record = "ETH", _eline(network)
        if record is None:
            continue
        numbers[kind] += 1
        records.append(
            {
                "ref": f"GIG-{kind}-{numbers[kind]:06d}",
                "operator": rng.choice(network.operators),
                **record,
                "status": rng.choice(statuses),
            }
        )
    return records


def _walk(network: SyntheticNetwork, start: int) -> tuple[list[int], list[str]]:
    """A random walk of one to three links that never comes back to a site."""
    rng, visited, links = network.rng, [start], []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        steps = [step for step in network.sites[visited[-1]].neighbours if step[0] not in visited]
        if not steps:
            break
        site, link = rng.choice(steps)
        visited.append(site)
        links.append(link)
    return visited, links


def _endpoint(network: SyntheticNetwork, site: int) -> dict[str, Any] | None:
    """A VLAN on one of the site's customer ports, the emptiest first."""
    port = min(network.ports[site], key=lambda p: p.next_vlan)
    if port.next_vlan > LAST_VLAN:
        return None
    port.next_vlan += 1
    code = network.sites[site].code
    return {"site": code, "interface": port.interface, "vlan": port.next_vlan - 1}


def _eline(network: SyntheticNetwork) -> dict[str, Any] | None:
    rng = network.rng
    visited, path = _walk(network, rng.randrange(len(network.sites)))
    bandwidth = rng.choice(BANDWIDTHS)
    if not path or any(network.capacity[code] < bandwidth for code in path):
        return None
    a, z = _endpoint(network, visited[0]), _endpoint(network, visited[-1])
    if a is None or z is None:
        return None
    for code in path:
        network.capacity[code] -= bandwidth
    record: dict[str, Any] = {
        "service_type": "ethernet_eline",
        "a": a,
        "z": z,
        "bandwidth_mbps": bandwidth,
        "protected": rng.random() < 0.1,
    }
    if rng.random() < 0.5:
        ends = network.sites[visited[0]].code, network.sites[visited[-1]].code
        record["description"] = f"Collecte {ends[0]} – {ends[1]}"
    record["path"] = path
    return record


def _dark_fibre(network: SyntheticNetwork) -> dict[str, Any] | None:
    rng = network.rng
    visited, links = _walk(network, rng.randrange(len(network.sites)))
    if not links:
        return None
    cables = ["C-" + code.removeprefix("BL-") for code in links]
    pairs = [(cable, _free_pair(network, cable)) for cable in cables]
    held = [(cable, pair) for cable, pair in pairs if pair is not None]
    if len(held) != len(cables):
        return None
    for cable, (_, last) in held:
        network.free_strand[cable] = last + 1
    return {
        "service_type": "dark_fibre",
        "a": {"site": network.sites[visited[0]].code},
        "z": {"site": network.sites[visited[-1]].code},
        "protected": False,
        "strands": [{"cable": cable, "strands": list(pair)} for cable, pair in held],
    }


def _free_pair(network: SyntheticNetwork, cable: str) -> tuple[int, int] | None:
    count, faulty = network.fibre_count[cable]
    first = network.free_strand[cable]
    while first + 1 <= count:
        if first not in faulty and first + 1 not in faulty:
            return first, first + 1
        first += 1
    return None


def _hosting(network: SyntheticNetwork) -> dict[str, Any]:
    site = network.sites[network.rng.randrange(len(network.sites))]
    return {
        "service_type": "hosting",
        "a": {"site": site.code},
        "bandwidth_mbps": 100,
        "protected": False,
        "description": f"Baie 42U en salle {site.code}",
    }


# --- the whole network, and its files -----------------------------------------------------


def build_network(size: NetworkSize, seed: int = DEFAULT_SEED) -> dict[str, list[dict[str, Any]]]:
    """Every file's records, in the order the files list them."""
    network = SyntheticNetwork(random.Random(seed), size)
    records = network.records
    records["organisations"] = organisations(network)
    records["sites"] = place_sites(network)
    pairs = mesh(network.sites, size.cables)
    records["cables"] = lay_cables(network, pairs)
    records["links"], link_ports = light_links(network, pairs)
    records["devices"] = build_devices(network, link_ports)
    records["circuits"] = build_circuits(network)
    return records


@contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection off: the dumper makes millions of short-lived objects and
    none of them cycles, and the collector's passes over them doubled the writing time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_network(folder: Path, records: dict[str, list[dict[str, Any]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, rows in records.items():
        with (folder / f"{kind}.yaml").open("w", encoding="utf-8") as out:
            yaml.dump(
                {kind: rows},
                out,
                Dumper=yaml.CSafeDumper,
                sort_keys=False,
                allow_unicode=True,
                default_flow_style=None,
                width=120,
            )


def generate(folder: Path, size: NetworkSize, seed: int = DEFAULT_SEED) -> Path:
    """Write the network under ``folder`` unless a previous run already did; returns it."""
    done = folder / ".complete"
    if not done.exists():
        with paused_gc():
            write_network(folder, build_network(size, seed))
        done.write_text(f"{size}\nseed={seed}\n", encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quick", action="store_true", help="a network ten times smaller")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    arguments = parser.parse_args()
    generate(arguments.folder, QUICK if arguments.quick else FULL, arguments.seed)


if __name__ == "__main__":
    main()
