"""Carrying accepted orders out: one pass of the order worker.

Each pass, for every order in progress (each in its own transaction, the order's row locked
so that a cancellation or the NOC never acts on it at the same moment):

- an ``add`` item of an E-Line whose day has come (the requested start date, a calendar day
  in Europe/Paris) gets its provisioning job; when the job succeeded the circuit is active
  and the item completed, when it failed the item failed with the job's reason and the
  circuit is given back;
- a ``modify`` item whose day has come is completed: an increase was held when the order
  was taken; a decrease frees the difference now, not before, since the routers carry the
  old bandwidth until this day;
- a ``delete`` item whose day has come gets a deprovisioning job (or, for a circuit never
  configured, is given back at once) and is completed when the circuit is terminated;
- an order with no item open any more is completed, failed, or partial.

Then temporary capacity whose end date has passed is released: each E-Line its order added
gets one deprovisioning job, recorded on the item (``released_at``) so that it is never
queued twice.

A failed job's own error names routers, settings and sometimes other operators' circuits: it
is for the NOC (the job, and `gigalis order show`). The item and the order, which the
operator reads and its callback receives, say instead what happened in the operator's terms
(:func:`job_failure_reason`).

Services the routers do not carry (dark fibre, wavelengths, hosting) are built by a NOC
engineer on site: their items stay in progress until the NOC completes them
(:func:`complete_field_item`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import GigalisError, InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.ordering.bodies import paris_day
from gigalis_nms.ordering.giveback import NEVER_CONFIGURED, give_back_circuit
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.orders import lock_order, order_items
from gigalis_nms.ordering.transitions import move_item, move_order
from gigalis_nms.provisioning.jobs import COMMITTING, create_job
from gigalis_nms.provisioning.models import (
    DeviceOutcome,
    JobDevice,
    JobKind,
    JobState,
    ProvisioningJob,
)

logger = logging.getLogger(__name__)

WORKER_ACTOR = "ordering:worker"
# Orders whose added capacity is temporary, released once their end date has passed.
RELEASABLE = (OrderState.COMPLETED, OrderState.PARTIAL)
BANDWIDTH_NOTE = (
    "bandwidth changed on every link of the path; the routers are not changed, since "
    "bandwidth is not policed at the hand-off yet"
)
NOC_HAS_DETAILS = "the NOC has the details"
# How a router's failure note begins when a commit may still be on it, undone by its revert
# timer: a rollback that failed, or a commit cut off (provisioning.jobs.mark_unreached).
LEFT_REVERTING = ("rollback failed", f"cut off while {COMMITTING}")


def advance_orders(engine: Engine, *, now: datetime, target: str | None, actor: str) -> int:
    """One pass of the order worker at ``now``; ``target`` is the routers its jobs are for
    (``settings.devices``). How many steps were taken (jobs queued, items and orders moved)."""
    today = paris_day(now)
    steps = 0
    for order_id in _order_ids(engine, [OrderState.IN_PROGRESS], starting_by=today):
        steps += _in_own_transaction(
            engine, order_id, actor=actor, step=_advance_one, today=today, target=target
        )
    for order_id in _order_ids(engine, list(RELEASABLE), ending_before=today):
        steps += _in_own_transaction(
            engine, order_id, actor=actor, step=_release_one, today=today, target=target
        )
    return steps


def _order_ids(
    engine: Engine,
    states: list[OrderState],
    *,
    starting_by: date | None = None,
    ending_before: date | None = None,
) -> list[int]:
    """The orders a pass looks at, read without a lock: each is locked, in its own write
    transaction, only when looked at. An order scheduled for a later day is skipped (it has
    no job yet: jobs start on the day). Orders waiting for the NOC's field work are looked
    at every pass: a write transaction each, which on SQLite queues behind the API's
    writers; a shortcoming once thousands wait."""
    with session_scope(engine, read_only=True) as session:
        query = select(ProductOrder.id).where(col(ProductOrder.state).in_(states))
        if starting_by is not None:
            start = col(ProductOrder.requested_start_date)
            query = query.where(start.is_(None) | (start <= starting_by))
        if ending_before is not None:
            query = query.where(col(ProductOrder.requested_end_date) < ending_before)
        return [
            order_id for order_id in session.exec(query.order_by(col(ProductOrder.id))) if order_id
        ]


class _Step(Protocol):
    def __call__(
        self, session: Session, order: ProductOrder, today: date, target: str | None, actor: str
    ) -> int: ...


def _in_own_transaction(
    engine: Engine,
    order_id: int,
    *,
    actor: str,
    step: _Step,
    today: date,
    target: str | None,
) -> int:
    """Run one order's step in its own transaction: one order that cannot move (a bug, a
    database refusal) is logged and does not hold the others back."""
    try:
        with session_scope(engine, actor=actor) as session:
            order = session.get(ProductOrder, order_id)
            if order is None:
                return 0
            lock_order(session, order)
            return step(session, order, today, target, actor)
    except Exception:  # the pass outlives one order's failure; the next pass tries again
        logger.exception("order %s: could not be advanced", order_id)
        return 0


def _due(order: ProductOrder, today: date) -> bool:
    return order.requested_start_date is None or order.requested_start_date <= today


def _advance_one(
    session: Session, order: ProductOrder, today: date, target: str | None, actor: str
) -> int:
    if order.state is not OrderState.IN_PROGRESS:
        return 0  # moved by someone else since the list was read
    steps = 0
    items = order_items(session, order)
    for item in items:
        if item.state is not ItemState.IN_PROGRESS:
            continue
        if item.job_id is not None:
            steps += _follow_job(session, order, item, actor)
        elif _due(order, today):
            steps += _start_item(session, order, item, target, actor)
    if all(item.state not in (ItemState.ACKNOWLEDGED, ItemState.IN_PROGRESS) for item in items):
        steps += _finish_order(session, order, items, actor)
    return steps


def _start_item(
    session: Session, order: ProductOrder, item: ProductOrderItem, target: str | None, actor: str
) -> int:
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    if circuit is None:
        reason = f"circuit {item.circuit_ref} no longer exists"
        move_item(session, order, item, ItemState.FAILED, reason=reason, actor=actor)
        return 1
    if item.action is ItemAction.MODIFY:
        return _complete_modify(session, order, item, circuit, actor)
    if circuit.service_type is not ServiceType.ETHERNET_ELINE:
        return 0  # field work: the NOC completes the item
    if item.action is ItemAction.DELETE and circuit.status in NEVER_CONFIGURED:
        done = give_back_circuit(session, circuit)  # nothing on the routers to take off
        move_item(session, order, item, ItemState.COMPLETED, reason=done, actor=actor)
        return 1
    kind = JobKind.PROVISION if item.action is ItemAction.ADD else JobKind.DEPROVISION
    try:
        with session.begin_nested():
            job = create_job(session, kind, [circuit.ref], actor=actor, target=target)
    except GigalisError as refused:
        # create_job's refusals name the item's own circuit only.
        reason = f"{_doing(kind)} could not start: {refused.message}"
        move_item(session, order, item, ItemState.FAILED, reason=reason, actor=actor)
        _give_back_failed(session, item)
        return 1
    item.job_id = job.id
    session.add(item)
    logger.info("order %s: item %s: job %s queued", order.id, item.item_id, job.id)
    return 1


def _follow_job(session: Session, order: ProductOrder, item: ProductOrderItem, actor: str) -> int:
    job = session.get(ProvisioningJob, item.job_id)
    if job is None or job.state in (JobState.QUEUED, JobState.RUNNING):
        return 0
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    status = circuit.status if circuit is not None else None
    wanted = CircuitStatus.ACTIVE if item.action is ItemAction.ADD else CircuitStatus.TERMINATED
    if job.state is JobState.SUCCEEDED and (status is wanted or item.action is ItemAction.DELETE):
        reason = f"job {job.id} succeeded: circuit {item.circuit_ref} {wanted}"
        move_item(session, order, item, ItemState.COMPLETED, reason=reason, actor=actor)
        return 1
    if job.state is JobState.SUCCEEDED:
        reason = f"job {job.id} succeeded but circuit {item.circuit_ref} is {status}"
    else:
        reason = job_failure_reason(session, job)
        logger.info(
            "order %s: item %s: job %s failed: %s", order.id, item.item_id, job.id, job.error
        )
    move_item(session, order, item, ItemState.FAILED, reason=reason, actor=actor)
    _give_back_failed(session, item)
    return 1


def job_failure_reason(session: Session, job: ProvisioningJob) -> str:
    """What a failed job did to the network, for the operator: read from the outcome on each
    router, never from the job's error (which is the NOC's).

    e.g. "provisioning failed (job 12): the change was refused on the network and nothing
    was changed; the NOC has the details"."""
    outcomes = session.exec(
        select(JobDevice.outcome, JobDevice.error).where(col(JobDevice.job_id) == job.id)
    ).all()
    failed_notes = [error or "" for outcome, error in outcomes if outcome is DeviceOutcome.FAILED]
    if any(note.startswith(LEFT_REVERTING) for note in failed_notes):
        what = "the change was cut off on the network and the routers are undoing it"
    elif any(outcome is DeviceOutcome.ROLLED_BACK for outcome, _ in outcomes):
        what = "the change was refused on the network and undone, so nothing was changed"
    elif failed_notes and not all(map(_unreached, failed_notes)):
        what = "the change was refused on the network and nothing was changed"
    else:
        what = "the network was not reached and nothing was changed"
    return f"{_doing(job.kind)} failed (job {job.id}): {what}; {NOC_HAS_DETAILS}"


def _unreached(note: str) -> bool:
    """Whether a router's failure note says it was not reached: the note starts with the
    exception's name (provisioning.devices), a connection or a timeout one then.

    >>> _unreached("ConnectionException: no answer"), _unreached("CommitError: refused")
    (True, False)
    """
    kind = note.partition(":")[0]
    return "Connection" in kind or "Timeout" in kind


def _doing(kind: JobKind) -> str:
    return "provisioning" if kind is JobKind.PROVISION else "deprovisioning"


def _complete_modify(
    session: Session, order: ProductOrder, item: ProductOrderItem, circuit: Circuit, actor: str
) -> int:
    """The item's day has come: a decrease frees the difference now (an increase was held
    when the order was taken)."""
    if item.bandwidth_mbps is None or circuit.bandwidth_mbps == item.bandwidth_mbps:
        move_item(session, order, item, ItemState.COMPLETED, reason=BANDWIDTH_NOTE, actor=actor)
        return 1
    assert circuit.id is not None
    try:
        with session.begin_nested():
            update = CircuitUpdate(bandwidth_mbps=item.bandwidth_mbps)
            service.update_object(session, service.CIRCUITS, circuit.id, update)
    except GigalisError as refused:
        reason = f"bandwidth not changed: {refused.message}"
        move_item(session, order, item, ItemState.FAILED, reason=reason, actor=actor)
        return 1
    logger.info(
        "order %s: circuit %s lowered to %s Mb/s on its day",
        order.id,
        circuit.ref,
        item.bandwidth_mbps,
    )
    move_item(session, order, item, ItemState.COMPLETED, reason=BANDWIDTH_NOTE, actor=actor)
    return 1


def failed_job_errors(session: Session, order: ProductOrder) -> list[tuple[str, int, str]]:
    """For the NOC: each item whose job failed, the job and its full error."""
    found = []
    for item in order_items(session, order):
        job = session.get(ProvisioningJob, item.job_id) if item.job_id is not None else None
        if job is not None and job.id is not None and job.state is JobState.FAILED:
            found.append((item.item_id, job.id, job.error or "no reason recorded"))
    return found


def _give_back_failed(session: Session, item: ProductOrderItem) -> None:
    """A failed add gives its circuit back (the job restored it to reserved, so that only
    its ports are still held); a failed delete leaves the circuit in service."""
    if item.action is not ItemAction.ADD or item.circuit_id is None:
        return
    circuit = session.get(Circuit, item.circuit_id)
    if circuit is not None and circuit.status in NEVER_CONFIGURED:
        done = give_back_circuit(session, circuit)
        item.reason = f"{item.reason}; {done}" if item.reason else done
        session.add(item)


def _finish_order(
    session: Session, order: ProductOrder, items: list[ProductOrderItem], actor: str
) -> int:
    states = {item.state for item in items}
    if states <= {ItemState.COMPLETED}:
        to, reason = OrderState.COMPLETED, "every item completed"
    elif ItemState.COMPLETED in states:
        failed = [item.item_id for item in items if item.state is not ItemState.COMPLETED]
        to, reason = OrderState.PARTIAL, f"items {', '.join(failed)} did not complete"
    else:
        reasons = "; ".join(f"item {item.item_id}: {item.reason}" for item in items)
        to, reason = OrderState.FAILED, reasons
    order.completed_at = utcnow()
    move_order(session, order, to, reason=reason[:4000], actor=actor)
    return 1


# --- temporary capacity ---------------------------------------------------------------------


def _release_one(
    session: Session, order: ProductOrder, today: date, target: str | None, actor: str
) -> int:
    if order.requested_end_date is None or order.requested_end_date >= today:
        return 0
    steps = 0
    for item in order_items(session, order):
        if item.action is not ItemAction.ADD or item.state is not ItemState.COMPLETED:
            continue
        if item.released_at is not None:
            continue
        steps += _release_item(session, order, item, target, actor)
    return steps


def _release_item(
    session: Session, order: ProductOrder, item: ProductOrderItem, target: str | None, actor: str
) -> int:
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    item.released_at = utcnow()
    session.add(item)
    if circuit is None or circuit.status is CircuitStatus.TERMINATED:
        return 1
    if circuit.service_type is not ServiceType.ETHERNET_ELINE:
        # Nothing on the routers: the inventory gives its strands, ports or rack back, and
        # the NOC unplugs it on site.
        assert circuit.id is not None
        update = CircuitUpdate(status=CircuitStatus.TERMINATED)
        service.update_object(session, service.CIRCUITS, circuit.id, update)
        return 1
    with session.begin_nested():
        job = create_job(session, JobKind.DEPROVISION, [circuit.ref], actor=actor, target=target)
    logger.info(
        "order %s: temporary circuit %s released after %s: job %s",
        order.id,
        circuit.ref,
        order.requested_end_date,
        job.id,
    )
    return 1


# --- the NOC's field work -------------------------------------------------------------------


def complete_field_item(
    session: Session, order: ProductOrder, item_id: str, *, actor: str
) -> ProductOrder:
    """A NOC engineer says the field work of an item is done: an added circuit becomes
    active (a deleted one terminated) and the item completed; the order completes with its
    last item."""
    lock_order(session, order)
    item = next((i for i in order_items(session, order) if i.item_id == item_id), None)
    if item is None:
        raise NotFound.of("path.itemId", f"order {order.id} has no item {item_id!r}")
    if order.state is not OrderState.IN_PROGRESS or item.state is not ItemState.IN_PROGRESS:
        raise InvalidInput.of(
            "state",
            f"item {item_id} of order {order.id} is {item.state.value} in a "
            f"{order.state.value} order; only an item in progress is completed",
        )
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    if circuit is None or circuit.service_type is ServiceType.ETHERNET_ELINE:
        raise InvalidInput.of(
            "path.itemId", f"item {item_id} is carried out by provisioning jobs, not by hand"
        )
    _finish_field_circuit(session, circuit, item.action)
    reason = f"field work done; circuit {circuit.ref} {circuit.status}"
    move_item(session, order, item, ItemState.COMPLETED, reason=reason, actor=actor)
    items = order_items(session, order)
    if all(i.state not in (ItemState.ACKNOWLEDGED, ItemState.IN_PROGRESS) for i in items):
        _finish_order(session, order, items, actor)
    return order


def _finish_field_circuit(session: Session, circuit: Circuit, action: ItemAction) -> None:
    """A reserved circuit is built: designed, then active (the inventory's lifecycle has
    no shortcut); a deleted one is terminated, which releases what it holds."""
    assert circuit.id is not None
    if action is ItemAction.DELETE:
        steps = [CircuitStatus.TERMINATED]
    else:
        path = [CircuitStatus.DESIGNED, CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE]
        steps = path[path.index(circuit.status) + 1 :] if circuit.status in path else path
    for status in steps:
        update = CircuitUpdate(status=status)
        service.update_object(session, service.CIRCUITS, circuit.id, update)
