"""The monitoring benchmark: ``/metrics`` and the month's SLA report for 100,000 circuits.

    .venv/bin/python -m bench.monitoring [--circuits N] [--quick] [--scrapes N]
                                         [--sqlite] [--postgresql]

For each database (SQLite unless PostgreSQL is named as well or instead): write a compact
synthetic network and its monitoring history in bulk (Core inserts, explicit ids, every
foreign key kept): ``N`` active circuits over 20 operators, most of them ordered under a
catalogue offer, their states, a closed month and the current month to date of incidents
and outages, link states, counters, router polls and the poller's status. Then:

- serve the API as ``gigalis serve`` does and time ``GET /metrics`` (median, p95, size,
  series), beside a naive exporter of prometheus-client ``Gauge``/``Counter``/``Info``
  objects with labels, filled at each scrape, then ``generate_latest``;
- time ``month_report`` and ``store_month`` for the closed month.

Prints the figures with the targets and writes them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from bench import BenchFailure
from bench.databases import DATABASES, migrated_database, server_version, settle
from bench.run import (
    RESULTS,
    ROOT,
    WORKDIR,
    api_server,
    bench_token,
    check_quiet,
    machine_facts,
    verdict,
)
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import (
    SERVICE_REF_CODES,
    CircuitStatus,
    DeviceRole,
    DeviceStatus,
    InterfaceType,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
    SiteKind,
)
from gigalis_nms.inventory.loader.bulk import insert_rows
from gigalis_nms.inventory.tables import CIRCUIT, DEVICE, INTERFACE, LINK, ORGANISATION, SITE
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.exporter import GigalisCollector
from gigalis_nms.monitoring.models import (
    CircuitState,
    DevicePoll,
    FailingKind,
    Incident,
    IncidentCircuit,
    InterfaceObservation,
    LinkState,
    MaintenanceWindow,
    ObservedState,
    PollerStatus,
    SubjectKind,
)
from gigalis_nms.monitoring.report import month_report, store_month
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from tests.postgres import PostgresUnavailable

FULL_CIRCUITS = 100_000
QUICK_CIRCUITS = 10_000
SEED = 20_261_205
SCRAPE_TARGET_SECONDS = 1.0
SCRAPE_RATIO_TARGET = 3.0  # the naive exporter's median over /metrics's
SLA_TARGET_SECONDS = 30.0
WARM_UP_SCRAPES = 2
MONITORING_WORKDIR = WORKDIR / "monitoring"
# Nothing in the background: no router to poll, no job or order to run.
SERVER_SETTINGS = {
    "GIGALIS_POLLER": "false",
    "GIGALIS_JOB_WORKER": "false",
    "GIGALIS_ORDER_WORKER": "false",
}

# The synthetic network, per 100,000 circuits: 500 PoPs of two routers, 2,500 links.
CIRCUITS_PER_SITE = 200
LINKS_PER_SITE = 5
OPERATORS = 20
# offer → (share of ordered circuits, service) ; a fifth of the circuits were never ordered
# (inventory files): measured, without SLA class.
OFFERS = {
    "eline-100m": (40, ServiceType.ETHERNET_ELINE),
    "eline-1g": (25, ServiceType.ETHERNET_ELINE),
    "eline-10g": (15, ServiceType.ETHERNET_ELINE),
    "wavelength-10g": (8, ServiceType.WAVELENGTH),
    "hosting-rack": (7, ServiceType.HOSTING),
    "dark-fibre-lease": (5, ServiceType.DARK_FIBRE),
}
ORDERED_SHARE = 0.8
ITEMS_PER_ORDER = 50
PROTECTED_SHARE = 0.10
ON_PROTECTION_SHARE = 0.05  # of protected circuits
DOWN_NOW_SHARE = 0.005  # circuits down now, each with an open outage
UNKNOWN_SHARE = 0.005  # state unknown (no router that could tell answered)
UNFOLLOWED_SHARE = 0.01  # no state row yet
OUTAGE_SHARE = 0.05  # circuits with one to three outages in each month
CIRCUITS_PER_INCIDENT = (1, 4)
# cause → share in percent of the month's incidents
CAUSES = {
    OutageCause.UNPLANNED: 78,
    OutageCause.PLANNED: 12,
    OutageCause.CUSTOMER: 7,
    OutageCause.FORCE_MAJEURE: 3,
}
OVERRUN_SHARE = 0.2  # planned work running past its window's end
LINK_DOWN_SHARE = 0.01
ROUTER_SILENT_SHARE = 0.01

Row = dict[str, Any]


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        """Nearest rank: with 20 samples, the second slowest."""
        ordered = sorted(self.seconds)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": len(self.seconds),
            "median_s": round(self.median, 4),
            "p95_s": round(self.p95, 4),
        }


@dataclass(frozen=True)
class Exposition:
    """One scrape's body: its size and what it holds."""

    size_bytes: int
    series: int
    families: int

    @classmethod
    def of(cls, body: bytes) -> Exposition:
        families = list(text_string_to_metric_families(body.decode("utf-8")))
        return cls(len(body), sum(len(family.samples) for family in families), len(families))


@dataclass
class ScrapeFigures:
    api: Timings  # GET /metrics through uvicorn, token and all
    naive: Timings  # the Gauge-based exporter, in this process
    collect: Timings  # GigalisCollector.collect() alone, in this process
    exposition: Exposition
    naive_exposition: Exposition

    @property
    def ratio(self) -> float:
        return self.naive.median / self.api.median

    @property
    def passed(self) -> bool:
        return self.api.median < SCRAPE_TARGET_SECONDS and self.ratio >= SCRAPE_RATIO_TARGET

    def as_json(self) -> dict[str, Any]:
        return {
            "api": self.api.as_json(),
            "naive": self.naive.as_json(),
            "collect_in_process": self.collect.as_json(),
            "size_bytes": self.exposition.size_bytes,
            "series": self.exposition.series,
            "families": self.exposition.families,
            "naive_size_bytes": self.naive_exposition.size_bytes,
            "naive_series": self.naive_exposition.series,
            "ratio": round(self.ratio, 2),
            "target_s": SCRAPE_TARGET_SECONDS,
            "target_ratio": SCRAPE_RATIO_TARGET,
            "passed": self.passed,
        }


@dataclass
class SlaFigures:
    month: str
    circuits: int
    outages: int
    report_seconds: float
    store_seconds: float
    restore_seconds: float  # storing the same figures again: nothing changes
    stored: str

    @property
    def per_second(self) -> float:
        return self.circuits / self.report_seconds

    @property
    def passed(self) -> bool:
        return self.report_seconds < SLA_TARGET_SECONDS

    def as_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "circuits": self.circuits,
            "outages_in_month": self.outages,
            "report_s": round(self.report_seconds, 3),
            "circuits_per_s": round(self.per_second),
            "store_s": round(self.store_seconds, 3),
            "store_again_unchanged_s": round(self.restore_seconds, 3),
            "stored": self.stored,
            "target_s": SLA_TARGET_SECONDS,
            "passed": self.passed,
        }


@dataclass
class DatabaseFigures:
    database: str
    version: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    write_seconds: float = 0.0
    scrape: ScrapeFigures | None = None
    sla: SlaFigures | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "version": self.version,
            "rows": self.rows,
            "write_s": round(self.write_seconds, 1),
            "scrape": self.scrape.as_json() if self.scrape else None,
            "sla": self.sla.as_json() if self.sla else None,
            "error": self.error,
        }


# --- the synthetic network and its history ------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """When the benchmark runs: the closed month it reports on and the month under way."""

    now: datetime
    closed: tuple[int, int]  # (year, month), Paris

    @classmethod
    def at(cls, now: datetime) -> Moment:
        paris = now.astimezone(PARIS)
        year, month = (paris.year, paris.month - 1) if paris.month > 1 else (paris.year - 1, 12)
        return cls(now, (year, month))

    @property
    def closed_bounds(self) -> tuple[datetime, datetime]:
        return month_bounds(*self.closed)

    @property
    def current_start(self) -> datetime:
        return self.closed_bounds[1]


@dataclass
class History:
    """Every row to write, by table, in the order foreign keys need them."""

    rows: dict[sa.Table, list[Row]] = field(default_factory=dict)
    closed_month_outages: int = 0

    def add(self, table: sa.Table, rows: Iterable[Row]) -> None:
        self.rows.setdefault(table, []).extend(rows)


def synthetic_history(circuits: int, moment: Moment, seed: int) -> History:
    """The network, its circuits and orders, and their monitoring history."""
    rng = random.Random(seed)
    history = History()
    sites = max(4, circuits // CIRCUITS_PER_SITE)
    _network(history, rng, sites, moment)
    offers = _circuits(history, rng, circuits, sites, moment)
    _orders(history, rng, offers, moment)
    _history(history, rng, circuits, sites, moment)
    return history


def _network(history: History, rng: random.Random, sites: int, moment: Moment) -> None:
    """Operators; PoPs of two routers each; links between random routers of distinct sites,
    one port each end; router polls and link states; the ends' counters."""
    history.add(
        ORGANISATION,
        (
            {"id": n, "name": f"Opérateur {n:02d}", "kind": OrganisationKind.OPERATOR}
            for n in range(1, OPERATORS + 1)
        ),
    )
    history.add(
        SITE,
        (
            {
                "id": n,
                "code": f"BENCH{n:05d}",
                "name": f"PoP {n}",
                "kind": SiteKind.POP,
                "insee_code": "44109",
                "latitude": 47.0 + rng.random(),
                "longitude": -1.5 + rng.random(),
                "status": LifecycleStatus.ACTIVE,
            }
            for n in range(1, sites + 1)
        ),
    )
    routers = 2 * sites
    history.add(
        DEVICE,
        (
            {
                "id": n,
                "hostname": f"pop{(n + 1) // 2:05d}-core{2 - n % 2}",
                "site_id": (n + 1) // 2,
                "role": DeviceRole.CORE,
                "platform": "frr",
                "status": DeviceStatus.ACTIVE,
            }
            for n in range(1, routers + 1)
        ),
    )
    interfaces: list[Row] = []
    links: list[Row] = []
    observations: list[Row] = []
    states: list[Row] = []
    ports = dict.fromkeys(range(1, routers + 1), 0)
    for n in range(1, LINKS_PER_SITE * sites + 1):
        a = rng.randrange(1, routers + 1)
        z = rng.randrange(1, routers + 1)
        while (z + 1) // 2 == (a + 1) // 2:
            z = rng.randrange(1, routers + 1)
        ends = []
        for device in (a, z):
            ports[device] += 1
            ends.append(len(interfaces) + 1)
            interfaces.append(
                {
                    "id": len(interfaces) + 1,
                    "device_id": device,
                    "name": f"eth{ports[device]}",
                    "type": InterfaceType.SFPP_10G,
                    "speed_mbps": 10_000,
                }
            )
            observations.append(
                {
                    "interface_id": ends[-1],
                    "device_id": device,
                    "observed_at": moment.now,
                    "enabled": True,
                    "up": True,
                    "speed_mbps": 10_000,
                    "out_octets": rng.randrange(10**9, 10**15),
                    "in_octets": rng.randrange(10**9, 10**15),
                    "since": moment.now - timedelta(days=30),
                }
            )
        links.append(
            {
                "id": n,
                "code": f"BL-{n:05d}",
                "a_interface_id": ends[0],
                "z_interface_id": ends[1],
                "capacity_mbps": rng.choice((10_000, 100_000)),
                "igp_metric": rng.randrange(10, 1000),
                "status": LifecycleStatus.ACTIVE,
            }
        )
        down = rng.random() < LINK_DOWN_SHARE
        states.append(
            {
                "backbone_link_id": n,
                "state": ObservedState.DOWN if down else ObservedState.UP,
                "since": moment.now - timedelta(hours=rng.randrange(1, 500)),
            }
        )
    history.add(INTERFACE, interfaces)
    history.add(LINK, links)
    history.add(table_of(InterfaceObservation), observations)
    history.add(table_of(LinkState), states)
    history.add(
        table_of(DevicePoll),
        (
            {
                "device_id": n,
                "polled_at": moment.now,
                "reachable": rng.random() >= ROUTER_SILENT_SHARE,
                "seconds": rng.uniform(0.2, 2.0),
                "since": moment.now - timedelta(days=3),
            }
            for n in range(1, routers + 1)
        ),
    )
    history.add(
        table_of(PollerStatus),
        [
            {
                "id": 1,
                "rounds_total": 40_000,
                "device_errors_total": 1_234,
                "last_round_started_at": moment.now - timedelta(seconds=20),
                "last_round_seconds": 14.5,
                "last_round_devices": routers,
                "last_round_failed_devices": 3,
                "runner": "bench:1",
            }
        ],
    )


def _circuits(
    history: History, rng: random.Random, circuits: int, sites: int, moment: Moment
) -> dict[int, str]:
    """Active circuits between two PoPs, created before the closed month; the offer each of
    the ordered ones was ordered under, by circuit id."""
    created = moment.closed_bounds[0] - timedelta(days=40)
    names, weights = list(OFFERS), [share for share, _ in OFFERS.values()]
    offers: dict[int, str] = {}
    rows = []
    for n in range(1, circuits + 1):
        offer = rng.choices(names, weights)[0]
        service = OFFERS[offer][1]
        if rng.random() < ORDERED_SHARE:
            offers[n] = offer
        a = rng.randrange(1, sites + 1)
        rows.append(
            {
                "id": n,
                "ref": f"GIG-{SERVICE_REF_CODES[service]}-{n:06d}",
                "operator_id": rng.randrange(1, OPERATORS + 1),
                "service_type": service,
                "a_site_id": a,
                "z_site_id": a % sites + 1,
                "bandwidth_mbps": 100,
                "protected": rng.random() < PROTECTED_SHARE,
                "status": CircuitStatus.ACTIVE,
                "created_at": created,
                "updated_at": created,
            }
        )
    history.add(CIRCUIT, rows)
    return offers


def _orders(history: History, rng: random.Random, offers: dict[int, str], moment: Moment) -> None:
    """One completed order per ``ITEMS_PER_ORDER`` ordered circuits of an operator."""
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    fees = {offer.id: getattr(offer, "monthly_fee", None) for offer in catalogue.offers}
    circuit_rows = {row["id"]: row for row in history.rows[CIRCUIT]}
    by_operator: dict[int, list[int]] = {}
    for circuit in offers:
        by_operator.setdefault(circuit_rows[circuit]["operator_id"], []).append(circuit)
    orders: list[Row] = []
    items: list[Row] = []
    when = moment.closed_bounds[0] - timedelta(days=45)
    for operator, circuits in sorted(by_operator.items()):
        for first in range(0, len(circuits), ITEMS_PER_ORDER):
            order = len(orders) + 1
            orders.append(
                {
                    "id": order,
                    "operator_id": operator,
                    "state": OrderState.COMPLETED,
                    "created_by": "bench",
                    "created_at": when,
                    "updated_at": when,
                }
            )
            for number, circuit in enumerate(circuits[first : first + ITEMS_PER_ORDER], 1):
                offer = offers[circuit]
                fee = fees[offer] or Decimal(rng.randrange(200, 2000))  # dark fibre: per km
                items.append(
                    {
                        "id": len(items) + 1,
                        "order_id": order,
                        "item_id": str(number),
                        "action": ItemAction.ADD,
                        "offering_id": offer,
                        "state": ItemState.COMPLETED,
                        "circuit_id": circuit,
                        "circuit_ref": circuit_rows[circuit]["ref"],
                        "recurring_price": fee,
                    }
                )
    history.add(table_of(ProductOrder), orders)
    history.add(table_of(ProductOrderItem), items)


def _history(
    history: History, rng: random.Random, circuits: int, sites: int, moment: Moment
) -> None:
    """Incidents of the closed month and of the month to date, the outages under way now,
    and each circuit's state."""
    closed_start, closed_end = moment.closed_bounds
    incidents = _Incidents(history, rng, sites, moment)
    history.closed_month_outages = incidents.month(circuits, closed_start, closed_end)
    incidents.month(circuits, moment.current_start, moment.now - timedelta(minutes=30))
    down = incidents.open_now(circuits)
    incidents.flush()  # before the states, which name the incidents under way

    protected = {row["id"] for row in history.rows[CIRCUIT] if row["protected"]}
    states = []
    for n in range(1, circuits + 1):
        draw = rng.random()
        if n in down:
            state, incident = ObservedState.DOWN, down[n]
        elif draw < UNFOLLOWED_SHARE:
            continue
        elif draw < UNFOLLOWED_SHARE + UNKNOWN_SHARE:
            state, incident = ObservedState.UNKNOWN, None
        else:
            state, incident = ObservedState.UP, None
        states.append(
            {
                "circuit_id": n,
                "state": state,
                "since": moment.now - timedelta(hours=rng.randrange(1, 2000)),
                "on_protection": n in protected and rng.random() < ON_PROTECTION_SHARE,
                "incident_id": incident,
            }
        )
    history.add(table_of(CircuitState), states)


class _Incidents:
    """Incidents on random links, each taking one to four circuits down together."""

    def __init__(self, history: History, rng: random.Random, sites: int, moment: Moment) -> None:
        self._history, self._rng, self._moment = history, rng, moment
        self._links, self._routers = LINKS_PER_SITE * sites, 2 * sites
        self.incidents: list[Row] = []
        self.outages: list[Row] = []
        self.windows: list[Row] = []

    def month(self, circuits: int, start: datetime, end: datetime) -> int:
        """One to three outages for ``OUTAGE_SHARE`` of the circuits in [start, end);
        how many outages."""
        if end <= start + timedelta(hours=1):
            return 0
        rng = self._rng
        chosen = rng.sample(range(1, circuits + 1), int(circuits * OUTAGE_SHARE))
        queue = [circuit for circuit in chosen for _ in range(rng.randint(1, 3))]
        rng.shuffle(queue)
        made = 0
        while queue:
            group = [
                queue.pop() for _ in range(min(len(queue), rng.randint(*CIRCUITS_PER_INCIDENT)))
            ]
            span = (end - start).total_seconds()
            duration = min(rng.expovariate(1 / 7200) + 300, span / 2)
            began = start + timedelta(seconds=rng.uniform(0, span - duration))
            self._incident(set(group), began, began + timedelta(seconds=duration))
            made += len(set(group))
        return made

    def open_now(self, circuits: int) -> dict[int, int]:
        """Outages under way for ``DOWN_NOW_SHARE`` of the circuits: circuit → incident."""
        now, rng = self._moment.now, self._rng
        down: dict[int, int] = {}
        for circuit in rng.sample(range(1, circuits + 1), int(circuits * DOWN_NOW_SHARE)):
            began = now - timedelta(seconds=rng.uniform(60, 6 * 3600))
            down[circuit] = self._incident({circuit}, began, None, OutageCause.UNPLANNED)
        return down

    def _incident(
        self,
        circuits: set[int],
        began: datetime,
        ended: datetime | None,
        cause: OutageCause | None = None,
    ) -> int:
        rng = self._rng
        cause = cause or rng.choices(list(CAUSES), list(CAUSES.values()))[0]
        window = None
        if cause is OutageCause.PLANNED and ended is not None:
            window = self._window(began, ended)
        number = len(self.incidents) + 1
        link = rng.randrange(1, self._links + 1)
        self.incidents.append(
            {
                "id": number,
                "opened_at": began,
                "closed_at": ended,
                "failing_kind": FailingKind.LINK,
                "failing_id": link,
                "failing": f"link BL-{link:05d}",
                "cause": cause,
                "maintenance_window_id": window,
            }
        )
        first = len(self.outages)
        self.outages.extend(
            {
                "id": first + index,
                "incident_id": number,
                "circuit_id": circuit,
                "started_at": began,
                "ended_at": ended,
            }
            for index, circuit in enumerate(sorted(circuits), 1)
        )
        return number

    def _window(self, began: datetime, ended: datetime) -> int:
        """A window declared on a router around the work; some works overrun it."""
        rng = self._rng
        opens = began - timedelta(minutes=rng.randrange(0, 60))
        closes = ended + timedelta(minutes=rng.randrange(0, 60))
        if rng.random() < OVERRUN_SHARE:
            closes = began + (ended - began) / 2
        router = rng.randrange(1, self._routers + 1)
        number = len(self.windows) + 1
        self.windows.append(
            {
                "id": number,
                "subject_kind": SubjectKind.DEVICE,
                "subject_id": router,
                "subject": f"router {router}",
                "starts_at": opens,
                "ends_at": closes,
                "reason": "planned work",
                "declared_by": "bench",
                "declared_at": opens - timedelta(days=7),
            }
        )
        return number

    def flush(self) -> None:
        self._history.add(table_of(MaintenanceWindow), self.windows)
        self._history.add(table_of(Incident), self.incidents)
        self._history.add(table_of(IncidentCircuit), self.outages)


def write_history(url: str, history: History) -> dict[str, int]:
    """Every row in one transaction (COPY on PostgreSQL); sequences moved past the ids."""
    engine = make_engine(url)
    try:
        with session_scope(engine, actor="bench") as session:
            for table, rows in history.rows.items():
                insert_rows(session, table, rows)
            if engine.dialect.name == "postgresql":
                _advance_sequences(session, list(history.rows))
    finally:
        engine.dispose()
    return {table.name: len(rows) for table, rows in history.rows.items()}


def _advance_sequences(session: Session, tables: list[sa.Table]) -> None:
    for table in tables:
        if "id" not in table.c or not table.c.id.autoincrement:
            continue
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
        )


# --- /metrics -------------------------------------------------------------------------------


class NaiveExporter:
    """The exporter one would write first: one ``Gauge`` (``Counter``, ``Info``) with labels
    per family in a registry of its own, whose children are set from the database at each
    scrape (and children no longer seen removed), then ``generate_latest``.

    It reads through the same family code as ``/metrics`` (so the same queries and values),
    then copies every sample into its metric objects: the part it adds is exactly the
    metric objects and prometheus-client's rendering.
    """

    def __init__(self, source: GigalisCollector) -> None:
        self._source = source
        # /metrics has no ``_created`` series; this process's counters must not add them.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=False)
        self._metrics: dict[str, MetricWrapperBase] = {}
        self._seen: dict[str, set[tuple[str, ...]]] = {}

    def scrape(self) -> bytes:
        for family in self._source.collect():
            self._fill(family)
        return generate_latest(self.registry)

    def _fill(self, family: Any) -> None:
        metric: Any = self._metrics.get(family.name) or self._declare(family)
        seen: set[tuple[str, ...]] = set()
        for sample in family.samples:
            labels = sample.labels
            if family.type == "info":
                key = (labels["circuit"],)
                metric.labels(*key).info({k: v for k, v in labels.items() if k != "circuit"})
            elif family.type == "counter":
                key = tuple(labels.values())
                child = metric.labels(*key) if labels else metric
                child._value.set(sample.value)  # a counter read from elsewhere: set, not inc
            else:
                key = tuple(labels.values())
                (metric.labels(*key) if labels else metric).set(sample.value)
            seen.add(key)
        for stale in self._seen.get(family.name, set()) - seen:
            metric.remove(*stale)
        self._seen[family.name] = seen

    def _declare(self, family: Any) -> MetricWrapperBase:
        names = list(family.samples[0].labels) if family.samples else []
        kind: type[MetricWrapperBase] = {"info": Info, "counter": Counter}.get(family.type, Gauge)
        if family.type == "info":
            names = ["circuit"]
        metric = kind(family.name, family.documentation, names, registry=self.registry)
        self._metrics[family.name] = metric
        return metric


def time_runs(run: Callable[[], object], runs: int) -> Timings:
    for _ in range(WARM_UP_SCRAPES):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return Timings(tuple(samples))


def time_scrapes(url: str, catalogue: Catalogue, scrapes: int) -> ScrapeFigures:
    """``/metrics`` through the API, then the collector alone and the naive exporter here."""
    secret_key = secrets.token_urlsafe(32)
    token = bench_token(url, secret_key)
    bodies: list[bytes] = []
    with (
        api_server(url, secret_key, MONITORING_WORKDIR, SERVER_SETTINGS) as base_url,
        httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
            trust_env=False,  # loopback only: never through a proxy from the environment
        ) as client,
    ):

        def scrape_api() -> None:
            response = client.get("/metrics")
            if response.status_code != 200:
                raise BenchFailure(f"/metrics answered {response.status_code}: {response.text}")
            bodies.append(response.content)

        api = time_runs(scrape_api, scrapes)

    engine = make_engine(url)
    try:
        collector = GigalisCollector(engine, catalogue)
        collect = time_runs(lambda: list(collector.collect()), scrapes)
        naive = NaiveExporter(collector)
        naive_bodies: list[bytes] = []
        naive_timings = time_runs(lambda: naive_bodies.append(naive.scrape()), scrapes)
    finally:
        engine.dispose()
    exposition, naive_exposition = Exposition.of(bodies[-1]), Exposition.of(naive_bodies[-1])
    _check_same_series(bodies[-1], naive_bodies[-1])
    return ScrapeFigures(api, naive_timings, collect, exposition, naive_exposition)


def _check_same_series(body: bytes, naive: bytes) -> None:
    """Both exporters must show the same series, or the ratio compares different work."""

    def keys(text: bytes) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {
            (sample.name, tuple(sorted(sample.labels.items())))
            for family in text_string_to_metric_families(text.decode("utf-8"))
            for sample in family.samples
        }

    ours, theirs = keys(body), keys(naive)
    if ours != theirs:
        raise BenchFailure(
            f"the naive exporter's series differ from /metrics: {len(ours - theirs)} only in "
            f"/metrics, {len(theirs - ours)} only in the naive one"
        )


# --- the month's SLA ------------------------------------------------------------------------


def time_sla(url: str, catalogue: Catalogue, moment: Moment, outages: int) -> SlaFigures:
    engine = make_engine(url)
    try:
        with session_scope(engine, actor="bench", read_only=True) as session:
            start = time.perf_counter()
            report = month_report(session, catalogue, *moment.closed, now=moment.now)
            report_seconds = time.perf_counter() - start
        if report.provisional:
            raise BenchFailure(f"{report.month} came out provisional")
        with session_scope(engine, actor="bench") as session:
            start = time.perf_counter()
            counts = store_month(session, report)
            store_seconds = time.perf_counter() - start
        with session_scope(engine, actor="bench") as session:
            start = time.perf_counter()
            again = store_month(session, report)
            restore_seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    if again.unchanged != len(report.circuits):
        raise BenchFailure(f"storing {report.month} again changed {again}")
    stored = f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
    return SlaFigures(
        report.month,
        len(report.circuits),
        outages,
        report_seconds,
        store_seconds,
        restore_seconds,
        stored,
    )


# --- one database, then the report --------------------------------------------------------


def bench_database(
    kind: str, history: History, moment: Moment, arguments: argparse.Namespace, busy: list[str]
) -> DatabaseFigures:
    figures = DatabaseFigures(kind)
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    MONITORING_WORKDIR.mkdir(parents=True, exist_ok=True)
    try:
        with migrated_database(kind, MONITORING_WORKDIR) as url:
            figures.version = server_version(url)
            print(f"[{kind}] writing {len(history.rows[CIRCUIT]):,} circuits and their history…")
            start = time.perf_counter()
            figures.rows = write_history(url, history)
            figures.write_seconds = time.perf_counter() - start
            settle(url)
            check_quiet(f"{kind} scrapes", busy)
            print(f"[{kind}] timing /metrics and the naive exporter…", flush=True)
            figures.scrape = time_scrapes(url, catalogue, arguments.scrapes)
            check_quiet(f"{kind} SLA", busy)
            print(f"[{kind}] timing the month's SLA report…", flush=True)
            figures.sla = time_sla(url, catalogue, moment, history.closed_month_outages)
    except (BenchFailure, PostgresUnavailable, httpx.HTTPError) as failure:
        figures.error = str(failure)
        print(f"[{kind}] FAILED: {failure}", file=sys.stderr, flush=True)
    return figures


def print_report(results: list[DatabaseFigures], arguments: argparse.Namespace) -> None:
    print()
    print(f"{arguments.circuits:,} active circuits")
    if arguments.circuits < FULL_CIRCUITS:
        print("(fewer circuits than the targets are set for: a smoke check only)")
    for result in results:
        print(
            f"{result.database}: {result.version or '—'}, written in {result.write_seconds:.1f} s"
        )
    print()
    print(
        f"{'database':<11} {'median':>8} {'p95':>8} {'size MB':>8} {'series':>8} "
        f"{'collect':>8} {'naive':>8} {'ratio':>6} {'target':>14} {'result':>6}"
    )
    for result in results:
        scrape = result.scrape
        if scrape is None:
            print(f"{result.database:<11} not measured: {result.error}")
            continue
        target = f"<{SCRAPE_TARGET_SECONDS:.0f} s, ≥{SCRAPE_RATIO_TARGET:.0f}×"
        print(
            f"{result.database:<11} {scrape.api.median:7.3f}s {scrape.api.p95:7.3f}s "
            f"{scrape.exposition.size_bytes / 1e6:8.1f} {scrape.exposition.series:8,} "
            f"{scrape.collect.median:7.3f}s {scrape.naive.median:7.3f}s {scrape.ratio:5.1f}x "
            f"{target:>14} {verdict(scrape.passed):>6}"
        )
    print()
    print(
        f"{'database':<11} {'month':>7} {'circuits':>9} {'outages':>8} {'report':>8} "
        f"{'circuits/s':>10} {'store':>7} {'again':>7} {'target':>7} {'result':>6}"
    )
    for result in results:
        sla = result.sla
        if sla is None:
            print(f"{result.database:<11} not measured: {result.error}")
            continue
        print(
            f"{result.database:<11} {sla.month:>7} {sla.circuits:9,} {sla.outages:8,} "
            f"{sla.report_seconds:7.2f}s {sla.per_second:10,.0f} {sla.store_seconds:6.2f}s "
            f"{sla.restore_seconds:6.2f}s {SLA_TARGET_SECONDS:5.0f} s {verdict(sla.passed):>6}"
        )


def write_json(
    results: list[DatabaseFigures], arguments: argparse.Namespace, moment: Moment, busy: list[str]
) -> str:
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "at": now.isoformat(timespec="seconds"),
        "machine": machine_facts(busy),
        "circuits": arguments.circuits,
        "seed": arguments.seed,
        "scrapes": arguments.scrapes,
        "now": moment.now.isoformat(timespec="seconds"),
        "results": [result.as_json() for result in results],
    }
    path = RESULTS / f"monitoring-{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(path.relative_to(ROOT))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=None, help="active circuits (100,000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CIRCUITS:,} circuits")
    parser.add_argument("--scrapes", type=int, default=20, help="timed scrapes of each exporter")
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite")
    parser.add_argument("--postgresql", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--seed", type=int, default=SEED)
    arguments = parser.parse_args()
    if arguments.circuits is None:
        arguments.circuits = QUICK_CIRCUITS if arguments.quick else FULL_CIRCUITS
    if arguments.circuits < 100 or arguments.scrapes < 1:
        parser.error("--circuits takes at least 100, --scrapes a positive number")
    return arguments


def main() -> int:
    arguments = parse_arguments()
    chosen = [kind for kind in DATABASES if getattr(arguments, kind)] or ["sqlite"]
    moment = Moment.at(datetime.now(UTC).replace(microsecond=0))
    print(f"building {arguments.circuits:,} circuits and their history…", flush=True)
    history = synthetic_history(arguments.circuits, moment, arguments.seed)
    busy: list[str] = []
    results = [bench_database(kind, history, moment, arguments, busy) for kind in chosen]
    print_report(results, arguments)
    for warning in busy:
        print(f"warning: {warning}; figures are noisy")
    print(f"\nfigures written to {write_json(results, arguments, moment, busy)}")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
