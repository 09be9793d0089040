"""What `gigalis serve` exports to Prometheus at ``/metrics``: a custom collector that reads
the database at each scrape and builds fresh metric families, so that every process
serving the API answers the same and nothing is kept between scrapes.

Names carry one prefix, base units (bits per second, not Mb/s) and 0–1 ratios. A circuit
has one ``gigalis_circuit_info`` series whose labels describe it (operator, service,
offer, SLA class, status); other per-circuit series, when the poller comes, will carry the
``circuit`` label only, to be joined on the info series. Counts by state are small, bounded
families.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.inventory.enums import CircuitStatus, LifecycleStatus
from gigalis_nms.inventory.tables import CIRCUIT, LINK, ORGANISATION
from gigalis_nms.monitoring.monitored import (
    CircuitRow,
    SeriesFamily,
    circuit_rows,
    driver_rows,
    monitoring_families,
)
from gigalis_nms.monitoring.report import last_order_items
from gigalis_nms.monitoring.sla import HOUR, SlaTerms
from gigalis_nms.ordering.models import (
    DeliveryState,
    EventDelivery,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.provisioning.models import JobState, ProvisioningJob

PREFIX = "gigalis"
BITS_PER_MEGABIT = 1_000_000
# The circuit first, then what describes it, in the order the info series always had.
INFO_LABELS = ("circuit", "operator", "service", "offer", "sla_class", "status")


# Work of the other capabilities, counted by state: table, states, metric, help.
COUNTED_BY_STATE: tuple[tuple[type[SQLModel], type[StrEnum], str, str], ...] = (
    (ProvisioningJob, JobState, "provisioning_jobs", "Provisioning jobs by state."),
    (ProductOrder, OrderState, "product_orders", "Product orders by state."),
    (
        EventDelivery,
        DeliveryState,
        "notification_deliveries",
        "Notifications to operators' callbacks by state.",
    ),
)


class GigalisCollector(Collector):
    """Reads the inventory, orders, jobs and notifications at each scrape."""

    def __init__(self, engine: Engine, catalogue: Catalogue, *, poll_seconds: float = 60.0) -> None:
        self._engine = engine
        self._poll_seconds = poll_seconds
        self._sla_of_offer = {offer.id: offer.sla_class for offer in catalogue.offers}
        self._sla_classes = {sla.id: SlaTerms.of(sla) for sla in catalogue.sla_classes}

    def collect(self) -> Iterator[Any]:
        started = time.perf_counter()
        now = utcnow()
        with session_scope(self._engine, read_only=True) as session:
            offers = _offers(session)
            circuits = circuit_rows(session)
            yield from _links(session)
            yield from _circuits(session, circuits, self._sla_of_offer, offers)
            terms = {
                circuit: self._sla_classes[self._sla_of_offer[offer]]
                for circuit, offer in offers.items()
                if offer in self._sla_of_offer
            }
            yield from monitoring_families(
                session, now, circuits, terms, poll_seconds=self._poll_seconds
            )
            yield from _sla_classes(self._sla_classes)
            for table, states, name, documentation in COUNTED_BY_STATE:
                yield _counted(
                    session,
                    table_of(table).c.state,
                    states,
                    name=name,
                    documentation=documentation,
                )
        duration = GaugeMetricFamily(
            f"{PREFIX}_exporter_scrape_duration_seconds",
            "How long this scrape took to read the database.",
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration


def _operator_names(session: Any) -> dict[int, str]:
    query = sa.select(ORGANISATION.c.id, ORGANISATION.c.name)
    return {row.id: row.name for row in execute_core(session, query).all()}


def _offers(session: Any) -> dict[int, str]:
    """The offer each circuit was last ordered under (see ``report.ordered_offers``)."""
    items = table_of(ProductOrderItem)
    return dict(driver_rows(session, last_order_items(items.c.circuit_id, items.c.offering_id)))


def _links(session: Any) -> Iterator[SeriesFamily]:
    capacity = SeriesFamily(
        f"{PREFIX}_backbone_link_capacity_bits_per_second",
        "Capacity of each active backbone link.",
        "gauge",
        ["link"],
    )
    held = SeriesFamily(
        f"{PREFIX}_backbone_link_held_bits_per_second",
        "Bandwidth held by circuits on each active backbone link.",
        "gauge",
        ["link"],
    )
    held_ratio = SeriesFamily(
        f"{PREFIX}_backbone_link_held_ratio",
        "Held over capacity, 0 to 1, of each active backbone link.",
        "gauge",
        ["link"],
    )
    query = sa.select(LINK.c.code, LINK.c.capacity_mbps, LINK.c.held_mbps).where(
        LINK.c.status == LifecycleStatus.ACTIVE
    )
    for row in execute_core(session, query.order_by(LINK.c.code)).all():
        labels = (row.code,)
        capacity.add(labels, row.capacity_mbps * BITS_PER_MEGABIT)
        held.add(labels, row.held_mbps * BITS_PER_MEGABIT)
        held_ratio.add(labels, row.held_mbps / row.capacity_mbps)
    yield from (capacity, held, held_ratio)


def _circuits(
    session: Any,
    circuits: Sequence[CircuitRow],
    sla_of_offer: dict[str, str],
    offers: dict[int, str],
) -> Iterator[Any]:
    """One info series per circuit in service, and the count of circuits by status."""
    info = SeriesFamily(
        f"{PREFIX}_circuit",
        "What each circuit in service is: operator, service, offer, SLA class, status.",
        "info",
        INFO_LABELS,
    )
    operators = _operator_names(session)
    offer_of = [offers.get(row[0], "") for row in circuits]
    info.set_series(  # in the order of INFO_LABELS
        [
            [row[1] for row in circuits],
            [operators[row[4]] for row in circuits],
            [row[2] for row in circuits],
            offer_of,
            [sla_of_offer.get(offer, "") for offer in offer_of],
            [row[3] for row in circuits],
        ],
        [1] * len(circuits),
    )
    yield info

    yield _counted(
        session,
        CIRCUIT.c.status,
        CircuitStatus,
        name="circuits",
        documentation="Circuits by status.",
    )


def _sla_classes(classes: dict[str, SlaTerms]) -> Iterator[GaugeMetricFamily]:
    target = GaugeMetricFamily(
        f"{PREFIX}_sla_class_availability_target_ratio",
        "The monthly availability each SLA class promises, 0 to 1.",
        labels=["sla_class"],
    )
    gtr = GaugeMetricFamily(
        f"{PREFIX}_sla_class_gtr_seconds",
        "The guaranteed time to restore of each SLA class, in its service hours.",
        labels=["sla_class"],
    )
    for sla_class, terms in sorted(classes.items()):
        target.add_metric([sla_class], float(terms.availability_percent / 100))
        gtr.add_metric([sla_class], terms.gtr_hours * HOUR)
    yield from (target, gtr)


def _counted(
    session: Any, state: sa.Column[Any], states: type[StrEnum], *, name: str, documentation: str
) -> GaugeMetricFamily:
    """How many rows are in each state, every state listed (a zero is a value too)."""
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["state"])
    query = sa.select(state.label("state"), sa.func.count().label("rows")).group_by(state)
    counts = {str(row.state): row.rows for row in execute_core(session, query)}
    for value in states:
        family.add_metric([value.value], counts.get(value.value, 0))
    return family
