"""Orders carried out on the Gigalis network, on both databases: the order worker's passes
start provisioning jobs, and the jobs run on routers in memory (tests/integration/
memory_routers.py, a declared stand-in for routers: the same jobs run on the lab's FRR
routers in tests/lab). Checked: the whole life of an order, a failing job, scheduled and
temporary capacity, delete, and cancellation refused once a job ran."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from gigalis_nms.console import console
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.ordering.bodies import paris_day
from gigalis_nms.ordering.cancellation import CancelOrderCreate, cancel_order
from gigalis_nms.ordering.cli import app as order_cli
from gigalis_nms.ordering.fulfilment import advance_orders
from gigalis_nms.ordering.models import (
    CancellationState,
    ItemState,
    OrderEvent,
    OrderState,
    OrderStateChange,
    ProductOrder,
)
from gigalis_nms.provisioning.jobs import next_queued_job
from gigalis_nms.provisioning.models import JobKind, JobState, ProvisioningJob
from gigalis_nms.provisioning.run import run_job
from gigalis_nms.settings import get_settings
from tests.conftest import ROOT
from tests.integration.conftest import TEST_SECRET_KEY
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


# What a router says when it refuses a commit may name anything: other operators' circuits,
# the settings the NOC configured, the routers themselves.
ROUTER_SAYS = (
    "commit refused: out of memory; VLAN 101 held by GIG-ETH-000001; check GIGALIS_DEVICE_USERNAME"
)
INTERNAL = ("out of memory", "GIGALIS_", "lry1-cr", "nte1-cr", "VLAN 101")


def test_a_failing_job_fails_the_order_in_the_operators_terms(
    engine: Engine, sfr: int, fleet: Fleet, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for hostname in ("lry1-cr1", "lry1-cr2"):  # whichever the design chose
        fleet.router(hostname).refuse_commit = ROUTER_SAYS
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
    assert failed.reason.startswith(
        f"provisioning failed (job {failed.job_id}): the change was refused on the network "
        "and undone, so nothing was changed; the NOC has the details"
    )
    own = {failed.circuit_ref}
    told = [failed.reason, history_reason(engine, order_id) or "", *event_payloads(engine)]
    for text in told:
        assert not [word for word in INTERNAL if word in text], text
        assert set(CIRCUIT_REF.findall(text)) <= own, text
    given_back = circuit_of(engine, failed.circuit_id)
    assert given_back is None or given_back.status is CircuitStatus.TERMINATED

    # The NOC keeps every detail: on the job, and in `gigalis order show`.
    assert "GIGALIS_DEVICE_USERNAME" in (job_of(engine, failed.job_id).error or "")
    shown = show_order(order_id, database_url, monkeypatch)
    assert f"job {failed.job_id} failed:" in shown
    assert "GIGALIS_DEVICE_USERNAME" in shown


CIRCUIT_REF = re.compile(r"GIG-[A-Z]+-\d+")


def event_payloads(engine: Engine) -> list[str]:
    """Every event as its callback receives it."""
    with session_scope(engine, read_only=True) as session:
        return [json.dumps(event.payload) for event in session.exec(select(OrderEvent))]


def show_order(order_id: int, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # rich's own field, not the width property: restoring the property would fix the
    # console at the width it had, and later tests would lose their COLUMNS.
    monkeypatch.setattr(console, "_width", 1000)
    monkeypatch.setenv("GIGALIS_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGALIS_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(order_cli, ["show", str(order_id)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_job_that_never_reached_the_network_says_so(
    engine: Engine, sfr: int, fleet: Fleet
) -> None:
    for hostname in ("nte1-cr1", "nte1-cr2", "lry1-cr1", "lry1-cr2"):
        fleet.router(hostname).unreachable = True
    made = place_order(engine, eline(), tenant=sfr)

    advance(engine)
    assert run_queued(engine, fleet) == [JobState.FAILED]
    advance(engine)

    [failed] = items_of(engine, made.order.id or 0)
    assert failed.reason is not None
    assert "the network was not reached and nothing was changed; the NOC has" in failed.reason
    assert not [word for word in INTERNAL if word in failed.reason], failed.reason


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
