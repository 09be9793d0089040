"""Taking orders on both databases: idempotency, the last capacity of a link under
concurrent orders, externalId, bad bodies that write nothing, modify, the NOC's decisions and
cancellation (the small network of ordering_support; no routers involved)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.catalogue.loader import default_catalogue
from gigalis_nms.catalogue.models import Acceptance, Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict, GigalisError, InvalidInput
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import CircuitUpdate, Device, Interface
from gigalis_nms.ordering.bodies import paris_day
from gigalis_nms.ordering.cancellation import CancelOrderCreate, cancel_order
from gigalis_nms.ordering.events import ORDER_CREATE_EVENT, ORDER_STATE_CHANGE_EVENT
from gigalis_nms.ordering.fulfilment import advance_orders
from gigalis_nms.ordering.models import (
    CancellationState,
    ItemState,
    OrderEvent,
    OrderState,
    ProductOrder,
)
from gigalis_nms.ordering.orders import accept_order, patch_order, reject_order
from tests.integration.ordering_support import (
    LINK_CODE,
    Network,
    build_network,
    circuit_of,
    held_mbps,
    item,
    items_of,
    order_body,
    order_row,
    place_order,
    row_counts,
)

T = TypeVar("T")


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine)


TOMORROW = date.today() + timedelta(days=2)


def in_threads(count: int, work: Callable[[int], T]) -> list[T | GigalisError]:
    """Run ``work(i)`` in ``count`` threads released together; each result or refusal."""
    barrier = threading.Barrier(count)
    results: list[T | GigalisError | None] = [None] * count

    def run(number: int) -> None:
        barrier.wait()
        try:
            results[number] = work(number)
        except GigalisError as refused:
            results[number] = refused

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(result is not None for result in results), "a thread did not finish"
    return [result for result in results if result is not None]


def noc_catalogue(offer_id: str = "eline-100m") -> Catalogue:
    """The catalogue with one automatic offer made to wait for the NOC."""
    catalogue = default_catalogue()
    offers = [
        offer.model_copy(update={"acceptance": Acceptance.NOC}) if offer.id == offer_id else offer
        for offer in catalogue.offers
    ]
    return catalogue.model_copy(update={"offers": offers})


# --- idempotency ----------------------------------------------------------------------------


def test_a_post_retried_with_its_key_returns_the_same_order(
    engine: Engine, network: Network
) -> None:
    body = order_body(externalId="PO-1")
    first = place_order(engine, body, tenant=network.operator_a, key="key-1")
    counts = row_counts(engine)

    again = place_order(engine, body, tenant=network.operator_a, key="key-1")

    assert (again.order.id, again.replayed, first.replayed) == (first.order.id, True, False)
    assert row_counts(engine) == counts


def test_the_same_key_with_another_body_is_refused_naming_the_header(
    engine: Engine, network: Network
) -> None:
    place_order(engine, order_body(), tenant=network.operator_a, key="key-1")
    counts = row_counts(engine)

    with pytest.raises(InvalidInput) as refused:
        place_order(engine, order_body(description="other"), tenant=network.operator_a, key="key-1")

    assert refused.value.problems[0].field == "header.idempotency-key"
    assert row_counts(engine) == counts


def test_keys_are_per_operator(engine: Engine, network: Network) -> None:
    first = place_order(engine, order_body(), tenant=network.operator_a, key="shared")
    other = place_order(engine, order_body(), tenant=network.operator_b, key="shared")
    assert first.order.id != other.order.id


def test_concurrent_posts_with_one_key_make_one_order(engine: Engine, network: Network) -> None:
    body = order_body(externalId="PO-RACE")

    results = in_threads(
        8, lambda _n: place_order(engine, body, tenant=network.operator_a, key="race").order.id
    )

    assert all(isinstance(result, int) for result in results), results
    assert len(set(results)) == 1
    assert row_counts(engine)["ProductOrder"] == 1
    assert held_mbps(engine, network.link)[0] == 100


# --- the last capacity of a link ------------------------------------------------------------


def test_twenty_concurrent_orders_for_room_for_five(engine: Engine, network: Network) -> None:
    def order(number: int) -> int:
        made = place_order(engine, order_body(), tenant=network.operator_a, key=f"k{number}")
        assert made.order.id is not None
        return made.order.id

    results = in_threads(20, order)

    taken = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if isinstance(result, GigalisError)]
    assert len(taken) == 5, refused
    assert len(refused) == 15
    for refusal in refused:
        assert isinstance(refusal, Conflict), refusal
        assert LINK_CODE in refusal.message
        assert refusal.problems[0].field.startswith("productOrderItem[0]")
    assert held_mbps(engine, network.link) == (500, 500)
    assert row_counts(engine)["ProductOrder"] == 5


def test_an_order_with_no_room_writes_nothing(engine: Engine) -> None:
    small = build_network(engine, capacity_mbps=100)
    place_order(engine, order_body(), tenant=small.operator_a)
    counts = row_counts(engine)

    with pytest.raises(Conflict) as refused:
        place_order(engine, order_body(item(), item(number="2")), tenant=small.operator_a)

    assert "link BL-NTE1-ANG1 has only 0 Mb/s free" in refused.value.message
    [problem] = refused.value.problems
    assert problem.field == "productOrderItem[0].product.productCharacteristic"
    assert problem.reason.startswith("bandwidthMbps: ")
    assert row_counts(engine) == counts
    assert held_mbps(engine, small.link) == (100, 100)


def test_a_site_without_a_free_port_names_the_place(engine: Engine) -> None:
    portless = build_network(engine, spare_ports=0)
    body = order_body(
        item(product={"place": [{"role": "Z", "id": "ANG1"}, {"role": "A", "id": "NTE1"}]})
    )

    with pytest.raises(Conflict) as refused:
        place_order(engine, body, tenant=portless.operator_a)

    fields = [problem.field for problem in refused.value.problems]
    assert fields == ["productOrderItem[0].product.place[1]"]  # the A end, as it was written
    assert "no free port at site NTE1" in refused.value.message


# --- what an order must be ------------------------------------------------------------------


def test_an_external_id_is_unique_per_operator(engine: Engine, network: Network) -> None:
    first = place_order(engine, order_body(externalId="PO-7"), tenant=network.operator_a)
    counts = row_counts(engine)

    with pytest.raises(Conflict) as refused:
        place_order(engine, order_body(externalId="PO-7"), tenant=network.operator_a)

    assert refused.value.problems[0].field == "externalId"
    assert f"order {first.order.id}" in refused.value.message
    assert row_counts(engine) == counts
    place_order(engine, order_body(externalId="PO-7"), tenant=network.operator_b)


BAD_BODIES: list[tuple[dict[str, Any], list[str]]] = [
    (order_body(item(offer="eline-7g")), ["productOrderItem[0].productOffering.id"]),
    (order_body(item(a="NOWHERE")), ["productOrderItem[0].product.place[0].id"]),
    (order_body(item(z=None)), ["productOrderItem[0].product.place"]),
    (
        order_body(item(), item(offer="eline-7g", a="XX", number="2")),
        ["productOrderItem[1].productOffering.id"],
    ),
    (order_body(item(), item()), ["productOrderItem[1].id"]),
    (order_body(requestedStartDate="2020-01-01"), ["requestedStartDate"]),
    (
        order_body(requestedStartDate=str(TOMORROW), requestedEndDate=str(TOMORROW)),
        ["requestedEndDate"],
    ),
    (
        order_body(
            {"id": "1", "action": "delete", "product": {"id": "GIG-ETH-999999"}},
        ),
        ["productOrderItem[0].product.id"],
    ),
    (order_body(relatedParty=[{"id": "999", "role": "customer"}]), ["relatedParty[0]"]),
]


@pytest.mark.parametrize(("body", "fields"), BAD_BODIES)
def test_a_bad_order_names_each_field_and_writes_nothing(
    engine: Engine, network: Network, body: dict[str, Any], fields: list[str]
) -> None:
    counts = row_counts(engine)

    with pytest.raises(InvalidInput) as refused:
        place_order(engine, body, tenant=network.operator_a, today=date.today())

    assert [problem.field for problem in refused.value.problems] == fields
    assert row_counts(engine) == counts
    assert held_mbps(engine, network.link)[0] == 0


def test_every_problem_of_a_body_is_named_at_once(engine: Engine, network: Network) -> None:
    body = order_body(
        item(a="NOWHERE"), item(offer="nope", number="2"), requestedStartDate="2020-01-01"
    )
    with pytest.raises(InvalidInput) as refused:
        place_order(engine, body, tenant=network.operator_a)
    assert {problem.field for problem in refused.value.problems} == {
        "requestedStartDate",
        "productOrderItem[0].product.place[0].id",
        "productOrderItem[1].productOffering.id",
    }


def test_unknown_keys_are_refused_by_the_body_model() -> None:
    with pytest.raises(ValidationError):
        CancelOrderCreate.model_validate({"productOrder": {"id": "1"}, "reason": "typo"})


def test_a_staff_order_names_its_operator(engine: Engine, network: Network) -> None:
    body = order_body(relatedParty=[{"name": "Opérateur B", "role": "customer"}])
    made = place_order(engine, body, tenant=None)
    assert made.order.operator_id == network.operator_b
    with pytest.raises(InvalidInput) as refused:
        place_order(engine, order_body(), tenant=None)
    assert refused.value.problems[0].field == "relatedParty"


def test_an_operator_cannot_order_for_another(engine: Engine, network: Network) -> None:
    body = order_body(relatedParty=[{"id": str(network.operator_b), "role": "customer"}])
    with pytest.raises(InvalidInput):
        place_order(engine, body, tenant=network.operator_a)


# --- acceptance, events -----------------------------------------------------------------------


def test_an_automatic_offer_goes_in_progress_and_says_so(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a)

    assert made.order.state is OrderState.IN_PROGRESS
    with session_scope(engine, read_only=True) as session:
        events = session.exec(
            select(OrderEvent.event_type).where(col(OrderEvent.order_id) == made.order.id)
        ).all()
    assert list(events) == [ORDER_CREATE_EVENT, ORDER_STATE_CHANGE_EVENT]
    [only] = items_of(engine, made.order.id or 0)
    circuit = circuit_of(engine, only.circuit_id)
    assert circuit is not None
    assert circuit.status is CircuitStatus.DESIGNED
    assert only.recurring_price is not None


def test_the_noc_accepts_an_order_that_waits_for_it(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a, catalogue=noc_catalogue())
    assert made.order.state is OrderState.ACKNOWLEDGED

    with session_scope(engine, actor="test:noc") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        accept_order(session, order, actor="test:noc")

    assert order_row(engine, made.order.id or 0).state is OrderState.IN_PROGRESS
    assert [i.state for i in items_of(engine, made.order.id or 0)] == [ItemState.IN_PROGRESS]


def test_a_noc_rejection_frees_the_capacity(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a, catalogue=noc_catalogue())
    assert held_mbps(engine, network.link)[0] == 100

    with session_scope(engine, actor="test:noc") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        reject_order(session, order, actor="test:noc", reason="no 100M ports this month")

    assert order_row(engine, made.order.id or 0).state is OrderState.REJECTED
    [rejected] = items_of(engine, made.order.id or 0)
    assert rejected.state is ItemState.REJECTED
    assert circuit_of(engine, rejected.circuit_id) is None  # deleted: it was never active
    assert held_mbps(engine, network.link)[0] == 0


# --- modify -----------------------------------------------------------------------------------


def _active_circuit(engine: Engine, operator_id: int, offer: str = "eline-100m") -> str:
    """An E-Line of the operator, designed by an order and marked active by hand (no routers
    here)."""
    made = place_order(engine, order_body(item(offer)), tenant=operator_id)
    [added] = items_of(engine, made.order.id or 0)
    with session_scope(engine, actor="test") as session:
        for status in (CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE):
            assert added.circuit_id is not None
            service.update_object(
                session, service.CIRCUITS, added.circuit_id, CircuitUpdate(status=status)
            )
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        order.state = OrderState.COMPLETED  # so that the circuit is in no open order
        for row in items_of(engine, made.order.id or 0):
            row.state = ItemState.COMPLETED
            session.add(row)
    assert added.circuit_ref is not None
    return added.circuit_ref


def modify_item(ref: str, offer: str) -> dict[str, Any]:
    return {"id": "1", "action": "modify", "productOffering": {"id": offer}, "product": {"id": ref}}


def test_modify_holds_the_new_bandwidth_on_every_link(engine: Engine) -> None:
    roomy = build_network(engine, capacity_mbps=2000)
    ref = _active_circuit(engine, roomy.operator_a)

    made = place_order(engine, order_body(modify_item(ref, "eline-1g")), tenant=roomy.operator_a)
    advance_orders(engine, now=utcnow(), target="inventory", actor="test:worker")

    assert held_mbps(engine, roomy.link)[0] == 1000
    [modified] = items_of(engine, made.order.id or 0)
    assert (modified.state, modified.previous_bandwidth_mbps) == (ItemState.COMPLETED, 100)
    assert order_row(engine, made.order.id or 0).state is OrderState.COMPLETED


def advance_on(engine: Engine, day: date) -> int:
    noon_in_paris = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
    return advance_orders(engine, now=noon_in_paris, target="inventory", actor="test:worker")


def test_a_decrease_frees_its_capacity_on_its_day_only(engine: Engine) -> None:
    full = build_network(engine, capacity_mbps=1000)
    ref = _active_circuit(engine, full.operator_a, "eline-1g")
    day = paris_day(utcnow()) + timedelta(days=3)

    down = order_body(modify_item(ref, "eline-100m"), requestedStartDate=str(day))
    made = place_order(engine, down, tenant=full.operator_a)
    advance_on(engine, day - timedelta(days=1))

    # The routers carry 1 Gb/s until the day: the room is not for sale before.
    assert held_mbps(engine, full.link) == (1000, 1000)
    assert items_of(engine, made.order.id or 0)[0].state is ItemState.IN_PROGRESS
    with pytest.raises(Conflict):
        place_order(engine, order_body(), tenant=full.operator_b)

    assert advance_on(engine, day) == 2  # the item, then the order

    [lowered] = items_of(engine, made.order.id or 0)
    assert (lowered.state, lowered.previous_bandwidth_mbps) == (ItemState.COMPLETED, 1000)
    assert order_row(engine, made.order.id or 0).state is OrderState.COMPLETED
    assert held_mbps(engine, full.link)[0] == 100
    place_order(engine, order_body(), tenant=full.operator_b)  # the freed room is sold now


def test_a_decrease_cancelled_before_its_day_restores_nothing(engine: Engine) -> None:
    full = build_network(engine, capacity_mbps=1000)
    ref = _active_circuit(engine, full.operator_a, "eline-1g")
    day = paris_day(utcnow()) + timedelta(days=3)
    down = order_body(modify_item(ref, "eline-100m"), requestedStartDate=str(day))
    made = place_order(engine, down, tenant=full.operator_a)

    assert _cancel(engine, made.order.id, full.operator_a) is CancellationState.DONE

    assert held_mbps(engine, full.link) == (1000, 1000)
    [cancelled] = items_of(engine, made.order.id or 0)
    circuit = circuit_of(engine, cancelled.circuit_id)
    assert circuit is not None
    assert circuit.bandwidth_mbps == 1000
    assert advance_on(engine, day) == 0  # nothing left to do on the day


def test_modify_without_room_is_refused_naming_the_link(engine: Engine, network: Network) -> None:
    ref = _active_circuit(engine, network.operator_a)
    counts = row_counts(engine)

    with pytest.raises(Conflict) as refused:
        place_order(engine, order_body(modify_item(ref, "eline-1g")), tenant=network.operator_a)

    assert LINK_CODE in refused.value.message
    # The new bandwidth is the offer's: that is the field to change.
    assert refused.value.problems[0].field == "productOrderItem[0].productOffering.id"
    assert row_counts(engine) == counts
    assert held_mbps(engine, network.link)[0] == 100


def test_modify_to_another_service_is_refused(engine: Engine, network: Network) -> None:
    ref = _active_circuit(engine, network.operator_a)
    with pytest.raises(InvalidInput) as refused:
        place_order(
            engine, order_body(modify_item(ref, "wavelength-10g")), tenant=network.operator_a
        )
    assert refused.value.problems[0].field == "productOrderItem[0].productOffering.id"


def test_another_operators_circuit_reads_as_unknown(engine: Engine, network: Network) -> None:
    ref = _active_circuit(engine, network.operator_a)
    with pytest.raises(InvalidInput) as refused:
        place_order(engine, order_body(modify_item(ref, "eline-1g")), tenant=network.operator_b)
    assert refused.value.problems[0].reason == f"no circuit {ref}"


# --- PATCH ------------------------------------------------------------------------------------


def test_patch_changes_only_what_may_change(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a)
    with session_scope(engine, actor="test") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        patch_order(
            session,
            order,
            {"description": "school", "note": [{"text": "call first"}]},
            actor="test",
        )
        with pytest.raises(InvalidInput) as refused:
            patch_order(session, order, {"state": "completed", "description": "x"}, actor="t")
    assert refused.value.problems[0].field == "state"
    changed = order_row(engine, made.order.id or 0)
    assert changed.description == "school"
    assert changed.notes[0]["text"] == "call first"


def test_patch_refuses_to_clear_a_start_date(engine: Engine, network: Network) -> None:
    made = place_order(
        engine, order_body(requestedStartDate=str(TOMORROW)), tenant=network.operator_a
    )
    with session_scope(engine, actor="test") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        with pytest.raises(InvalidInput) as refused:
            patch_order(session, order, {"requestedStartDate": None}, actor="test")

    [problem] = refused.value.problems
    assert problem.field == "requestedStartDate"
    assert problem.reason == "give a date; today's date to start as soon as possible"
    assert order_row(engine, made.order.id or 0).requested_start_date == TOMORROW


def test_patch_may_say_null_for_an_order_without_a_start_date(
    engine: Engine, network: Network
) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a)
    with session_scope(engine, actor="test") as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        patch_order(session, order, {"requestedStartDate": None}, actor="test")
    assert order_row(engine, made.order.id or 0).requested_start_date is None


# --- cancellation -----------------------------------------------------------------------------


def _cancel(engine: Engine, order_id: int | None, tenant: int | None) -> CancellationState:
    body = CancelOrderCreate.model_validate(
        {"productOrder": {"id": str(order_id)}, "cancellationReason": "project postponed"}
    )
    with session_scope(engine, actor="test:operator") as session:
        return cancel_order(session, body, tenant=tenant, actor="test:operator").state


def test_an_order_not_started_is_cancelled_and_its_capacity_freed(
    engine: Engine, network: Network
) -> None:
    body = order_body(requestedStartDate=str(TOMORROW))
    made = place_order(engine, body, tenant=network.operator_a)
    advance_orders(engine, now=utcnow(), target="inventory", actor="test:worker")  # not its day

    assert _cancel(engine, made.order.id, network.operator_a) is CancellationState.DONE

    order = order_row(engine, made.order.id or 0)
    assert order.state is OrderState.CANCELLED
    assert order.cancellation_reason == "project postponed"
    assert [i.state for i in items_of(engine, made.order.id or 0)] == [ItemState.CANCELLED]
    assert held_mbps(engine, network.link)[0] == 0


def test_a_started_order_is_not_cancelled(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a)
    advance_orders(engine, now=utcnow(), target="inventory", actor="test:worker")  # job queued

    state = _cancel(engine, made.order.id, network.operator_a)

    assert state is CancellationState.TERMINATED_WITH_ERROR
    assert order_row(engine, made.order.id or 0).state is OrderState.IN_PROGRESS
    assert held_mbps(engine, network.link)[0] == 100


def test_another_operators_order_cannot_be_cancelled(engine: Engine, network: Network) -> None:
    made = place_order(engine, order_body(), tenant=network.operator_a)
    with pytest.raises(GigalisError) as refused:
        _cancel(engine, made.order.id, network.operator_b)
    assert refused.value.status_code == 404


def _hand_off(engine: Engine, hostname: str, name: str, operator_code: str) -> int:
    """Make a spare port the operator's hand-off (its description names the operator)."""
    with session_scope(engine, actor="test:network") as session:
        port = session.exec(
            select(Interface)
            .join(Device, col(Device.id) == col(Interface.device_id))
            .where(col(Device.hostname) == hostname, col(Interface.name) == name)
        ).one()
        port.description = f"NNI {operator_code}"
        session.add(port)
        session.flush()
        assert port.id is not None
        return port.id


def test_eline_ends_are_vlans_on_the_operators_hand_offs(engine: Engine, network: Network) -> None:
    hand_offs = {
        "a": _hand_off(engine, "nte1-cr1", "xe-0/0/7", "OPA"),
        "z": _hand_off(engine, "ang1-cr1", "xe-0/0/7", "OPA"),
    }
    vlans = [{"name": "aVlan", "value": 300}, {"name": "zVlan", "value": 301}]
    asked = item(product={"place": item()["product"]["place"], "productCharacteristic": vlans})
    first = place_order(engine, order_body(asked), tenant=network.operator_a)
    second = place_order(engine, order_body(), tenant=network.operator_a)
    third = place_order(engine, order_body(), tenant=network.operator_a)

    ends = []
    for created in (first, second, third):
        assert created.order.id is not None
        circuit = circuit_of(engine, items_of(engine, created.order.id)[0].circuit_id)
        assert circuit is not None
        ends.append(
            (circuit.a_interface_id, circuit.a_vlan, circuit.z_interface_id, circuit.z_vlan)
        )
    # The VLANs asked, then the lowest free ones, all on the same two hand-off ports.
    assert ends == [
        (hand_offs["a"], 300, hand_offs["z"], 301),
        (hand_offs["a"], 2, hand_offs["z"], 2),
        (hand_offs["a"], 3, hand_offs["z"], 3),
    ]
