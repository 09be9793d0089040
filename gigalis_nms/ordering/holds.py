"""Capacity held by a qualification: taken over by an order, given back, or expired.

A hold is a reserved circuit (an E-Line designed at once, so that its bandwidth is held on
every link of its path) recorded on the qualification as ``held_circuit_id`` with
``hold_state`` HELD until ``hold_expires_at``. Whoever moves a hold out of HELD does so by one
conditional UPDATE (``… WHERE hold_state = 'held'``), and only the transaction whose UPDATE
changed the row goes on: an order taking the hold and the expiry job, or two expiry jobs in
two processes, can never both act on one hold.

The answer stored with the qualification (what GET serves) follows the hold: its item's
``holdState`` (Gigalis extension) says held, ordered, expired or released, and once the
circuit is deleted the answer no longer links to it but says when and why it went
(``holdNote``).
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import Conflict, InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.ordering.models import HoldState, Qualification
from gigalis_nms.provisioning.design import UNDESIGNABLE, undesign_circuit

logger = logging.getLogger(__name__)

QUALIFICATION = table_of(Qualification)
HELD_QUALIFICATION_FIELD = "productOfferingQualificationItem.productOfferingQualificationId"
EXPIRY_ACTOR = "ordering:hold-expiry"


def _claim(
    session: Session, qualification_id: int, to: HoldState, *, unexpired_at: datetime | None
) -> bool:
    """Move a HELD qualification to ``to``; whether this transaction is the one that did.
    ``unexpired_at``: only if the hold runs beyond that time."""
    conditions = [
        QUALIFICATION.c.id == qualification_id,
        QUALIFICATION.c.hold_state == HoldState.HELD,
    ]
    if unexpired_at is not None:
        conditions.append(QUALIFICATION.c.hold_expires_at > unexpired_at)
    update = sa.update(QUALIFICATION).where(*conditions).values(hold_state=to)
    claimed = cast(sa.CursorResult[Any], execute_core(session, update)).rowcount == 1
    if claimed:
        # The ORM's copy, if any, must not write the old state back over the new one.
        cached = session.get(Qualification, qualification_id)
        if cached is not None:
            session.refresh(cached)
    return claimed


def take_held_circuit(
    session: Session, qualification_id: int, *, operator_id: int, offering_id: str, actor: str
) -> Circuit:
    """The circuit a qualification holds, for an order to take over: the qualification becomes
    ORDERED. NotFound naming the qualification field for another operator's or an unknown
    qualification; InvalidInput for another offer, or a hold that is not (any longer) there."""
    field = HELD_QUALIFICATION_FIELD
    qualification = session.get(Qualification, qualification_id)
    if qualification is None or qualification.operator_id != operator_id:
        raise NotFound.of(field, f"no qualification {qualification_id}")
    if qualification.offering_id != offering_id:
        raise InvalidInput.of(
            field,
            f"qualification {qualification_id} is for offer {qualification.offering_id}, "
            f"not {offering_id}",
        )
    now = utcnow()
    if not _claim(session, qualification_id, HoldState.ORDERED, unexpired_at=now):
        raise InvalidInput.of(field, _why_not_held(session, qualification, now))
    circuit = session.get(Circuit, qualification.held_circuit_id)
    if circuit is None:  # SET NULL by a deletion outside this module
        raise InvalidInput.of(field, f"qualification {qualification_id} holds no circuit any more")
    service.update_object(
        session,
        service.CIRCUITS,
        _id(circuit),
        CircuitUpdate(description=f"ordered from qualification {qualification_id}"),
    )
    _tell_answer(qualification, HoldState.ORDERED, f"taken over by an order at {_iso(now)}")
    logger.info(
        "qualification %s: held circuit %s taken over by %s", qualification_id, circuit.ref, actor
    )
    return circuit


def _why_not_held(session: Session, qualification: Qualification, now: datetime) -> str:
    session.refresh(qualification)
    name = f"qualification {qualification.id}"
    if qualification.hold_state is HoldState.HELD:
        return f"{name}: its hold expired at {qualification.hold_expires_at:%Y-%m-%dT%H:%M:%SZ}"
    reasons = {
        HoldState.NONE: "holds no capacity (ask with holdCapacity: true)",
        HoldState.ORDERED: "its capacity was already taken by an order",
        HoldState.EXPIRED: "its hold expired",
        HoldState.RELEASED: "its hold was released",
    }
    return f"{name}: {reasons[qualification.hold_state]}"


def release_hold(session: Session, qualification: Qualification, *, actor: str) -> bool:
    """Give a held qualification's capacity back before its expiry (its circuit is deleted);
    whether there was a hold to release."""
    assert qualification.id is not None
    if not _claim(session, qualification.id, HoldState.RELEASED, unexpired_at=None):
        return False
    ref = _delete_held_circuit(session, qualification)
    _tell_answer(qualification, HoldState.RELEASED, f"released at {_iso(utcnow())}", gone=ref)
    logger.info("qualification %s: hold released by %s", qualification.id, actor)
    return True


def expire_holds(engine_or_session: Engine | Session, now: datetime) -> list[int]:
    """Release every hold whose expiry is at or before ``now``: its circuit is undesigned and
    deleted, the qualification EXPIRED. The ids of the qualifications expired. With an engine,
    each hold is released in its own transaction (one failure does not keep the others); with
    a session, in that session's transaction."""
    if isinstance(engine_or_session, Session):
        return [
            number
            for number in _due(engine_or_session, now)
            if _expire_one(engine_or_session, number)
        ]
    with session_scope(engine_or_session, EXPIRY_ACTOR, read_only=True) as session:
        due = _due(session, now)
    expired = []
    for number in due:
        try:
            with session_scope(engine_or_session, EXPIRY_ACTOR) as session:
                if _expire_one(session, number):
                    expired.append(number)
        except (Conflict, InvalidInput) as refused:
            logger.warning("qualification %s: hold not released: %s", number, refused.message)
    return expired


def _due(session: Session, now: datetime) -> list[int]:
    query = (
        sa.select(QUALIFICATION.c.id)
        .where(QUALIFICATION.c.hold_state == HoldState.HELD, QUALIFICATION.c.hold_expires_at <= now)
        .order_by(QUALIFICATION.c.id)
    )
    return list(execute_core(session, query).scalars())


def _expire_one(session: Session, qualification_id: int) -> bool:
    if not _claim(session, qualification_id, HoldState.EXPIRED, unexpired_at=None):
        return False  # taken by an order, released, or expired by a concurrent job meanwhile
    qualification = session.get(Qualification, qualification_id)
    assert qualification is not None
    ref = _delete_held_circuit(session, qualification)
    expired_at = qualification.hold_expires_at or utcnow()
    _tell_answer(qualification, HoldState.EXPIRED, f"expired at {_iso(expired_at)}", gone=ref)
    logger.info("qualification %s: hold expired, circuit %s deleted", qualification_id, ref)
    return True


def _delete_held_circuit(session: Session, qualification: Qualification) -> str | None:
    """Undesign and delete the circuit the qualification held; its reference, if any."""
    circuit = (
        session.exec(
            select(Circuit).where(col(Circuit.id) == qualification.held_circuit_id)
        ).first()
        if qualification.held_circuit_id is not None
        else None
    )
    if circuit is None:
        return None
    ref = circuit.ref
    with session.begin_nested():
        if circuit.status in UNDESIGNABLE:
            undesign_circuit(session, circuit)
        service.delete_object(session, service.CIRCUITS, _id(circuit))
    return ref


def _tell_answer(
    qualification: Qualification, state: HoldState, note: str, *, gone: str | None = None
) -> None:
    """Write what became of the hold into the stored answer; ``gone``: the reference of the
    circuit just deleted, which the answer must no longer link to."""
    answer = copy.deepcopy(qualification.answer)  # a new value, so the JSON column is written
    if gone is not None:
        note = f"{note}; circuit {gone} was deleted and its capacity given back"
    for item in answer.get("productOfferingQualificationItem", []):
        if gone is not None:
            item.pop("heldCircuit", None)
        item["holdState"] = state.value
        item["holdNote"] = note
    qualification.answer = answer
    qualification.hold_state = state
    # SET NULL on the deleted circuit happened in the database, not in this object.
    if gone is not None:
        qualification.held_circuit_id = None


def _iso(moment: datetime) -> str:
    """A UTC time as the answer writes it.

    >>> from datetime import UTC
    >>> _iso(datetime(2025, 3, 1, 9, 30, 5, 123, tzinfo=UTC))
    '2025-03-01T09:30:05Z'
    """
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _id(obj: object) -> int:
    value = getattr(obj, "id", None)
    assert value is not None, "flushed objects have an id"
    return int(value)
