"""Subscriptions that follow circuits: opened when a circuit goes into service, closed when it
is terminated, split when an order changes its bandwidth or offer.

A session listener, registered on import (:mod:`gigalis_nms.db.metadata` imports this
module, as it does the audit log and the design guard), watches every flush:

- a circuit that becomes active (or is inserted active) with no open subscription opens one
  from today; suspension changes nothing: a circuit suspended for non-payment is still
  under contract and billed;
- a circuit that becomes terminated closes its open subscription on that day, which is
  billed;
- a ``modify`` order item that completes ends the open subscription the day before and
  opens the next from today, under the item's offer and prices and the same contract (its
  start, commitment and schedule). A change on the day the period started rewrites that
  period instead of leaving one of no day.

A bandwidth edited through the inventory without an order is a NOC correction, not a
commercial change: billing keeps the ordered one and :func:`sync_subscriptions` reports the
mismatch.

Writers that bypass the ORM (the inventory loader) are not seen; :func:`sync_subscriptions`
reconciles what they changed.

"Today" is :func:`billing_today`, the one clock of this module.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import networkx as nx
import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from gigalis_nms.audit import AuditEntry, audit_rows
from gigalis_nms.billing.models import Subscription, SubscriptionEnd, SubscriptionSource
from gigalis_nms.billing.money import ZERO, add_months, cents, day_before, paris_day
from gigalis_nms.catalogue.loader import default_catalogue
from gigalis_nms.catalogue.models import (
    Catalogue,
    DarkFibreIru,
    OfferBase,
)
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import GigalisError, InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.inventory.paths import cable_graph
from gigalis_nms.inventory.tables import CABLE, CIRCUIT, SITE, STRAND, STRAND_HOLDING
from gigalis_nms.inventory.validators import departement_of
from gigalis_nms.monitoring.report import IN_SERVICE, last_order_items
from gigalis_nms.ordering.models import ItemAction, ItemState, ProductOrderItem, Quote
from gigalis_nms.ordering.pricing import offer_price

logger = logging.getLogger(__name__)

SUBSCRIPTION = table_of(Subscription)
ORDER_ITEM = table_of(ProductOrderItem)
QUOTE = table_of(Quote)

# The catalogue kind an unordered circuit is priced under, by service; and the kind named
# when an ordered offer was withdrawn from the catalogue (dark fibre: lease or IRU unknown).
CATALOGUE_KINDS = {
    ServiceType.ETHERNET_ELINE: "ethernet",
    ServiceType.WAVELENGTH: "wavelength",
    ServiceType.DARK_FIBRE: "dark_fibre_lease",
    ServiceType.HOSTING: "hosting",
}
WITHDRAWN_KINDS = {**CATALOGUE_KINDS, ServiceType.DARK_FIBRE: "dark_fibre"}
OPEN_ITEM_STATES = (ItemState.ACKNOWLEDGED, ItemState.IN_PROGRESS)
# Beyond this many circuits, facts are read for every circuit at once rather than by id: one
# scan is cheaper than a list of ids that long (and SQLite caps bound parameters).
MOST_IDS_BOUND = 500
# Subscriptions opened in a flush for circuits that have no id yet: linked after the flush.
UNLINKED = "billing_subscriptions_unlinked"
MONTHS_PER_YEAR = 12


def billing_today() -> date:
    """Today in Europe/Paris: the day billing records a change on.

    Every function of this module takes its "today" from here, so that a test scripts a
    month by monkeypatching ``gigalis_nms.billing.subscriptions.billing_today``."""
    return paris_day(utcnow())


# --- What pricing a circuit needs -------------------------------------------------------------


@dataclass(frozen=True)
class CircuitView:
    """The fields of a circuit that pricing reads, from an ORM object or a Core row alike."""

    id: int | None
    ref: str
    operator_id: int
    service_type: ServiceType
    bandwidth_mbps: int | None
    a_site_id: int
    z_site_id: int | None

    @classmethod
    def of(cls, circuit: Any) -> CircuitView:
        return cls(
            circuit.id,
            circuit.ref,
            circuit.operator_id,
            ServiceType(circuit.service_type),
            circuit.bandwidth_mbps,
            circuit.a_site_id,
            circuit.z_site_id,
        )


@dataclass(frozen=True)
class OrderedTerms:
    """What a circuit's last add or modify order item sold it under."""

    item_id: int
    offering_id: str
    one_time_price: Decimal | None
    recurring_price: Decimal | None
    distance_m: int | None  # from the item's quote, when it had one


@dataclass
class PricingFacts:
    """What pricing some circuits needs from the database, read in a few queries whatever
    their number: their last order items, their sites, the cables their strands ride on,
    and (when a dark fibre holds no strand) the cable graph."""

    ordered: dict[int, OrderedTerms]
    sites: dict[int, tuple[str, str]]  # site id → (code, INSEE code)
    strand_cables: dict[int, int]  # circuit id → summed length of the cables its strands use
    graph: nx.Graph | None = None


def pricing_facts(session: Session, circuits: Sequence[CircuitView]) -> PricingFacts:
    """The facts pricing ``circuits`` needs. Read with Core on the session's connection,
    without flushing: the before_flush listener calls it in the middle of a flush."""
    ids = [circuit.id for circuit in circuits if circuit.id is not None]
    site_ids = {c.a_site_id for c in circuits} | {c.z_site_id for c in circuits if c.z_site_id}
    facts = PricingFacts(
        ordered=_last_items(session, ids),
        sites=_sites(session, site_ids),
        strand_cables=_strand_cables(session, ids),
    )
    if any(_needs_route(circuit, facts) for circuit in circuits):
        facts.graph = cable_graph(session)
    return facts


def _among(column: sa.Column[Any], ids: Collection[int]) -> sa.ColumnElement[bool]:
    return column.in_(list(ids)) if len(ids) <= MOST_IDS_BOUND else sa.true()


def _last_items(session: Session, circuit_ids: list[int]) -> dict[int, OrderedTerms]:
    if not circuit_ids:
        return {}
    query = (
        last_order_items(
            ORDER_ITEM.c.id,
            ORDER_ITEM.c.circuit_id,
            ORDER_ITEM.c.offering_id,
            ORDER_ITEM.c.one_time_price,
            ORDER_ITEM.c.recurring_price,
            QUOTE.c.distance_m,
        )
        .outerjoin_from(ORDER_ITEM, QUOTE, QUOTE.c.id == ORDER_ITEM.c.quote_id)
        .where(_among(ORDER_ITEM.c.circuit_id, circuit_ids))
    )
    found: dict[int, OrderedTerms] = {}
    for row in session.connection().execute(query):  # oldest first: the last one wins
        found[row.circuit_id] = OrderedTerms(
            row.id, row.offering_id, row.one_time_price, row.recurring_price, row.distance_m
        )
    return found


def _sites(session: Session, site_ids: set[int]) -> dict[int, tuple[str, str]]:
    if not site_ids:
        return {}
    query = sa.select(SITE.c.id, SITE.c.code, SITE.c.insee_code).where(_among(SITE.c.id, site_ids))
    return {row.id: (row.code, row.insee_code) for row in session.connection().execute(query)}


def _strand_cables(session: Session, circuit_ids: list[int]) -> dict[int, int]:
    """By circuit, the length of the cables its strands ride on, each cable counted once
    (a pair of strands rides the same cable)."""
    if not circuit_ids:
        return {}
    query = (
        sa.select(STRAND_HOLDING.c.circuit_id, CABLE.c.id, CABLE.c.length_m)
        .distinct()
        .join(STRAND, STRAND.c.id == STRAND_HOLDING.c.strand_id)
        .join(CABLE, CABLE.c.id == STRAND.c.cable_id)
        .where(
            STRAND_HOLDING.c.circuit_id.is_not(None),
            _among(STRAND_HOLDING.c.circuit_id, circuit_ids),
        )
    )
    lengths: dict[int, int] = defaultdict(int)
    for row in session.connection().execute(query):
        lengths[row.circuit_id] += row.length_m
    return dict(lengths)


def _needs_route(circuit: CircuitView, facts: PricingFacts) -> bool:
    return (
        circuit.service_type is ServiceType.DARK_FIBRE
        and (circuit.id is None or circuit.id not in facts.ordered)
        and (circuit.id is None or circuit.id not in facts.strand_cables)
    )


# --- Pricing ----------------------------------------------------------------------------------


def price_subscription(
    catalogue: Catalogue, circuit: CircuitView, facts: PricingFacts, *, on: date
) -> dict[str, Any] | str:
    """The column values of the subscription ``circuit`` opens on day ``on``, or why it
    cannot be priced. Values rather than a row, so that a bulk caller inserts thousands
    without building an ORM object for each.

    An ordered circuit is billed what its last add or modify order item sold; a circuit
    never ordered (the inventory files') the catalogue offer matching it, at list price."""
    ordered = facts.ordered.get(circuit.id) if circuit.id is not None else None
    priced = (
        _from_order(catalogue, circuit, ordered)
        if ordered is not None
        else _from_catalogue(catalogue, circuit, facts)
    )
    if isinstance(priced, str):
        return priced
    offer = catalogue.offer(priced.offer_id)
    if offer is None:
        logger.warning(
            "circuit %s: offer %s is no longer in catalogue %s; its subscription opens "
            "without commitment",
            circuit.ref,
            priced.offer_id,
            catalogue.version,
        )
    return {
        "circuit_id": circuit.id,
        "circuit_ref": circuit.ref,
        "operator_id": circuit.operator_id,
        "bandwidth_mbps": circuit.bandwidth_mbps,
        "departement": _departement(circuit, facts),
        **vars(priced),  # flat and immutable: no deep copy needed
        **_contract(offer, on),
        "end_date": None,
        "ended_by": None,
        "replaces_id": None,
    }


@dataclass(frozen=True)
class _Priced:
    """What a circuit is billed, before its dates and contract."""

    offer_id: str
    offer_kind: str
    source: SubscriptionSource
    order_item_id: int | None
    distance_m: int | None
    monthly_fee: Decimal
    one_time_fee: Decimal
    iru_price: Decimal


def _from_order(catalogue: Catalogue, circuit: CircuitView, ordered: OrderedTerms) -> _Priced | str:
    if ordered.recurring_price is None or ordered.one_time_price is None:
        return f"order item {ordered.item_id} carries no price"
    offer = catalogue.offer(ordered.offering_id)
    one_time, iru = ordered.one_time_price, ZERO
    if isinstance(offer, DarkFibreIru):
        # The item's one-time price is the FAS plus the right of use (ordering.pricing),
        # invoiced as two lines.
        one_time = min(cents(offer.one_time_fee), ordered.one_time_price)
        iru = ordered.one_time_price - one_time
    return _Priced(
        offer_id=ordered.offering_id,
        offer_kind=offer.kind if offer is not None else WITHDRAWN_KINDS[circuit.service_type],
        source=SubscriptionSource.ORDER,
        order_item_id=ordered.item_id,
        distance_m=ordered.distance_m,
        monthly_fee=ordered.recurring_price,
        one_time_fee=one_time,
        iru_price=iru,
    )


def _from_catalogue(
    catalogue: Catalogue, circuit: CircuitView, facts: PricingFacts
) -> _Priced | str:
    offer = catalogue.offer_for_circuit(circuit.service_type.value, circuit.bandwidth_mbps)
    if isinstance(offer, str):
        return offer
    distance: int | None = None
    if circuit.service_type is ServiceType.DARK_FIBRE:
        found = _fibre_length(circuit, facts)
        if isinstance(found, str):
            return found
        distance = found
    price = offer_price(offer, distance)
    return _Priced(
        offer_id=offer.id,
        offer_kind=offer.kind,
        source=SubscriptionSource.CATALOGUE,
        order_item_id=None,
        distance_m=price.distance_m,
        monthly_fee=price.recurring,
        one_time_fee=price.one_time,
        iru_price=ZERO,
    )


def _fibre_length(circuit: CircuitView, facts: PricingFacts) -> int | str:
    """The length a dark fibre is priced by: the cables its strands ride on, else the
    shortest active cable route between its ends."""
    if circuit.id is not None and circuit.id in facts.strand_cables:
        return facts.strand_cables[circuit.id]
    if circuit.z_site_id is None:
        return "a dark fibre without a Z end has no length to price"
    a_code, z_code = (facts.sites[site][0] for site in (circuit.a_site_id, circuit.z_site_id))
    graph = facts.graph if facts.graph is not None else nx.Graph()
    try:
        length: int = nx.shortest_path_length(graph, a_code, z_code, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return f"holds no strand, and no active cable route joins {a_code} and {z_code}"
    return length


def _contract(offer: OfferBase | None, on: date) -> dict[str, Any]:
    """The contract's terms from the catalogue offer, starting on ``on``. A withdrawn
    offer's terms are not known any more: no commitment then."""
    months = offer.commitment_months if offer is not None else 0
    return {
        "contract_start": on,
        "start_date": on,
        "commitment_end": add_months(on, months) if months else None,
        "early_termination_percent": (
            offer.early_termination_percent if offer is not None else Decimal(0)
        ),
        "schedule_end": (
            add_months(on, MONTHS_PER_YEAR * offer.duration_years)
            if isinstance(offer, DarkFibreIru)
            else None
        ),
    }


def _departement(circuit: CircuitView, facts: PricingFacts) -> str | None:
    site = facts.sites.get(circuit.a_site_id)
    return departement_of(site[1]) if site is not None else None


def open_subscription(
    session: Session, catalogue: Catalogue, circuit: Circuit, *, on: date
) -> Subscription | None:
    """Open (add to ``session``) the subscription of ``circuit`` from day ``on``; None, with
    the reason logged, when it cannot be priced (:func:`sync_subscriptions` reports it)."""
    view = CircuitView.of(circuit)
    values = price_subscription(catalogue, view, pricing_facts(session, [view]), on=on)
    if isinstance(values, str):
        logger.warning("circuit %s: no subscription opened: %s", circuit.ref, values)
        return None
    priced = Subscription(**values)
    session.add(priced)
    logger.info(
        "circuit %s: subscription opened on %s under %s at %s a month",
        circuit.ref,
        on,
        priced.offer_id,
        priced.monthly_fee,
    )
    return priced


# --- The listener -----------------------------------------------------------------------------


def follow_circuits(session: Session, _context: Any, _instances: Any) -> None:
    """The before_flush listener: open, close and split subscriptions as circuits go into
    service, are terminated, or have a change of bandwidth or offer completed."""
    session.info.pop(UNLINKED, None)  # left by a flush that failed
    circuits = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Circuit)]
    items = [obj for obj in session.dirty if isinstance(obj, ProductOrderItem)]
    if not circuits and not items:
        return  # most flushes (the poller, the loader's audit) end here
    activated = [c for c in circuits if _became(c, "status", CircuitStatus.ACTIVE)]
    terminated = [c for c in circuits if _became(c, "status", CircuitStatus.TERMINATED)]
    changed = [
        item
        for item in items
        if item.action is ItemAction.MODIFY and _became(item, "state", ItemState.COMPLETED)
    ]
    if not (activated or terminated or changed):
        return

    today = billing_today()
    try:
        catalogue = _catalogue(session)
    except GigalisError as broken:
        # A catalogue file broken since the process started must not stop a circuit from
        # going live or an order from completing: the network has changed already. Billing
        # catches up at its next run, which reports what it could not price.
        logger.error("billing cannot follow this change, the catalogue is refused: %s", broken)
        return
    session.info["billing_catalogue"] = catalogue
    running = _open_subscriptions(session, [*activated, *terminated], changed)
    for circuit in terminated:
        if circuit.id in running:
            _close(running.pop(circuit.id), today, SubscriptionEnd.TERMINATION)
    for circuit in activated:
        if circuit.id is None or circuit.id not in running:
            _open_on_activation(session, circuit, today)
    for item in changed:
        _change(session, item, running, today)


def _became(obj: Any, name: str, value: Any) -> bool:
    """Whether ``obj`` is being inserted with ``value``, or set to it from another value."""
    state = inspect(obj)
    if getattr(obj, name) != value:
        return False
    if state.pending:
        return True
    history = state.attrs[name].history
    return bool(history.added) and value not in (history.deleted or ())


def _catalogue(session: Session) -> Catalogue:
    """The catalogue the session was given (tests, benchmarks), else the process's."""
    for key in ("catalogue", "billing_catalogue"):
        given = session.info.get(key)
        if isinstance(given, Catalogue):
            return given
    return default_catalogue()


def _open_subscriptions(
    session: Session, circuits: Iterable[Circuit], items: Iterable[ProductOrderItem]
) -> dict[int, Subscription]:
    """The running subscription of each circuit, by circuit id: stored, or added to the
    session and not flushed yet."""
    ids = {c.id for c in circuits if c.id is not None}
    ids |= {item.circuit_id for item in items if item.circuit_id is not None}
    if not ids:
        return {}
    stored = session.exec(
        select(Subscription).where(
            col(Subscription.circuit_id).in_(ids), col(Subscription.end_date).is_(None)
        )
    ).all()
    added = [obj for obj in session.new if isinstance(obj, Subscription)]
    return {
        sub.circuit_id: sub
        for sub in [*stored, *added]
        if sub.circuit_id in ids and sub.end_date is None
    }


def _open_on_activation(session: Session, circuit: Circuit, today: date) -> None:
    # The inventory keeps the day it went live. One given with the activation (the day of the
    # acceptance report, say) is when billing starts; a day to come is a mistake, refused.
    if circuit.in_service_since is None:
        circuit.in_service_since = _went_live(circuit, today)
    elif circuit.in_service_since > today:
        raise InvalidInput.of(
            "in_service_since",
            f"{circuit.in_service_since} is after today ({today}): a circuit is active from "
            "the day it goes into service, not before",
        )
    opened = open_subscription(session, _catalogue(session), circuit, on=circuit.in_service_since)
    if opened is not None and circuit.id is None:
        # Inserted active in this flush: its id is known once it is written, after the
        # subscription (the unit of work orders unrelated tables by class name).
        session.info.setdefault(UNLINKED, []).append((opened, circuit))


def _went_live(circuit: Circuit, today: date) -> date:
    """Today, for a circuit switched to active; for one recorded already active (an existing
    circuit entered by hand), the day it was created, as the bulk reconciliation takes it."""
    created = circuit.created_at
    if inspect(circuit).pending and created is not None:
        return min(paris_day(created), today)
    return today


def _close(subscription: Subscription, day: date, why: SubscriptionEnd) -> None:
    """End ``subscription`` on ``day`` (billed), never before its first day."""
    subscription.end_date = max(day, subscription.start_date)
    subscription.ended_by = why
    logger.info(
        "circuit %s: subscription %s closed on %s (%s)",
        subscription.circuit_ref,
        subscription.id,
        subscription.end_date,
        why.value,
    )


def _change(
    session: Session,
    item: ProductOrderItem,
    running_by_circuit: dict[int, Subscription],
    today: date,
) -> None:
    """A completed modify item: the running period ends yesterday and the next starts today
    under the item's offer and prices, in the same contract."""
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    if circuit is None or circuit.id is None:
        return
    running = running_by_circuit.get(circuit.id)
    if running is None:
        # Never billed yet (a circuit of the inventory files): priced from its order items,
        # this one included, from today.
        if circuit.status in IN_SERVICE:
            open_subscription(session, _catalogue(session), circuit, on=today)
        return
    terms = _changed_terms(_catalogue(session), item, running)
    if running.start_date >= today:
        # Changed on its first day: one period under the new terms, its one-time fees
        # those of both (both would fall in that month anyway).
        terms["one_time_fee"] = running.one_time_fee + terms["one_time_fee"]
        for name, value in terms.items():
            setattr(running, name, value)
        logger.info(
            "circuit %s: subscription %s changed on its first day", item.circuit_ref, running.id
        )
        return
    _close(running, day_before(today), SubscriptionEnd.CHANGE)
    session.add(_next_period(running, terms, today))


def _changed_terms(
    catalogue: Catalogue, item: ProductOrderItem, running: Subscription
) -> dict[str, Any]:
    offer = catalogue.offer(item.offering_id) if item.offering_id is not None else None
    return {
        "offer_id": item.offering_id or running.offer_id,
        "offer_kind": offer.kind if offer is not None else running.offer_kind,
        "source": SubscriptionSource.ORDER,
        "order_item_id": item.id,
        "bandwidth_mbps": item.bandwidth_mbps,
        # Items are priced when taken; one without (written by hand) keeps the old fees.
        "monthly_fee": _or(item.recurring_price, running.monthly_fee),
        "one_time_fee": _or(item.one_time_price, ZERO),
    }


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return value if value is not None else default


def _next_period(running: Subscription, terms: dict[str, Any], today: date) -> Subscription:
    kept = {
        name: getattr(running, name)
        for name in (
            "circuit_id",
            "circuit_ref",
            "operator_id",
            "distance_m",
            "departement",
            "contract_start",
            "commitment_end",
            "early_termination_percent",
            "schedule_end",
        )
    }
    following = Subscription(**kept, **terms, start_date=today, replaces_id=running.id)
    logger.info(
        "circuit %s: subscription %s replaced from %s under %s at %s a month",
        running.circuit_ref,
        running.id,
        today,
        following.offer_id,
        following.monthly_fee,
    )
    return following


def link_new_circuits(session: Session, _context: Any) -> None:
    """The after_flush listener: give the subscriptions opened for circuits inserted in
    this flush their circuit's id, now written. Registered first, so that the audit log
    records the subscriptions with it."""
    for subscription, circuit in session.info.pop(UNLINKED, []):
        if subscription.id is None or circuit.id is None:
            continue
        session.connection().execute(
            SUBSCRIPTION.update()
            .where(SUBSCRIPTION.c.id == subscription.id)
            .values(circuit_id=circuit.id)
        )
        set_committed_value(subscription, "circuit_id", circuit.id)


# --- Reconciling ------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What :func:`sync_subscriptions` did, and the circuits it could not bill right."""

    opened: int = 0
    closed: int = 0
    unpriced: list[tuple[str, str]] = field(default_factory=list)  # (circuit ref, reason)
    mismatched: list[tuple[str, str]] = field(default_factory=list)


def sync_subscriptions(
    session: Session, catalogue: Catalogue, *, today: date | None = None
) -> SyncReport:
    """Reconcile subscriptions with circuits changed where no listener saw it (the inventory
    loader writes with Core): open those of circuits in service that never had one, close
    those of terminated circuits, and report bandwidths that differ from the billed one.
    Idempotent; a few queries whatever the number of circuits. ``today`` (billing_today()
    by default) bounds the days written."""
    today = today or billing_today()
    report = SyncReport()
    session.flush()  # the circuits are read with Core: the session's changes first
    _open_missing(session, catalogue, today, report)
    _close_terminated(session, today, report)
    session.flush()
    report.mismatched = _mismatched(session)
    logger.info(
        "subscriptions synced: %d opened, %d closed, %d circuits unpriced, %d mismatched",
        report.opened,
        report.closed,
        len(report.unpriced),
        len(report.mismatched),
    )
    return report


def _open_missing(session: Session, catalogue: Catalogue, today: date, report: SyncReport) -> None:
    ever = sa.select(SUBSCRIPTION.c.id).where(SUBSCRIPTION.c.circuit_id == CIRCUIT.c.id)
    query = (
        sa.select(CIRCUIT)
        .where(CIRCUIT.c.status.in_(IN_SERVICE), ~ever.exists())
        .order_by(CIRCUIT.c.ref)
    )
    circuits = list(session.connection().execute(query))
    views = [CircuitView.of(circuit) for circuit in circuits]
    facts = pricing_facts(session, views)
    rows = []
    for circuit, view in zip(circuits, views, strict=True):
        # The day it went into service, as the inventory files say it; else the day it was
        # created, the best known (the loader creates file circuits as they are in service).
        since = circuit.in_service_since or paris_day(circuit.created_at)
        on = min(since, today)
        values = price_subscription(catalogue, view, facts, on=on)
        if isinstance(values, str):
            report.unpriced.append((view.ref, values))
        else:
            rows.append(values)
    _insert(session, rows)
    report.opened = len(rows)


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert with Core, audited as bulk writers do (audit.audit_rows): building and
    flushing an ORM object each would take seconds for the thousands a first sync opens."""
    if not rows:
        return
    created_at = utcnow()
    stamped = [{**row, "created_at": created_at} for row in rows]
    statement = sa.insert(SUBSCRIPTION).returning(SUBSCRIPTION.c.id, sort_by_parameter_order=True)
    ids = session.execute(statement, stamped).scalars().all()
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]] = [
        (row_id, None, {"id": row_id, **row}) for row_id, row in zip(ids, stamped, strict=True)
    ]
    actor = session.info.get("actor", "system")
    session.execute(sa.insert(AuditEntry), audit_rows(actor, "create", SUBSCRIPTION.name, changes))


def _close_terminated(session: Session, today: date, report: SyncReport) -> None:
    query = (
        select(Subscription, CIRCUIT.c.updated_at)
        .join(CIRCUIT, CIRCUIT.c.id == Subscription.circuit_id)
        .where(col(Subscription.end_date).is_(None), CIRCUIT.c.status == CircuitStatus.TERMINATED)
        .order_by(col(Subscription.circuit_ref))
    )
    for subscription, updated_at in session.exec(query).all():
        # Terminated is final, so the circuit's last change is its termination.
        _close(subscription, min(paris_day(updated_at), today), SubscriptionEnd.TERMINATION)
        report.closed += 1


def _mismatched(session: Session) -> list[tuple[str, str]]:
    """Running subscriptions billed at another bandwidth than the circuit has. A circuit with
    a modify order still open is left out: its bandwidth moves when the order is taken (an
    increase is held at once) and billing follows when the order completes."""
    pending = sa.select(ORDER_ITEM.c.id).where(
        ORDER_ITEM.c.circuit_id == CIRCUIT.c.id,
        ORDER_ITEM.c.action == ItemAction.MODIFY,
        ORDER_ITEM.c.state.in_(OPEN_ITEM_STATES),
    )
    query = (
        sa.select(
            SUBSCRIPTION.c.circuit_ref, SUBSCRIPTION.c.bandwidth_mbps, CIRCUIT.c.bandwidth_mbps
        )
        .join(CIRCUIT, CIRCUIT.c.id == SUBSCRIPTION.c.circuit_id)
        .where(
            SUBSCRIPTION.c.end_date.is_(None),
            SUBSCRIPTION.c.bandwidth_mbps.is_distinct_from(CIRCUIT.c.bandwidth_mbps),
            ~pending.exists(),
        )
        .order_by(SUBSCRIPTION.c.circuit_ref)
    )
    return [
        (ref, f"billed at {_mbps(billed)}, but the circuit has {_mbps(actual)} (no order)")
        for ref, billed, actual in session.connection().execute(query)
    ]


def _mbps(value: int | None) -> str:
    return f"{value} Mb/s" if value is not None else "no bandwidth"


# --- Reading ----------------------------------------------------------------------------------


def _overlapping(first: date, last: date) -> sa.ColumnElement[bool]:
    if last < first:
        raise InvalidInput.of("last", f"{last} is before the first day {first}")
    return sa.and_(
        col(Subscription.start_date) <= last,
        sa.or_(col(Subscription.end_date).is_(None), col(Subscription.end_date) >= first),
    )


def subscriptions_overlapping(
    session: Session, first: date, last: date, operator_ids: Collection[int] | None = None
) -> list[Subscription]:
    """The subscriptions with a day in ``first``–``last`` (both included), of the given
    operators only when ``operator_ids`` is given, by operator, circuit and start."""
    query = select(Subscription).where(_overlapping(first, last))
    if operator_ids is not None:
        query = query.where(col(Subscription.operator_id).in_(list(operator_ids)))
    query = query.order_by(
        col(Subscription.operator_id), col(Subscription.circuit_ref), col(Subscription.start_date)
    )
    return list(session.exec(query).all())


def operators_billed_in(session: Session, first: date, last: date) -> list[int]:
    """The operators with a subscription running on a day of ``first``–``last``."""
    query = (
        select(Subscription.operator_id)
        .where(_overlapping(first, last))
        .distinct()
        .order_by(col(Subscription.operator_id))
    )
    return list(session.exec(query).all())


# Inserted first, so that the audit log's listeners (registered on import of
# gigalis_nms.audit, on the parent Session class) see the rows these add and change.
event.listen(Session, "before_flush", follow_circuits, insert=True)
event.listen(Session, "after_flush", link_new_circuits, insert=True)
