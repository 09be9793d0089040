"""Orders carried out on the Gigalis network, on both databases: the order worker's passes
start provisioning jobs, and the jobs run on routers in memory (tests/integration/
memory_routers.py, a declared stand-in for routers: the same jobs run on the lab's FRR
routers in tests/lab). Checked: the whole life of an order, a failing job, scheduled and
temporary capacity, delete, and cancellation refused once a job ran."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.ordering.bodies import paris_day
from gigalis_nms.ordering.cancellation import CancelOrderCreate, cancel_order
from gigalis_nms.ordering.fulfilment import advance_orders
from gigalis_nms.ordering.models import (
    CancellationState,
    ItemState,
    OrderState,
    OrderStateChange,
    ProductOrder,
)
from gigalis_nms.provisioning.jobs import next_queued_job
from gigalis_nms.provisioning.models import JobKind, JobState, ProvisioningJob
from gigalis_nms.provisioning.run import run_job
from tests.conftest import ROOT
from tests.integration.memory_routers import Fleet, MemoryAccess, install
from tests.integration.ordering_support import (
    circuit_of,
    item,
    items_of,
    order_body,
    order_row,
    place_order,
)

TARGET = "inventory"  # what MemoryAccess stands in for


@pytest.fixture
def sfr(engine: Engine) -> int:
    load_inventory(engine, ROOT / "inventory", actor="test")
    with session_scope(engine, read_only=True) as session:
        found = session.exec(
            select(Organisation.id).where(col(Organisation.name) == "SFR Business")
        ).one()
    assert found is not None
    return found


@pytest.fixture
def fleet() -> Fleet:
    routers = Fleet()
    install(routers)
    return routers


def advance(engine: Engine, now: datetime | None = None) -> int:
    return advance_orders(engine, now=now or utcnow(), target=TARGET, actor="test:worker")


def run_queued(engine: Engine, fleet: Fleet) -> list[JobState]:
    states = []
    while (job_id := next_queued_job(engine, TARGET)) is not None:
        states.append(run_job(engine, job_id, MemoryAccess(fleet)).state)
    return states


def eline(**fields: Any) -> dict[str, Any]:
    return order_body(item("eline-1g", "NTE1", "LRY1"), **fields)


def history(engine: Engine, order_id: int) -> list[tuple[str | None, str]]:
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(OrderStateChange)
            .where(col(OrderStateChange.order_id) == order_id)
            .order_by(col(OrderStateChange.id))
        ).all()
        return [(row.item_id, row.to_state) for row in rows]


def job_of(engine: Engine, job_id: int | None) -> ProvisioningJob:
    with session_scope(engine, read_only=True) as session:
        job = session.get(ProvisioningJob, job_id)
        assert job is not None
        return job


def test_the_whole_life_of_an_order(engine: Engine, sfr: int, fleet: Fleet) -> None:
    made = place_order(engine, eline(externalId="SFR-1"), tenant=sfr)
    order_id = made.order.id or 0

    assert advance(engine) == 1  # the job is queued
    assert advance(engine) == 0  # and waits for the job worker
    assert run_queued(engine, fleet) == [JobState.SUCCEEDED]
    assert advance(engine) == 2  # the item, then the order, completed

    order = order_row(engine, order_id)
    assert order.state is OrderState.COMPLETED
    assert order.completed_at is not None
    [added] = items_of(engine, order_id)
    assert added.state is ItemState.COMPLETED
    circuit = circuit_of(engine, added.circuit_id)
    assert circuit is not None
    assert circuit.status is CircuitStatus.ACTIVE
    assert history(engine, order_id) == [
        (None, "acknowledged"),
        ("1", "inProgress"),
        (None, "inProgress"),
        ("1", "completed"),
        (None, "completed"),
    ]


def test_a_failing_job_fails_the_order_with_its_reason(
    engine: Engine, sfr: int, fleet: Fleet
) -> None:
    for hostname in ("lry1-cr1", "lry1-cr2"):  # whichever the design chose
        fleet.router(hostname).refuse_commit = "commit refused: out of memory"
    made = place_order(engine, eline(), tenant=sfr)
    order_id = made.order.id or 0

    advance(engine)
    assert run_queued(engine, fleet) == [JobState.FAILED]
    advance(engine)

    order = order_row(engine, order_id)
    assert order.state is OrderState.FAILED
    [failed] = items_of(engine, order_id)
    assert failed.state is ItemState.FAILED
    assert failed.reason is not None
    assert "out of memory" in failed.reason
    assert "out of memory" in (history_reason(engine, order_id) or "")
    given_back = circuit_of(engine, failed.circuit_id)
    assert given_back is None or given_back.status is CircuitStatus.TERMINATED


def history_reason(engine: Engine, order_id: int) -> str | None:
    with session_scope(engine, read_only=True) as session:
        last = session.exec(
            select(OrderStateChange)
            .where(col(OrderStateChange.order_id) == order_id)
            .order_by(col(OrderStateChange.id).desc())
        ).first()
        return last.reason if last else None


def test_no_job_before_the_requested_day(engine: Engine, sfr: int, fleet: Fleet) -> None:
    today = paris_day(utcnow())
    start = today + timedelta(days=3)
    made = place_order(engine, eline(requestedStartDate=str(start)), tenant=sfr)
    order_id = made.order.id or 0

    assert advance(engine) == 0
    assert advance(engine, at_paris_noon(start - timedelta(days=1))) == 0
    assert items_of(engine, order_id)[0].job_id is None

    assert advance(engine, at_paris_noon(start)) == 1
    assert items_of(engine, order_id)[0].job_id is not None


def at_paris_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def test_temporary_capacity_is_released_after_its_end(
    engine: Engine, sfr: int, fleet: Fleet
) -> None:
    end = paris_day(utcnow()) + timedelta(days=2)
    made = place_order(engine, eline(requestedEndDate=str(end)), tenant=sfr)
    order_id = made.order.id or 0
    advance(engine)
    run_queued(engine, fleet)
    advance(engine)
    assert order_row(engine, order_id).state is OrderState.COMPLETED

    assert advance(engine, at_paris_noon(end)) == 0  # the end day itself still runs
    assert advance(engine, at_paris_noon(end + timedelta(days=1))) == 1
    assert advance(engine, at_paris_noon(end + timedelta(days=2))) == 0  # once only

    [released] = items_of(engine, order_id)
    assert released.released_at is not None
    assert run_queued(engine, fleet) == [JobState.SUCCEEDED]
    circuit = circuit_of(engine, released.circuit_id)
    assert circuit is not None
    assert circuit.status is CircuitStatus.TERMINATED


def test_a_delete_item_terminates_the_circuit(engine: Engine, sfr: int, fleet: Fleet) -> None:
    made = place_order(engine, eline(), tenant=sfr)
    advance(engine)
    run_queued(engine, fleet)
    advance(engine)
    [added] = items_of(engine, made.order.id or 0)

    body = order_body({"id": "1", "action": "delete", "product": {"id": added.circuit_ref}})
    deletion = place_order(engine, body, tenant=sfr)
    assert deletion.order.state is OrderState.IN_PROGRESS
    advance(engine)
    [deleting] = items_of(engine, deletion.order.id or 0)
    assert job_of(engine, deleting.job_id).kind is JobKind.DEPROVISION
    assert run_queued(engine, fleet) == [JobState.SUCCEEDED]
    advance(engine)

    assert order_row(engine, deletion.order.id or 0).state is OrderState.COMPLETED
    circuit = circuit_of(engine, added.circuit_id)
    assert circuit is not None
    assert circuit.status is CircuitStatus.TERMINATED


def test_cancellation_is_refused_once_a_job_ran(engine: Engine, sfr: int, fleet: Fleet) -> None:
    made = place_order(engine, eline(), tenant=sfr)
    advance(engine)
    run_queued(engine, fleet)
    body = CancelOrderCreate.model_validate({"productOrder": {"id": str(made.order.id)}})

    with session_scope(engine, actor="test") as session:
        cancellation = cancel_order(session, body, tenant=sfr, actor="test")
        state, error = cancellation.state, cancellation.error

    assert state is CancellationState.TERMINATED_WITH_ERROR
    assert error is not None
    assert "provisioning has started" in error
    with session_scope(engine, read_only=True) as session:
        order = session.get(ProductOrder, made.order.id)
        assert order is not None
        assert order.state is OrderState.IN_PROGRESS
    assert history(engine, made.order.id or 0)[-2:] == [
        (None, "assessingCancellation"),
        (None, "inProgress"),
    ]
