"""The ordering benchmark: qualification latency and orders per second through the API.

Each is printed beside the bare path computation it cannot avoid, and the ratio.

    .venv/bin/python -m bench.ordering [--quick] [--requests N] [--orders N] [--clients N]

On SQLite: load the Gigalis network (``inventory/``), then the synthetic one of
bench/generate.py, each in a fresh database; give a bench operator a hand-off port on every
router; serve the API (no job or order worker) on loopback; time qualifications between
random PoPs against ``backbone_edges`` + ``shortest_route`` for the same pairs; on the
synthetic network, place orders from concurrent clients and count what is accepted per
second. Prints the figures with the targets and writes them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench import BenchFailure, generate
from bench.databases import migrated_database, server_version
from bench.latency import WARM_UP_REQUESTS, Timings, time_side_by_side
from bench.run import (
    RESULTS,
    ROOT,
    WORKDIR,
    api_server,
    bench_token,
    check_quiet,
    load_in_subprocess,
    machine_facts,
    network_folder,
    verdict,
)
from gigalis_nms.auth.models import Role
from gigalis_nms.catalogue.loader import catalogue_path, load_catalogue
from gigalis_nms.catalogue.models import BandwidthOffer
from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import utcnow
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import DeviceStatus, InterfaceType, OrganisationKind
from gigalis_nms.inventory.loader.bulk import insert_rows
from gigalis_nms.inventory.models import OrganisationCreate
from gigalis_nms.inventory.tables import DEVICE, INTERFACE
from gigalis_nms.ordering.places import serving_pops
from gigalis_nms.provisioning.backbone import backbone_edges
from gigalis_nms.provisioning.models import PathMetric
from gigalis_nms.provisioning.paths import BackboneEdge, backbone_graph, shortest_route
from gigalis_nms.provisioning.ports import natural_key
from gigalis_nms.settings import Settings

QUALIFICATION_PATH = (
    "/tmf-api/productOfferingQualificationManagement/v4/productOfferingQualification"
)
ORDER_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
OFFER = "eline-100m"  # accepted automatically, so an order's POST is its whole acceptance
VLAN = 100  # asked at both ends; design takes the lowest free one where 100 is held
QUALIFICATION_P99_TARGET_MS = 50.0  # on the 2,000-site network
ORDERS_PER_SECOND_TARGET = 50.0  # accepted, on SQLite
# Only acceptance is measured: no worker may start provisioning jobs or touch orders.
SERVER_SETTINGS = {"GIGALIS_JOB_WORKER": "false", "GIGALIS_ORDER_WORKER": "false"}
BENCH_OPERATOR = "Opérateur du banc d'essai"
BENCH_ARCEP_CODE = "BANC"
HANDOFF_PORT = "eth200"
ORDERING_WORKDIR = WORKDIR / "ordering"  # its own SQLite file and server log


@dataclass(frozen=True)
class Pop:
    """A PoP that can serve a circuit, and the router the bare path starts or ends on."""

    code: str
    router: str


Pair = tuple[Pop, Pop]


@dataclass(frozen=True)
class PreparedNetwork:
    operator_id: int
    pops: tuple[Pop, ...]  # serving PoPs whose router the main backbone reaches
    unreached: int  # serving PoPs whose router it does not
    handoff_ports: int


@dataclass(frozen=True)
class QualificationFigures:
    requests: int
    bare: Timings
    api: Timings | None  # None when the endpoint did not answer
    answers: dict[str, int]  # qualificationItemResult → how many

    @property
    def ratio(self) -> float | None:
        return self.api.p50_ms / self.bare.p50_ms if self.api else None

    @property
    def passed(self) -> bool:
        return self.api is not None and self.api.p99_ms < QUALIFICATION_P99_TARGET_MS

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "api_p50_ms": _ms(self.api.p50_ms) if self.api else None,
            "api_p99_ms": _ms(self.api.p99_ms) if self.api else None,
            "bare_p50_ms": _ms(self.bare.p50_ms),
            "bare_p99_ms": _ms(self.bare.p99_ms),
            "ratio_p50": _ms(self.ratio) if self.ratio else None,
            "answers": self.answers,
            "target_p99_ms": QUALIFICATION_P99_TARGET_MS,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Outcome:
    """One order's POST: its status, how long it took, the state or refusal it answered."""

    status: int
    seconds: float
    answer: str


@dataclass(frozen=True)
class OrderFigures:
    clients: int
    bare: Timings
    wall_seconds: float = 0.0
    outcomes: tuple[Outcome, ...] = ()

    @property
    def accepted(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == 201)

    @property
    def per_second(self) -> float:
        return self.accepted / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def ms_per_order(self) -> float | None:
        """Wall time over accepted orders: what one acceptance costs the server."""
        return self.wall_seconds * 1000 / self.accepted if self.accepted else None

    @property
    def ratio(self) -> float | None:
        return self.ms_per_order / self.bare.p50_ms if self.ms_per_order else None

    @property
    def latency(self) -> Timings | None:
        return Timings(tuple(o.seconds for o in self.outcomes)) if self.outcomes else None

    @property
    def passed(self) -> bool:
        return self.per_second >= ORDERS_PER_SECOND_TARGET

    def answers(self) -> Counter[str]:
        return Counter(f"{outcome.status} {outcome.answer}" for outcome in self.outcomes)

    def statuses(self) -> dict[int, int]:
        return dict(sorted(Counter(outcome.status for outcome in self.outcomes).items()))

    def as_json(self) -> dict[str, Any]:
        latency = self.latency
        return {
            "orders": len(self.outcomes),
            "clients": self.clients,
            "accepted": self.accepted,
            "statuses": self.statuses(),
            "answers": dict(self.answers().most_common(20)),  # the commonest
            "wall_seconds": round(self.wall_seconds, 3),
            "orders_per_second": round(self.per_second, 2),
            "ms_per_accepted_order": _ms(self.ms_per_order) if self.ms_per_order else None,
            "request_p50_ms": _ms(latency.p50_ms) if latency else None,
            "request_p99_ms": _ms(latency.p99_ms) if latency else None,
            "bare_p50_ms": _ms(self.bare.p50_ms),
            "bare_p99_ms": _ms(self.bare.p99_ms),
            "ratio": _ms(self.ratio) if self.ratio else None,
            "target_per_second": ORDERS_PER_SECOND_TARGET,
            "passed": self.passed,
        }


@dataclass
class NetworkFigures:
    name: str
    description: str
    targeted: bool  # whether the qualification target is set for this network
    version: str = ""
    load_seconds: float | None = None
    pops: int = 0
    unreached: int = 0
    qualification: QualificationFigures | None = None
    orders: OrderFigures | None = None
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "network": self.name,
            "description": self.description,
            "database": self.version,
            "load_seconds": self.load_seconds,
            "serving_pops_on_main_backbone": self.pops,
            "serving_pops_off_it": self.unreached,
            "qualification": self._qualification_json(),
            "orders": self.orders.as_json() if self.orders else None,
            "errors": self.errors,
        }

    def _qualification_json(self) -> dict[str, Any] | None:
        if self.qualification is None:
            return None
        figures = self.qualification.as_json()
        if not self.targeted:
            figures.update(target_p99_ms=None, passed=None)
        return figures


def _ms(value: float) -> float:
    return round(value, 2)


# --- the network, made ready for a new operator -------------------------------------------


def prepare_network(database_url: str) -> PreparedNetwork:
    """Add the bench operator and its hand-off port on every active router (a design finds
    none otherwise: the generated customer ports carry other operators' VLANs), and list
    the PoPs that can serve a circuit with the first of their routers (the one a design
    takes, all hand-offs being alike), keeping those the main backbone reaches."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine, actor="bench") as session:
            body = OrganisationCreate(
                name=BENCH_OPERATOR, kind=OrganisationKind.OPERATOR, arcep_code=BENCH_ARCEP_CODE
            )
            operator = service.create_object(session, service.ORGANISATIONS, body)
            routers = execute_core(
                session,
                sa.select(DEVICE.c.id, DEVICE.c.hostname, DEVICE.c.site_id).where(
                    DEVICE.c.status == DeviceStatus.ACTIVE
                ),
            ).all()
            insert_rows(session, INTERFACE, [_handoff_port(row.id) for row in routers])
            pops = serving_pops(session)
            reached = main_backbone(backbone_edges(session))
    finally:
        engine.dispose()
    first_router: dict[int, str] = {}
    for row in sorted(routers, key=lambda row: natural_key(row.hostname)):
        first_router.setdefault(row.site_id, row.hostname)
    serving = [Pop(pop.code, first_router[pop.site_id]) for pop in pops]
    chosen = tuple(pop for pop in serving if pop.router in reached)
    return PreparedNetwork(operator.id, chosen, len(serving) - len(chosen), len(routers))


def main_backbone(edges: list[BackboneEdge]) -> set[str]:
    """The routers of the largest connected part of the backbone.

    The generated network joins sites, not routers: a site with two routers shares its
    links out between them, with no link from one to the other, so its routers can sit in
    different parts (76 on the full network). A pair with a router off the main part has no
    path at all; drawn at random, such pairs would make a third of orders "no path"
    refusals, and the figures would time refusals rather than acceptances.
    """
    graph = backbone_graph(edges, PathMetric.IGP)
    return max(nx.connected_components(graph), key=len, default=set())


def _handoff_port(device_id: int) -> dict[str, Any]:
    now = utcnow()
    return {
        "device_id": device_id,
        "name": HANDOFF_PORT,
        "type": InterfaceType.SFPP_10G,
        "speed_mbps": 10_000,
        "enabled": True,
        "description": f"NNI {BENCH_ARCEP_CODE}",
        "created_at": now,
        "updated_at": now,
    }


def random_pairs(pops: tuple[Pop, ...], count: int, seed: int) -> list[Pair]:
    """``count`` pairs of two different PoPs."""
    if len(pops) < 2:
        raise BenchFailure(f"the network has {len(pops)} serving PoPs; pairs need two")
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        a, z = rng.sample(pops, 2)
        pairs.append((a, z))
    return pairs


def offer_mbps() -> int:
    """The offer's bandwidth, as the server reads it from the catalogue."""
    offer = load_catalogue(catalogue_path(Settings())).offer(OFFER)
    if not isinstance(offer, BandwidthOffer):
        raise BenchFailure(f"the catalogue has no bandwidth offer {OFFER}")
    return offer.bandwidth_mbps


# --- requests -------------------------------------------------------------------------------


def _places(pair: Pair) -> list[dict[str, str]]:
    return [{"role": "A", "id": pair[0].code}, {"role": "Z", "id": pair[1].code}]


def qualification_body(pair: Pair) -> dict[str, Any]:
    item = {"id": "1", "productOffering": {"id": OFFER}, "product": {"place": _places(pair)}}
    return {"productOfferingQualificationItem": [item]}


def order_body(pair: Pair) -> dict[str, Any]:
    vlans = [{"name": "aVlan", "value": VLAN}, {"name": "zVlan", "value": VLAN}]
    product = {"place": _places(pair), "productCharacteristic": vlans}
    item = {"id": "1", "action": "add", "productOffering": {"id": OFFER}, "product": product}
    return {"productOrderItem": [item]}


def _refusal(response: httpx.Response) -> str:
    """The error's message, or the start of the body when it is not the API's error shape."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _qualification_answer(response: httpx.Response) -> str:
    items = response.json().get("productOfferingQualificationItem") or [{}]
    return str(items[0].get("qualificationItemResult"))


# --- qualification ----------------------------------------------------------------------------

# Does the call for the pair at an index; returns 1, the "rows" time_side_by_side counts.
PairCall = Callable[[int], int]


def bare_route_call(engine: Engine, pairs: list[Pair], mbps: int) -> PairCall:
    """What a qualification cannot avoid: the backbone as path edges, then the shortest
    path by IGP metric over links with room for the offer."""

    def route(index: int) -> int:
        a, z = pairs[index]
        with session_scope(engine, actor="bench", read_only=True) as session:
            edges = backbone_edges(session)
            shortest_route(edges, a.router, z.router, PathMetric.IGP, min_free_mbps=mbps)
        return 1

    return route


def api_qualification_call(
    client: httpx.Client, pairs: list[Pair], answers: dict[int, str]
) -> PairCall:
    def qualify(index: int) -> int:
        response = client.post(QUALIFICATION_PATH, json=qualification_body(pairs[index]))
        if response.status_code != 201:
            a, z = pairs[index]
            raise BenchFailure(
                f"qualification {a.code}–{z.code} answered {response.status_code}: "
                f"{_refusal(response)}"
            )
        answers[index] = _qualification_answer(response)
        return 1

    return qualify


def time_alone(call: PairCall, count: int) -> Timings:
    """``call`` for each index after warming up on the first ones, as the API is timed."""
    for index in range(min(count, WARM_UP_REQUESTS)):
        call(index)
    samples = []
    for index in range(count):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    return Timings(tuple(samples))


def time_qualification(
    client: httpx.Client, engine: Engine, pairs: list[Pair], mbps: int, errors: list[str]
) -> QualificationFigures:
    """The API and the bare path alternately for each pair; the bare path alone, with the
    reason in ``errors``, when the API does not answer."""
    answers: dict[int, str] = {}
    api, bare = api_qualification_call(client, pairs, answers), bare_route_call(engine, pairs, mbps)
    try:
        api(0)
    except BenchFailure as failure:
        errors.append(str(failure))
        return QualificationFigures(len(pairs), time_alone(bare, len(pairs)), None, {})
    # A page of one "row" per call: time_side_by_side checks each call did its one pair.
    api_timings, bare_timings = time_side_by_side((api, bare), 1, list(range(len(pairs))))
    return QualificationFigures(
        len(pairs), bare_timings, api_timings, dict(Counter(answers.values()))
    )


# --- orders -----------------------------------------------------------------------------------


def _order_client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        trust_env=False,  # loopback only: never through a proxy from the environment
    )


def _place_order(client: httpx.Client, pair: Pair) -> Outcome:
    # A key of its own: a retry of this very order would send it again.
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    start = time.perf_counter()
    response = client.post(ORDER_PATH, json=order_body(pair), headers=headers)
    seconds = time.perf_counter() - start
    if response.status_code == 201:
        return Outcome(201, seconds, str(response.json().get("state")))
    return Outcome(response.status_code, seconds, _refusal(response))


def place_orders(
    base_url: str, token: str, pairs: list[Pair], clients: int
) -> tuple[float, list[Outcome]]:
    """``pairs`` ordered by ``clients`` threads, each on its own kept-alive connection and
    warmed up by one order of its own (the first ``clients`` pairs, not counted); the wall
    time runs from when all are ready to the last answer."""
    warm_up, timed = pairs[:clients], pairs[clients:]
    shares = [timed[index::clients] for index in range(clients)]
    ready = threading.Barrier(clients + 1)

    def run_client(index: int) -> list[Outcome]:
        with _order_client(base_url, token) as client:
            _place_order(client, warm_up[index])
            ready.wait()
            return [_place_order(client, pair) for pair in shares[index]]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(run_client, index) for index in range(clients)]
        ready.wait()
        start = time.perf_counter()
        outcomes = [outcome for future in futures for outcome in future.result()]
        wall = time.perf_counter() - start
    return wall, outcomes


def time_orders(
    base_url: str,
    token: str,
    engine: Engine,
    pops: tuple[Pop, ...],
    arguments: argparse.Namespace,
    *,
    errors: list[str],
) -> OrderFigures:
    """The bare path for each timed order's pair first (on the network as it is before the
    orders), then the orders through the API."""
    clients = arguments.clients
    pairs = random_pairs(pops, arguments.orders + clients, arguments.seed + 1)
    timed = pairs[clients:]
    bare = time_alone(bare_route_call(engine, timed, offer_mbps()), len(timed))
    with _order_client(base_url, token) as probe:
        response = probe.post(ORDER_PATH, json={})  # refused as malformed once it exists
    if response.status_code in (404, 405):
        errors.append(f"the order endpoint answered {response.status_code}: {_refusal(response)}")
        return OrderFigures(clients, bare)
    wall, outcomes = place_orders(base_url, token, pairs, clients)
    return OrderFigures(clients, bare, wall, tuple(outcomes))


# --- one network ------------------------------------------------------------------------------


def bench_network(
    figures: NetworkFigures,
    folder: Path,
    arguments: argparse.Namespace,
    busy: list[str],
    *,
    orders: bool,
) -> NetworkFigures:
    """Load ``folder`` into a fresh SQLite database and time qualifications (and orders)."""
    label = figures.name
    ORDERING_WORKDIR.mkdir(parents=True, exist_ok=True)
    try:
        with migrated_database("sqlite", ORDERING_WORKDIR) as url:
            figures.version = server_version(url)
            print(f"[{label}] loading {folder.name}…", flush=True)
            figures.load_seconds = load_in_subprocess(url, folder).seconds
            prepared = prepare_network(url)
            figures.pops, figures.unreached = len(prepared.pops), prepared.unreached
            print(
                f"[{label}] {figures.pops} serving PoPs on the main backbone "
                f"({prepared.unreached} off it); a {BENCH_ARCEP_CODE} hand-off added on "
                f"{prepared.handoff_ports} routers",
                flush=True,
            )
            _bench_api(figures, url, prepared, arguments, busy, orders=orders)
    except (BenchFailure, httpx.HTTPError) as failure:
        figures.errors.append(str(failure))
    for error in figures.errors:
        print(f"[{label}] FAILED: {error}", file=sys.stderr, flush=True)
    return figures


def _bench_api(
    figures: NetworkFigures,
    url: str,
    prepared: PreparedNetwork,
    arguments: argparse.Namespace,
    busy: list[str],
    *,
    orders: bool,
) -> None:
    label = figures.name
    secret_key = secrets.token_urlsafe(32)
    token = bench_token(url, secret_key, role=Role.OPERATOR, organisation_id=prepared.operator_id)
    pairs = random_pairs(prepared.pops, arguments.requests, arguments.seed)
    engine = make_engine(url)
    try:
        with (
            api_server(url, secret_key, ORDERING_WORKDIR, SERVER_SETTINGS) as base_url,
            _order_client(base_url, token) as client,
        ):
            check_quiet(f"{label} qualification", busy)
            print(f"[{label}] timing qualifications…", flush=True)
            figures.qualification = time_qualification(
                client, engine, pairs, offer_mbps(), figures.errors
            )
            if orders:
                check_quiet(f"{label} orders", busy)
                print(f"[{label}] placing orders…", flush=True)
                figures.orders = time_orders(
                    base_url, token, engine, prepared.pops, arguments, errors=figures.errors
                )
    finally:
        engine.dispose()


# --- the report -------------------------------------------------------------------------------


def _or_dash(value: float | None, width: int, unit: str = "") -> str:
    """``value`` with one decimal and its unit, right-aligned in ``width``; a dash for None."""
    text = "—" if value is None else f"{value:.1f}{unit}"
    return f"{text:>{width}}"


def print_report(results: list[NetworkFigures], arguments: argparse.Namespace) -> None:
    print()
    for result in results:
        print(
            f"{result.name}: {result.description}; pairs drawn from {result.pops} serving "
            f"PoPs ({result.unreached} more are off the main backbone)"
        )
    if arguments.quick:
        print("(a smaller synthetic network than the targets are set for: a smoke check only)")
    print()
    print(
        f"Qualification of {OFFER}, {arguments.requests} requests after {WARM_UP_REQUESTS} "
        "warm-ups; bare = backbone_edges + shortest_route"
    )
    print(
        f"{'network':<10} {'API p50':>9} {'API p99':>9} {'bare p50':>9} {'bare p99':>9} "
        f"{'ratio p50':>9} {'target p99':>10} {'result':>6}"
    )
    for result in results:
        figures = result.qualification
        if figures is None:
            print(f"{result.name:<10} not measured: {'; '.join(result.errors)[:150]}")
            continue
        api_p50, api_p99 = (figures.api.p50_ms, figures.api.p99_ms) if figures.api else (None, None)
        applies = result.targeted
        target = f"{QUALIFICATION_P99_TARGET_MS:.0f} ms" if applies else "—"
        outcome = verdict(figures.passed) if applies else ""
        print(
            f"{result.name:<10} {_or_dash(api_p50, 9, 'ms')} {_or_dash(api_p99, 9, 'ms')} "
            f"{figures.bare.p50_ms:7.1f}ms {figures.bare.p99_ms:7.1f}ms "
            f"{_or_dash(figures.ratio, 9, 'x')} "
            f"{target:>10} {outcome:>6}"
        )
        if figures.answers:
            answers = ", ".join(f"{n} {answer}" for answer, n in sorted(figures.answers.items()))
            print(f"{'':<10} answers: {answers}")
    for result in results:
        if result.orders is not None:
            print_orders(result.name, result.orders)


def print_orders(network: str, figures: OrderFigures) -> None:
    latency = figures.latency
    post_p50, post_p99 = (latency.p50_ms, latency.p99_ms) if latency else (None, None)
    print()
    print(
        f"Orders of {OFFER} on the {network} network (add, VLAN {VLAN} asked at both ends), "
        f"{len(figures.outcomes)} from {figures.clients} clients, SQLite; bare = the same path "
        "computation per order"
    )
    print(
        f"{'accepted':>8} {'wall s':>7} {'orders/s':>8} {'ms/order':>8} {'POST p50':>9} "
        f"{'POST p99':>9} {'bare p50':>9} {'ratio':>6} {'target':>8} {'result':>6}"
    )
    print(
        f"{figures.accepted:>8} {figures.wall_seconds:7.1f} {figures.per_second:8.1f} "
        f"{_or_dash(figures.ms_per_order, 8)} {_or_dash(post_p50, 9, 'ms')} "
        f"{_or_dash(post_p99, 9, 'ms')} {figures.bare.p50_ms:7.1f}ms "
        f"{_or_dash(figures.ratio, 6, 'x')} {ORDERS_PER_SECOND_TARGET:>6.0f}/s "
        f"{verdict(figures.passed):>6}"
    )
    if not figures.outcomes:
        print("  no order placed: the endpoint did not answer")
    else:
        statuses = ", ".join(f"{count} × {status}" for status, count in figures.statuses().items())
        print(f"  answers: {statuses}; the commonest:")
    for answer, count in figures.answers().most_common(6):
        print(f"  {count:>5} × {answer[:150]}")


def write_json(
    results: list[NetworkFigures], arguments: argparse.Namespace, busy: list[str]
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "at": now.isoformat(timespec="seconds"),
        "machine": machine_facts(busy),
        "offer": OFFER,
        "quick": arguments.quick,
        "seed": arguments.seed,
        "results": [result.as_json() for result in results],
    }
    path = RESULTS / f"ordering-{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a synthetic network ten times smaller"
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="timed qualifications per network"
    )
    parser.add_argument("--orders", type=int, default=500, help="timed orders")
    parser.add_argument("--clients", type=int, default=8, help="concurrent ordering clients")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    arguments = parser.parse_args()
    if arguments.requests < 1 or arguments.orders < 1 or arguments.clients < 1:
        parser.error("--requests, --orders and --clients take a positive number")
    return arguments


def main() -> int:
    arguments = parse_arguments()
    size = generate.QUICK if arguments.quick else generate.FULL
    print(f"generating the synthetic network ({size.label}) or reusing it…", flush=True)
    synthetic = network_folder(size, arguments.seed)
    busy: list[str] = []
    gigalis = NetworkFigures("gigalis", "the Gigalis network, inventory/", targeted=False)
    bench_network(gigalis, ROOT / "inventory", arguments, busy, orders=True)
    generated = NetworkFigures(
        "synthetic",
        f"{size.sites} sites, {size.cables} cables, {size.circuits} circuits",
        targeted=True,
    )
    bench_network(generated, synthetic, arguments, busy, orders=True)
    results = [gigalis, generated]
    print_report(results, arguments)
    for warning in busy:
        print(f"warning: {warning}; figures are noisy")
    written = write_json(results, arguments, busy)
    print(f"\nfigures written to {written.relative_to(ROOT)}")
    return 1 if any(result.errors for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
