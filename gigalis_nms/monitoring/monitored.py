"""The poller's view in Prometheus metric families, read from the database at each scrape:
circuit and link state, month-to-date downtime, open incidents and GTR countdowns, routers'
reachability, the poller's own health.

Per-circuit series carry the ``circuit`` label only; Prometheus joins them with
``gigalis_circuit_info`` for the operator, offer and SLA class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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


def monitoring_families(
    session: Session, now: datetime, terms: Mapping[int, SlaTerms], *, poll_seconds: float
) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    """Every family of the poller's view; ``terms`` gives the SLA of each ordered circuit,
    ``poll_seconds`` the interval the poller is set to (the alert on a stalled poller
    compares the last round's age with it)."""
    month_start, month_end = _month_of(now)
    yield from _month(month_start, month_end, now)
    yield from _circuits(session, now, month_start, terms)
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
    session: Session, now: datetime, month_start: datetime, terms: Mapping[int, SlaTerms]
) -> Iterator[GaugeMetricFamily]:
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
    states = _states(session)
    outages = outages_between(session, month_start, now)
    for circuit_id, ref, protected in _active(session):
        state = states.get(circuit_id)
        if state is not None and state[0] is not ObservedState.UNKNOWN:
            up.add_metric([ref], 1 if state[0] is ObservedState.UP else 0)
        if protected:
            protection.add_metric([ref], 1 if state is not None and state[1] else 0)
        counted, left_out = time_down(outages.get(circuit_id, ()), month_start, now)
        downtime.add_metric([ref], counted)
        excluded.add_metric([ref], left_out)
        ongoing = _ongoing_counted(outages.get(circuit_id, ()))
        sla = terms.get(circuit_id)
        if ongoing is not None and sla is not None:
            restore.add_metric([ref], restore_seconds(Outage(ongoing.start, now), sla.hours))
            gtr.add_metric([ref], sla.gtr_hours * 3600)
    yield from (up, protection, downtime, excluded, restore, gtr)
    yield _state_counts(states)


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["circuit"])


def _active(session: Session) -> Iterator[tuple[int, str, bool]]:
    query = (
        sa.select(CIRCUIT.c.id, CIRCUIT.c.ref, CIRCUIT.c.protected)
        .where(CIRCUIT.c.status == CircuitStatus.ACTIVE)
        .order_by(CIRCUIT.c.ref)
    )
    for row in execute_core(session, query):
        yield row.id, row.ref, bool(row.protected)


def _states(session: Session) -> dict[int, tuple[ObservedState, bool]]:
    table = table_of(CircuitState)
    query = sa.select(table.c.circuit_id, table.c.state, table.c.on_protection)
    return {
        row.circuit_id: (ObservedState(row.state), bool(row.on_protection))
        for row in execute_core(session, query)
    }


def _ongoing_counted(outages: list[Outage] | tuple[()]) -> Outage | None:
    """The circuit's outage under way that counts (an unplanned one), if any."""
    ongoing = [o for o in outages if o.end is None and o.cause in COUNTED_CAUSES]
    return min(ongoing, key=lambda outage: outage.start) if ongoing else None


def _state_counts(states: Mapping[int, tuple[ObservedState, bool]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{PREFIX}_circuit_states", "Circuits followed by the poller, by state.", labels=["state"]
    )
    counts = dict.fromkeys(ObservedState, 0)
    for state, _ in states.values():
        counts[state] += 1
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


def _links(session: Session) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    state = table_of(LinkState)
    up = GaugeMetricFamily(
        f"{PREFIX}_backbone_link_up",
        "1 when the backbone link is up, 0 when down; absent when unknown.",
        labels=["link"],
    )
    query = (
        sa.select(LINK.c.code, state.c.state)
        .join(state, state.c.backbone_link_id == LINK.c.id)
        .where(state.c.state != ObservedState.UNKNOWN)
        .order_by(LINK.c.code)
    )
    for row in execute_core(session, query):
        up.add_metric([row.code], 1 if row.state == ObservedState.UP else 0)
    yield up
    yield _link_bytes(session)


def _link_bytes(session: Session) -> CounterMetricFamily:
    """Bytes sent into each backbone link by each end, from the ends' interface counters."""
    family = CounterMetricFamily(
        f"{PREFIX}_backbone_link_transmit_bytes",
        "Bytes sent into the link, by direction, from the sending end's counters.",
        labels=["link", "direction"],
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
        for row in execute_core(session, query):
            family.add_metric([row.code, direction], row.out_octets)
    return family


def _devices(session: Session) -> Iterator[GaugeMetricFamily]:
    poll = table_of(DevicePoll)
    family = GaugeMetricFamily(
        f"{PREFIX}_device_reachable",
        "1 when the router answered its last poll, 0 when it did not.",
        labels=["device"],
    )
    query = (
        sa.select(DEVICE.c.hostname, poll.c.reachable)
        .join(poll, poll.c.device_id == DEVICE.c.id)
        .order_by(DEVICE.c.hostname)
    )
    for row in execute_core(session, query):
        family.add_metric([row.hostname], 1 if row.reachable else 0)
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
