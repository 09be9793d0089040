"""Giving back what an order took when it does not go through: the circuits its ``add``
items opened, the bandwidth its ``modify`` items changed, the qualification holds it took over.

Used when the NOC rejects an order, when an order is cancelled, and when a provisioning job
fails. Only circuits that were never configured on a router are given back here: a circuit
further on is taken off the routers by a deprovisioning job instead.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.ordering.models import HoldState, Qualification
from gigalis_nms.provisioning.design import undesign_circuit

logger = logging.getLogger(__name__)

NEVER_CONFIGURED = frozenset({CircuitStatus.RESERVED, CircuitStatus.DESIGNED})


def _id(circuit: Circuit) -> int:
    assert circuit.id is not None, "a circuit read from the database has an id"
    return circuit.id


def give_back_circuit(session: Session, circuit: Circuit) -> str:
    """Free everything a never-configured circuit holds: its design and bandwidth, then the
    circuit itself (deleted; terminated instead when something, such as a job's record,
    still refers to it). What was done, as a sentence for the order's history."""
    if circuit.status is CircuitStatus.TERMINATED:
        return f"circuit {circuit.ref} was terminated already"
    if circuit.status not in NEVER_CONFIGURED:
        raise InvalidInput.of(
            "status",
            f"circuit {circuit.ref} is {circuit.status}: it is configured on the routers and "
            "needs a deprovisioning job",
        )
    ref = circuit.ref
    _release_qualification(session, circuit)
    undesign_circuit(session, circuit)
    try:
        service.delete_object(session, service.CIRCUITS, _id(circuit))
    except Conflict:
        update = CircuitUpdate(status=CircuitStatus.TERMINATED)
        service.update_object(session, service.CIRCUITS, _id(circuit), update)
        logger.info("circuit %s terminated: its capacity is free again", ref)
        return f"circuit {ref} terminated, its capacity freed"
    logger.info("circuit %s deleted: its capacity is free again", ref)
    return f"circuit {ref} deleted, its capacity freed"


def _release_qualification(session: Session, circuit: Circuit) -> None:
    """A qualification whose held circuit an order took over says that the hold is over."""
    holds = session.exec(
        select(Qualification)
        .where(col(Qualification.held_circuit_id) == circuit.id)
        .where(col(Qualification.hold_state).in_([HoldState.HELD, HoldState.ORDERED]))
    ).all()
    for qualification in holds:  # through the ORM, so that the audit log records it
        qualification.hold_state = HoldState.RELEASED
        session.add(qualification)


def restore_bandwidth(session: Session, circuit: Circuit, mbps: int) -> str:
    """Put a modified circuit's bandwidth back to ``mbps``. Going back down always fits;
    going back up may not, once another order took the room freed: then the circuit keeps
    its new bandwidth and the sentence says so, for the NOC to settle."""
    if circuit.bandwidth_mbps == mbps:
        return f"circuit {circuit.ref} keeps {mbps} Mb/s"
    try:
        with session.begin_nested():
            update = CircuitUpdate(bandwidth_mbps=mbps)
            service.update_object(session, service.CIRCUITS, _id(circuit), update)
    except Conflict as refused:
        logger.warning("circuit %s: bandwidth not restored to %s: %s", circuit.ref, mbps, refused)
        return f"circuit {circuit.ref} could not go back to {mbps} Mb/s: {refused.message}"
    return f"circuit {circuit.ref} back to {mbps} Mb/s"
