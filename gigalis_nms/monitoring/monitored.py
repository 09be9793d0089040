"""The poller's view in Prometheus metric families, read from the database at each scrape:
circuit and link state, month-to-date downtime, open incidents and GTR countdowns, routers'
reachability, the poller's own health.

Per-circuit series carry the ``circuit`` label only; Prometheus joins them with
``gigalis_circuit_info`` for the operator, offer and SLA class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import compress, repeat
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import CircuitStatus, LifecycleStatus
from gigalis_nms.inventory.tables import CIRCUIT, DEVICE, LINK
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.models import (
    CircuitState,
    DevicePoll,
    Incident,
    InterfaceObservation,
    LinkState,
    ObservedState,
    PollerStatus,
)
from gigalis_nms.monitoring.outages import outages_between
from gigalis_nms.monitoring.sla import (
    COUNTED_CAUSES,
    Outage,
    OutageCause,
    SlaTerms,
    restore_seconds,
    time_down,
)

PREFIX = "gigalis"
# What prometheus-client's own families add to the family's name in each sample's name.
SAMPLE_SUFFIX = {"counter": "_total", "info": "_info"}
NOTHING_DOWN = (0, 0)  # what time_down gives a circuit without outages: no seconds at all
# Values as circuit_rows reads them (text); no up series when unknown or not followed.
ACTIVE, UP = CircuitStatus.ACTIVE.value, ObservedState.UP.value
NOT_SHOWN = frozenset({None, ObservedState.UNKNOWN.value})


class SeriesFamily(Metric):
    """A metric family (gauge, counter or info) whose series all carry the same label names,
    kept as columns: one list of values per label name, and one of the series' values.

    A scrape holds 100,000 series per circuit family: the Sample tuples and label dicts of
    prometheus-client's own families cost more than reading the database, and its text
    writer as much again. The columns are what ``/metrics`` writes directly
    (``gigalis_nms.api.metrics``); ``samples`` still builds the very Samples the
    ``*MetricFamily`` classes would, so any registry and ``generate_latest`` read it alike.
    An info family's value is 1 and its columns carry every label, the ``circuit`` first.
    """

    def __init__(self, name: str, documentation: str, kind: str, labels: Sequence[str]) -> None:
        super().__init__(name, documentation, kind)
        self.label_names = tuple(labels)
        self.sample_name = name + SAMPLE_SUFFIX.get(kind, "")
        self.columns: list[list[str]] = [[] for _ in self.label_names]
        self.values: list[float] = []

    def add(self, labels: Sequence[str], value: float) -> None:
        """One series: its label values in the order of ``label_names``, and its value."""
        for column, label in zip(self.columns, labels, strict=True):
            column.append(label)
        self.values.append(value)

    def set_series(self, columns: Sequence[list[str]], values: list[float]) -> None:
        """Every series at once, as columns (built without a call per series)."""
        if len(columns) != len(self.label_names) or any(len(c) != len(values) for c in columns):
            raise ValueError(f"{self.name}: one column per label, each as long as the values")
        self.columns, self.values = list(columns), values

    @property
    def samples(self) -> list[Sample]:
        names, name = self.label_names, self.sample_name
        rows = zip(*self.columns, strict=True) if names else repeat((), len(self.values))
        return [
            Sample(name, dict(zip(names, labels, strict=True)), value)
            for labels, value in zip(rows, self.values, strict=True)
        ]

    @samples.setter
    def samples(self, samples: list[Sample]) -> None:
        # Metric.__init__ starts every family empty; series come in through add() only.
        if samples:
            raise ValueError(f"{self.name}: add series with add(), not samples")


def monitoring_families(
    session: Session,
    now: datetime,
    circuits: Sequence[CircuitRow],
    terms: Mapping[int, SlaTerms],
    *,
    poll_seconds: float,
) -> Iterator[Metric]:
    """Every family of the poller's view; ``circuits`` are :func:`circuit_rows`, ``terms``
    gives the SLA of each ordered circuit, ``poll_seconds`` the interval the poller is set
    to (the alert on a stalled poller compares the last round's age with it)."""
    month_start, month_end = _month_of(now)
    yield from _month(month_start, month_end, now)
    yield from _circuits(session, now, month_start, circuits, terms)
    yield from _incidents(session)
    yield from _links(session)
    yield from _devices(session)
    yield from _poller(session, poll_seconds)


def _month_of(now: datetime) -> tuple[datetime, datetime]:
    paris = now.astimezone(PARIS)
    return month_bounds(paris.year, paris.month)


def _month(start: datetime, end: datetime, now: datetime) -> Iterator[GaugeMetricFamily]:
    period = GaugeMetricFamily(
        f"{PREFIX}_sla_month_period_seconds",
        "Length of the current calendar month (Europe/Paris), over which availability is due.",
    )
    period.add_metric([], (end - start).total_seconds())
    elapsed = GaugeMetricFamily(
        f"{PREFIX}_sla_month_elapsed_seconds", "Time since the current month began (Paris)."
    )
    elapsed.add_metric([], (now - start).total_seconds())
    yield from (period, elapsed)


def _circuits(
    session: Session,
    now: datetime,
    month_start: datetime,
    circuits: Sequence[CircuitRow],
    terms: Mapping[int, SlaTerms],
) -> Iterator[Metric]:
    up = _gauge("circuit_up", "1 when the circuit is up, 0 when down; absent when unknown.")
    protection = _gauge(
        "circuit_on_protection",
        "1 while a protected circuit runs on its protection path (working path broken).",
    )
    downtime = _gauge(
        "circuit_month_downtime_seconds",
        "Month-to-date downtime counted against availability (Europe/Paris month).",
    )
    excluded = _gauge(
        "circuit_month_excluded_seconds",
        "Month-to-date outage time excluded from availability: planned, customer, force majeure.",
    )
    restore = _gauge(
        "circuit_outage_restore_seconds",
        "Circuits down with an unplanned outage: time since it began, in the SLA's hours.",
    )
    gtr = _gauge("circuit_outage_gtr_seconds", "Circuits down: their guaranteed time to restore.")
    outages = outages_between(session, month_start, now)
    # 100,000 circuits: each family's columns are comprehensions over them, and the work
    # per circuit is kept to what it has (most have no outage).
    active = [row for row in circuits if row[3] == ACTIVE]
    refs = [row[1] for row in active]

    followed = [row[6] not in NOT_SHOWN for row in active]
    up.set_series(
        [list(compress(refs, followed))],
        [1 if row[6] == UP else 0 for row in compress(active, followed)],
    )
    protected = [bool(row[5]) for row in active]
    protection.set_series(
        [list(compress(refs, protected))],
        [1 if row[7] else 0 for row in compress(active, protected)],
    )

    down = {circuit: time_down(found, month_start, now) for circuit, found in outages.items()}
    times = [down.get(row[0], NOTHING_DOWN) for row in active]
    downtime.set_series([refs], [counted for counted, _ in times])
    excluded.set_series([refs.copy()], [left_out for _, left_out in times])

    for ref, row in zip(refs, active, strict=True):
        if row[0] not in outages:
            continue
        ongoing = _ongoing_counted(outages[row[0]], now)
        sla = terms.get(row[0])
        if ongoing is not None and sla is not None:
            restore.add((ref,), restore_seconds(Outage(ongoing.start, now), sla.hours))
            gtr.add((ref,), sla.gtr_hours * 3600)
    yield from (up, protection, downtime, excluded, restore, gtr)
    yield _state_counts(session)


def _gauge(name: str, documentation: str) -> SeriesFamily:
    return SeriesFamily(f"{PREFIX}_{name}", documentation, "gauge", ["circuit"])


# A circuit not terminated: id, reference, service type, status, operator's id,
# protected, its state and whether it runs on protection (both None when not followed).
CircuitRow = tuple[int, str, str, str, int, Any, str | None, Any]


def circuit_rows(session: Session) -> list[CircuitRow]:
    """Every circuit not terminated, by reference: what the info series and the
    per-circuit families of the active ones show, read once for both (100,000 rows).
    Enums as their text values, booleans as the driver gives them (0/1 on SQLite)."""
    state = table_of(CircuitState)
    query = (
        sa.select(
            CIRCUIT.c.id,
            CIRCUIT.c.ref,
            CIRCUIT.c.service_type,
            CIRCUIT.c.status,
            CIRCUIT.c.operator_id,  # its name from a dict: no join, no string per circuit
            CIRCUIT.c.protected,
            state.c.state,
            state.c.on_protection,
        )
        .outerjoin(state, state.c.circuit_id == CIRCUIT.c.id)
        .where(CIRCUIT.c.status != CircuitStatus.TERMINATED)
        .order_by(CIRCUIT.c.ref)
    )
    return driver_rows(session, query)


def driver_rows(session: Session, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the database driver returns them, in the session's
    transaction, without SQLAlchemy's result layer.

    For the scrape's reads of 100,000 rows: SQLAlchemy's Row objects and result conversions
    (text to enum members, 0/1 to booleans) took longer than the database to answer (on
    SQLite, 400 ms against 150 ms for the active circuits). So: values come as the driver
    gives them (an enum as its text value, a boolean as 0 or 1 on SQLite, a time as text
    on SQLite); only columns whose raw value is what the caller wants belong here. The
    query's parameters are written into it as literals: constants only, never input.
    """
    connection = session.connection()
    sql = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(sql))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _ongoing_counted(outages: list[Outage], now: datetime) -> Outage | None:
    """The circuit's outage under way that counts (an unplanned one), if any. The unplanned
    tail of planned work whose window has not ended yet has not begun: it is not one."""
    ongoing = [o for o in outages if o.end is None and o.cause in COUNTED_CAUSES and o.start <= now]
    return min(ongoing, key=lambda outage: outage.start) if ongoing else None


def _state_counts(session: Session) -> GaugeMetricFamily:
    """Circuits followed by the poller (every state row, whatever the circuit's status)."""
    table = table_of(CircuitState)
    family = GaugeMetricFamily(
        f"{PREFIX}_circuit_states", "Circuits followed by the poller, by state.", labels=["state"]
    )
    query = sa.select(table.c.state, sa.func.count().label("circuits")).group_by(table.c.state)
    counts = dict.fromkeys(ObservedState, 0)
    for row in execute_core(session, query).all():
        counts[row.state] = row.circuits
    for state, count in counts.items():
        family.add_metric([state.value], count)
    return family


def _incidents(session: Session) -> Iterator[GaugeMetricFamily]:
    table = table_of(Incident)
    query = (
        sa.select(table.c.cause, sa.func.count().label("open"))
        .where(table.c.closed_at.is_(None))
        .group_by(table.c.cause)
    )
    counts = {str(row.cause): row.open for row in execute_core(session, query)}
    family = GaugeMetricFamily(
        f"{PREFIX}_incidents_open", "Incidents not closed yet, by cause.", labels=["cause"]
    )
    for cause in OutageCause:
        family.add_metric([cause.value], counts.get(cause.value, 0))
    yield family


def _links(session: Session) -> Iterator[SeriesFamily]:
    state = table_of(LinkState)
    up = SeriesFamily(
        f"{PREFIX}_backbone_link_up",
        "1 when the backbone link is up, 0 when down; absent when unknown.",
        "gauge",
        ["link"],
    )
    query = (
        sa.select(LINK.c.code, state.c.state)
        .join(state, state.c.backbone_link_id == LINK.c.id)
        .where(state.c.state != ObservedState.UNKNOWN)
        .order_by(LINK.c.code)
    )
    for row in execute_core(session, query).all():
        up.add((row.code,), 1 if row.state == ObservedState.UP else 0)
    yield up
    yield _link_bytes(session)


def _link_bytes(session: Session) -> SeriesFamily:
    """Bytes sent into each backbone link by each end, from the ends' interface counters."""
    family = SeriesFamily(
        f"{PREFIX}_backbone_link_transmit_bytes",
        "Bytes sent into the link, by direction, from the sending end's counters.",
        "counter",
        ["link", "direction"],
    )
    seen = table_of(InterfaceObservation)
    for end, direction in (("a", "a_to_z"), ("z", "z_to_a")):
        interface = LINK.c[f"{end}_interface_id"]
        query = (
            sa.select(LINK.c.code, seen.c.out_octets)
            .join(seen, seen.c.interface_id == interface)
            .where(LINK.c.status == LifecycleStatus.ACTIVE, seen.c.out_octets.is_not(None))
            .order_by(LINK.c.code)
        )
        for row in execute_core(session, query).all():
            family.add((row.code, direction), row.out_octets)
    return family


def _devices(session: Session) -> Iterator[SeriesFamily]:
    poll = table_of(DevicePoll)
    family = SeriesFamily(
        f"{PREFIX}_device_reachable",
        "1 when the router answered its last poll, 0 when it did not.",
        "gauge",
        ["device"],
    )
    query = (
        sa.select(DEVICE.c.hostname, poll.c.reachable)
        .join(poll, poll.c.device_id == DEVICE.c.id)
        .order_by(DEVICE.c.hostname)
    )
    for row in execute_core(session, query).all():
        family.add((row.hostname,), 1 if row.reachable else 0)
    yield family


def _poller(
    session: Session, poll_seconds: float
) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    interval = GaugeMetricFamily(
        f"{PREFIX}_poller_interval_seconds", "How often the poller is set to read the routers."
    )
    interval.add_metric([], poll_seconds)
    yield interval
    status = session.get(PollerStatus, 1) or PollerStatus(id=1)
    rounds = CounterMetricFamily(f"{PREFIX}_poller_rounds", "Poll rounds completed.")
    rounds.add_metric([], status.rounds_total)
    errors = CounterMetricFamily(
        f"{PREFIX}_poller_device_errors", "Routers that did not answer, summed over the rounds."
    )
    errors.add_metric([], status.device_errors_total)
    yield from (rounds, errors)
    if status.last_round_started_at is None:
        return  # never polled: no last round to describe
    last = {
        "duration_seconds": ("How long the last round took.", status.last_round_seconds or 0.0),
        "timestamp_seconds": (
            "When the last round's readings were complete, in seconds since the epoch.",
            status.last_round_started_at.timestamp(),
        ),
        "failed_devices": (
            "Routers that did not answer in the last round.",
            status.last_round_failed_devices,
        ),
    }
    for name, (documentation, value) in last.items():
        family = GaugeMetricFamily(f"{PREFIX}_poller_last_round_{name}", documentation)
        family.add_metric([], value)
        yield family
