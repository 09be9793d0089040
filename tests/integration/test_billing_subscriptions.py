"""Subscriptions that follow circuits, on both databases: opened on activation with the
order's prices, closed on termination, split by a completed modify order, untouched by a
suspension or a bandwidth corrected by hand; circuits of the inventory files priced from the
catalogue by the sync, which is idempotent; nothing left behind by a flush that fails.

"Today" is scripted by monkeypatching ``billing_today``; the prices expected are the
catalogue's (billing/catalogue.yaml) worked out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.billing import subscriptions as subscriptions_module
from gigalis_nms.billing.models import Subscription, SubscriptionEnd, SubscriptionSource
from gigalis_nms.billing.subscriptions import (
    operators_billed_in,
    subscriptions_overlapping,
    sync_subscriptions,
)
from gigalis_nms.catalogue.loader import default_catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Circuit, CircuitCreate, CircuitUpdate, Site
from gigalis_nms.inventory.tables import CIRCUIT
from gigalis_nms.ordering.fulfilment import advance_orders, complete_field_item
from gigalis_nms.ordering.models import ItemState, OrderState, ProductOrder, ProductOrderItem
from gigalis_nms.ordering.orders import accept_order
from gigalis_nms.ordering.quotes import QuoteBody, create_quote
from tests.conftest import ROOT
from tests.integration.ordering_support import (
    Network,
    build_network,
    item,
    items_of,
    order_body,
    place_order,
)

MARCH_10 = date(2026, 3, 10)
COMMITMENT_END = date(2029, 3, 10)  # 36 months on


@dataclass
class Clock:
    day: date


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    scripted = Clock(MARCH_10)
    monkeypatch.setattr(subscriptions_module, "billing_today", lambda: scripted.day)
    return scripted


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine, capacity_mbps=2000)


# --- helpers ----------------------------------------------------------------------------------


def ordered_circuit(engine: Engine, operator_id: int, offer: str = "eline-100m") -> int:
    """The circuit of an order for ``offer`` between NTE1 and ANG1, designed, not active."""
    made = place_order(engine, order_body(item(offer)), tenant=operator_id)
    [added] = items_of(engine, made.order.id or 0)
    assert added.circuit_id is not None
    return added.circuit_id


def set_status(engine: Engine, circuit_id: int, *statuses: CircuitStatus) -> None:
    with session_scope(engine, actor="test:noc") as session:
        for status in statuses:
            service.update_object(
                session, service.CIRCUITS, circuit_id, CircuitUpdate(status=status)
            )


def activate(engine: Engine, circuit_id: int) -> None:
    set_status(engine, circuit_id, CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE)


def close_orders(engine: Engine) -> None:
    """Mark every order completed, so that the circuits are in no open order (as the order
    worker would have once the circuits were active)."""
    with session_scope(engine, actor="test") as session:
        for order in session.exec(select(ProductOrder)):
            order.state = OrderState.COMPLETED
            session.add(order)
        for row in session.exec(select(ProductOrderItem)):
            row.state = ItemState.COMPLETED
            session.add(row)


def modify(engine: Engine, operator_id: int, circuit_id: int, offer: str) -> ProductOrderItem:
    """A modify order of ``circuit_id`` to ``offer``, carried out by the order worker now."""
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        ref = circuit.ref
    body = {"id": "1", "action": "modify", "productOffering": {"id": offer}, "product": {"id": ref}}
    made = place_order(engine, order_body(body), tenant=operator_id)
    advance_orders(engine, now=utcnow(), target="inventory", actor="test:worker")
    [changed] = items_of(engine, made.order.id or 0)
    assert changed.state is ItemState.COMPLETED
    return changed


def subscriptions_of(engine: Engine, circuit_id: int | None = None) -> list[Subscription]:
    with session_scope(engine, read_only=True) as session:
        query = select(Subscription).order_by(col(Subscription.id))
        if circuit_id is not None:
            query = query.where(col(Subscription.circuit_id) == circuit_id)
        return list(session.exec(query))


def by_ref(engine: Engine) -> dict[str, Subscription]:
    return {subscription.circuit_ref: subscription for subscription in subscriptions_of(engine)}


def audited_creations(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.entity) == "subscription", col(AuditEntry.action) == "create"
            )
        )
        return [row.after or {} for row in rows]


def sync(engine: Engine, today: date) -> subscriptions_module.SyncReport:
    with session_scope(engine, actor="test:billing") as session:
        return sync_subscriptions(session, default_catalogue(), today=today)


# --- activation -------------------------------------------------------------------------------


def test_activation_opens_a_subscription_priced_from_the_order(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a, "eline-1g")
    set_status(engine, circuit_id, CircuitStatus.PROVISIONING)
    assert subscriptions_of(engine) == []  # not in service yet

    set_status(engine, circuit_id, CircuitStatus.ACTIVE)

    [opened] = subscriptions_of(engine)
    with session_scope(engine, read_only=True) as session:
        [ordered] = session.exec(select(ProductOrderItem)).all()
    assert opened.circuit_id == circuit_id
    assert opened.operator_id == network.operator_a
    assert (opened.offer_id, opened.offer_kind) == ("eline-1g", "ethernet")
    assert (opened.source, opened.order_item_id) == (SubscriptionSource.ORDER, ordered.id)
    assert opened.monthly_fee == Decimal("600.00")
    assert (opened.one_time_fee, opened.iru_price) == (Decimal("1200.00"), Decimal("0.00"))
    assert opened.bandwidth_mbps == 1000
    assert opened.departement == "44"  # NTE1, INSEE 44109
    assert (opened.start_date, opened.contract_start, opened.end_date) == (
        MARCH_10,
        MARCH_10,
        None,
    )
    assert opened.commitment_end == COMMITMENT_END
    assert opened.early_termination_percent == Decimal("100")
    assert opened.schedule_end is None
    # The audit log records it as any other row.
    assert [entry["circuit_id"] for entry in audited_creations(engine)] == [circuit_id]


def test_activation_records_the_day_in_service_and_honours_one_given(
    engine: Engine, network: Network, clock: Clock
) -> None:
    first = ordered_circuit(engine, network.operator_a, "eline-1g")
    activate(engine, first)
    second = ordered_circuit(engine, network.operator_b, "eline-1g")
    set_status(engine, second, CircuitStatus.PROVISIONING)
    with session_scope(engine, actor="test:noc") as session:
        # The acceptance report was signed on the 2nd; the NOC activates it on the 10th.
        update = CircuitUpdate(status=CircuitStatus.ACTIVE, in_service_since=date(2026, 3, 2))
        service.update_object(session, service.CIRCUITS, second, update)

    with session_scope(engine, read_only=True) as session:
        days = {c.id: c.in_service_since for c in session.exec(select(Circuit)).all()}
    assert (days[first], days[second]) == (MARCH_10, date(2026, 3, 2))
    starts = {s.circuit_id: s.start_date for s in subscriptions_of(engine)}
    assert starts == {first: MARCH_10, second: date(2026, 3, 2)}


def test_an_iru_bills_its_fas_and_its_right_of_use_apart(
    engine: Engine, network: Network, clock: Clock
) -> None:
    offer = {"productOffering": {"id": "dark-fibre-iru"}}
    places = item("dark-fibre-iru")["product"]
    with session_scope(engine, actor="test:operator") as session:
        quote = create_quote(
            session,
            default_catalogue(),
            QuoteBody.model_validate({"quoteItem": [{"id": "1", **offer, "product": places}]}),
            operator_id=network.operator_b,
            actor="test:operator",
            now=utcnow(),
            valid_days=30,
        )
    quoted = item("dark-fibre-iru", quoteItem={"id": "1", "quoteId": str(quote.id)})
    made = place_order(engine, order_body(quoted), tenant=network.operator_b)
    with session_scope(engine, actor="test:noc") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        accept_order(session, order, actor="test:noc")
        complete_field_item(session, order, "1", actor="test:noc")

    [opened] = subscriptions_of(engine)
    # 12 km of cable between NTE1 and ANG1: the 10–50 km band's 1,800 €/km once, beside
    # the 1,500 € FAS; maintenance 45 €/km a year, a twelfth of it each month.
    assert (opened.offer_id, opened.offer_kind) == ("dark-fibre-iru", "dark_fibre_iru")
    assert opened.one_time_fee == Decimal("1500.00")
    assert opened.iru_price == Decimal("21600.00")
    assert opened.monthly_fee == Decimal("45.00")
    assert opened.distance_m == 12_000
    assert opened.bandwidth_mbps is None
    assert opened.commitment_end is None  # nothing to terminate: the IRU is paid
    assert opened.schedule_end == date(2046, 3, 10)  # 20 years


def test_a_circuit_created_active_is_billed_from_that_day(
    engine: Engine, network: Network, clock: Clock
) -> None:
    with session_scope(engine, actor="test:noc") as session:
        body = _direct_circuit(session, network, 1000)
        made = service.create_object(session, service.CIRCUITS, body)
        ref = made.ref

    [opened] = subscriptions_of(engine)
    with session_scope(engine, read_only=True) as session:
        circuit = session.exec(select(Circuit).where(col(Circuit.ref) == ref)).one()
    assert opened.circuit_id == circuit.id  # linked once the circuit had its id
    assert (opened.source, opened.offer_id) == (SubscriptionSource.CATALOGUE, "eline-1g")
    assert opened.start_date == MARCH_10
    assert [entry["circuit_id"] for entry in audited_creations(engine)] == [circuit.id]


def _direct_circuit(session: Session, network: Network, bandwidth_mbps: int) -> CircuitCreate:
    """An E-Line entered by hand in the inventory, already in service."""
    a, z = (session.exec(select(Site.id).where(col(Site.code) == code)).one() for code in SITES)
    return CircuitCreate(
        ref=f"GIG-ETH-9{bandwidth_mbps:05d}",
        operator_id=network.operator_a,
        service_type=ServiceType.ETHERNET_ELINE,
        a_site_id=a,
        z_site_id=z,
        bandwidth_mbps=bandwidth_mbps,
        status=CircuitStatus.ACTIVE,
    )


SITES = ("NTE1", "ANG1")


# --- termination and suspension ---------------------------------------------------------------


def test_termination_closes_the_subscription_on_its_day(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a)
    activate(engine, circuit_id)
    clock.day = date(2026, 3, 20)

    set_status(engine, circuit_id, CircuitStatus.TERMINATED)

    [closed] = subscriptions_of(engine, circuit_id)
    assert (closed.start_date, closed.end_date) == (MARCH_10, date(2026, 3, 20))
    assert closed.ended_by is SubscriptionEnd.TERMINATION


def test_a_suspension_keeps_billing(engine: Engine, network: Network, clock: Clock) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a)
    activate(engine, circuit_id)
    [before] = subscriptions_of(engine, circuit_id)

    clock.day = date(2026, 3, 15)
    set_status(engine, circuit_id, CircuitStatus.SUSPENDED)
    clock.day = date(2026, 3, 18)
    set_status(engine, circuit_id, CircuitStatus.ACTIVE)

    assert subscriptions_of(engine, circuit_id) == [before]
    assert subscriptions_of(engine, circuit_id)[0].end_date is None


# --- changes ----------------------------------------------------------------------------------


def test_a_completed_modify_splits_the_period(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a, "eline-100m")
    activate(engine, circuit_id)
    close_orders(engine)
    clock.day = date(2026, 3, 16)

    changed = modify(engine, network.operator_a, circuit_id, "eline-1g")

    old, new = subscriptions_of(engine, circuit_id)
    assert (old.start_date, old.end_date, old.ended_by) == (
        MARCH_10,
        date(2026, 3, 15),
        SubscriptionEnd.CHANGE,
    )
    assert (old.offer_id, old.monthly_fee, old.bandwidth_mbps) == (
        "eline-100m",
        Decimal("350.00"),
        100,
    )
    assert (new.start_date, new.end_date, new.replaces_id) == (date(2026, 3, 16), None, old.id)
    assert (new.offer_id, new.offer_kind, new.bandwidth_mbps) == ("eline-1g", "ethernet", 1000)
    assert (new.monthly_fee, new.one_time_fee) == (Decimal("600.00"), Decimal("1200.00"))
    assert (new.source, new.order_item_id) == (SubscriptionSource.ORDER, changed.id)
    # The contract goes on: the same start and commitment.
    assert (new.contract_start, new.commitment_end) == (MARCH_10, COMMITMENT_END)
    assert new.early_termination_percent == old.early_termination_percent
    assert new.departement == old.departement

    # Billing periods of March: both, in order; none in February.
    with session_scope(engine, read_only=True) as session:
        march = subscriptions_overlapping(session, date(2026, 3, 1), date(2026, 3, 31))
        assert [s.id for s in march] == [old.id, new.id]
        assert subscriptions_overlapping(session, date(2026, 2, 1), date(2026, 2, 28)) == []
        assert subscriptions_overlapping(session, MARCH_10, MARCH_10, [network.operator_b]) == []
        assert operators_billed_in(session, date(2026, 3, 1), date(2026, 3, 31)) == [
            network.operator_a
        ]
        assert operators_billed_in(session, date(2026, 2, 1), date(2026, 2, 28)) == []


def test_a_change_on_the_first_day_rewrites_that_period(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a, "eline-100m")
    activate(engine, circuit_id)
    close_orders(engine)

    changed = modify(engine, network.operator_a, circuit_id, "eline-1g")

    [only] = subscriptions_of(engine, circuit_id)
    assert (only.start_date, only.end_date) == (MARCH_10, None)
    assert (only.offer_id, only.bandwidth_mbps, only.monthly_fee) == (
        "eline-1g",
        1000,
        Decimal("600.00"),
    )
    # Both FAS fall in the month of activation: 900 € for 100 Mb/s, 1,200 € for 1 Gb/s.
    assert only.one_time_fee == Decimal("2100.00")
    assert only.order_item_id == changed.id
    assert only.commitment_end == COMMITMENT_END


def test_a_bandwidth_corrected_by_hand_is_reported_not_billed(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a, "eline-100m")
    activate(engine, circuit_id)
    close_orders(engine)
    [before] = subscriptions_of(engine, circuit_id)

    with session_scope(engine, actor="test:noc") as session:
        update = CircuitUpdate(bandwidth_mbps=1000)
        circuit = service.update_object(session, service.CIRCUITS, circuit_id, update)
        ref = circuit.ref

    assert subscriptions_of(engine, circuit_id) == [before]
    report = sync(engine, date(2026, 3, 12))
    assert report.mismatched == [
        (ref, "billed at 100 Mb/s, but the circuit has 1000 Mb/s (no order)")
    ]
    assert (report.opened, report.closed) == (0, 0)


# --- circuits of the inventory files ----------------------------------------------------------


# Facts are read by circuit id for a few circuits, for all at once beyond a bound: both ways.
@pytest.mark.parametrize("most_ids_bound", [subscriptions_module.MOST_IDS_BOUND, 0])
def test_inventory_file_circuits_are_priced_from_the_catalogue(
    engine: Engine, most_ids_bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions_module, "MOST_IDS_BOUND", most_ids_bound)
    load_inventory(engine, ROOT / "inventory", actor="test")
    today = date(2026, 3, 31)

    report = sync(engine, today)

    subscriptions = by_ref(engine)
    with session_scope(engine, read_only=True) as session:
        in_service = session.exec(
            select(Circuit).where(
                col(Circuit.status).in_([CircuitStatus.ACTIVE, CircuitStatus.SUSPENDED])
            )
        ).all()
    assert report.opened == len(in_service) == len(subscriptions)
    assert report.unpriced == []
    for circuit in in_service:
        opened = subscriptions[circuit.ref]
        assert opened.source is SubscriptionSource.CATALOGUE
        # The files say when each went into service; billing starts then (or today, for
        # the two that go live after it).
        assert circuit.in_service_since is not None
        assert opened.start_date == min(circuit.in_service_since, today)
    assert subscriptions["GIG-ETH-000001"].start_date == date(2023, 6, 1)
    # 10 Gb/s E-Line: the 10 Gb/s offer at list price.
    eline = subscriptions["GIG-ETH-000001"]
    assert (eline.offer_id, eline.monthly_fee, eline.one_time_fee) == (
        "eline-10g",
        Decimal("1500.00"),
        Decimal("2500.00"),
    )
    assert eline.commitment_end is not None
    # Dark fibre by the cables its strands ride on: 7.007 km at 95 €/km (band 0–10 km) ...
    short = subscriptions["GIG-DF-000001"]
    assert (short.offer_id, short.distance_m, short.monthly_fee) == (
        "dark-fibre-lease",
        7007,
        Decimal("665.67"),
    )
    # ... and 54.971 + 34.571 km, two strands on each cable, at 50 €/km (from 50 km).
    long = subscriptions["GIG-DF-000002"]
    assert (long.distance_m, long.monthly_fee) == (89_542, Decimal("4477.10"))
    assert subscriptions["GIG-WAV-000001"].offer_id == "wavelength-10g"
    assert subscriptions["GIG-HST-000001"].offer_kind == "hosting"


def test_sync_is_idempotent_and_closes_what_the_loader_terminated(engine: Engine) -> None:
    load_inventory(engine, ROOT / "inventory", actor="test")
    first = sync(engine, date(2026, 3, 31))
    assert first.opened > 0

    again = sync(engine, date(2026, 3, 31))
    assert (again.opened, again.closed, again.unpriced, again.mismatched) == (0, 0, [], [])

    # The loader writes with Core, as here: no listener sees the termination.
    terminated_at = datetime(2026, 4, 7, 22, 30, tzinfo=UTC)  # 8 April in Paris
    with session_scope(engine, actor="test:loader") as session:
        session.connection().execute(
            CIRCUIT.update()
            .where(CIRCUIT.c.ref == "GIG-ETH-000001")
            .values(status=CircuitStatus.TERMINATED, updated_at=terminated_at)
        )
    closing = sync(engine, date(2026, 4, 30))
    assert (closing.opened, closing.closed) == (0, 1)
    closed = by_ref(engine)["GIG-ETH-000001"]
    assert (closed.end_date, closed.ended_by) == (date(2026, 4, 8), SubscriptionEnd.TERMINATION)
    assert sync(engine, date(2026, 4, 30)).closed == 0


def test_a_circuit_no_offer_matches_is_reported_unpriced(
    engine: Engine, network: Network, clock: Clock
) -> None:
    with session_scope(engine, actor="test:noc") as session:
        body = _direct_circuit(session, network, 300)
        made = service.create_object(session, service.CIRCUITS, body)
        ref = made.ref

    assert subscriptions_of(engine) == []  # the listener could not price it either
    report = sync(engine, MARCH_10)
    assert report.unpriced == [(ref, "no ethernet offer of 300 Mb/s in the catalogue")]
    assert report.opened == 0
    assert sync(engine, MARCH_10).unpriced == report.unpriced  # said again until fixed


# --- failures ---------------------------------------------------------------------------------


def test_a_failed_flush_leaves_no_subscription(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a)
    set_status(engine, circuit_id, CircuitStatus.PROVISIONING)

    with Session(engine) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        circuit.status = CircuitStatus.ACTIVE
        circuit.a_vlan = 5000  # refused by the database's CHECK, in the same flush
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        assert not [obj for obj in session.new if isinstance(obj, Subscription)]

    assert subscriptions_of(engine) == []
    activate_again = CircuitUpdate(status=CircuitStatus.ACTIVE)
    with session_scope(engine, actor="test:noc") as session:
        service.update_object(session, service.CIRCUITS, circuit_id, activate_again)
    assert len(subscriptions_of(engine, circuit_id)) == 1


def test_a_period_read_backwards_is_refused(engine: Engine) -> None:
    with session_scope(engine, read_only=True) as session, pytest.raises(InvalidInput) as refused:
        subscriptions_overlapping(session, date(2026, 3, 31), date(2026, 3, 1))
    assert refused.value.problems[0].field == "last"


def test_an_activation_dated_in_the_future_is_refused(
    engine: Engine, network: Network, clock: Clock
) -> None:
    circuit_id = ordered_circuit(engine, network.operator_a, "eline-1g")
    set_status(engine, circuit_id, CircuitStatus.PROVISIONING)
    update = CircuitUpdate(status=CircuitStatus.ACTIVE, in_service_since=date(2026, 4, 1))
    with (
        pytest.raises(InvalidInput, match="in_service_since: 2026-04-01 is after today"),
        session_scope(engine, actor="test:noc") as session,
    ):
        service.update_object(session, service.CIRCUITS, circuit_id, update)
    assert subscriptions_of(engine) == []
    with session_scope(engine, read_only=True) as session:
        circuit = session.get(Circuit, circuit_id)
        assert circuit is not None
        assert (circuit.status, circuit.in_service_since) == (CircuitStatus.PROVISIONING, None)
