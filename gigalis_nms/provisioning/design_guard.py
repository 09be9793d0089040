"""Keeps circuit designs true to the inventory, whichever code changes a circuit.

The inventory knows nothing of designs (data flows from inventory to provisioning, never
back), yet a change made there can leave a design wrong. A session listener, registered on
import (:mod:`gigalis_nms.db.metadata` imports this module, as it does the audit log), looks
at every circuit about to be flushed:

- a circuit that becomes terminated loses its design and hops, so that its VNI is free
  again (the inventory itself releases the bandwidth and VLANs it held);
- a circuit with a design whose end ports or sites change is refused: the design's path and
  the configuration on the routers join the old ends. It is undesigned (or deprovisioned)
  first, and designed again afterwards.

A new bandwidth needs nothing here: the inventory moves every bandwidth holding of the
circuit, which are exactly those of its hops' links.

Bulk writers that bypass the ORM (the inventory loader) are not seen: a circuit terminated
or moved through ``inventory/`` files keeps its design until it is undesigned.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlmodel import Session, col, select

from gigalis_nms.db.types import table_of
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.provisioning.models import CircuitDesign, CircuitHop

logger = logging.getLogger(__name__)

# The fields that say where a circuit ends; the design's path joins the routers they name.
END_FIELDS = ("a_site_id", "a_interface_id", "z_site_id", "z_interface_id")


def follow_circuit_changes(session: Session, _context: Any, _instances: Any) -> None:
    """The before_flush listener: drop the designs of circuits being terminated, refuse
    moving the ends of circuits that have one."""
    circuits = [obj for obj in session.dirty if isinstance(obj, Circuit)]
    if not circuits:
        return
    terminated = [c for c in circuits if c.status is CircuitStatus.TERMINATED]
    for circuit in terminated:
        _drop_design(session, circuit)
    moving = [c for c in circuits if c not in terminated and _ends_touched(c)]
    if moving:
        _refuse_moving_designed(session, moving)


def _drop_design(session: Session, circuit: Circuit) -> None:
    """Delete the design and hops of a terminated circuit through the ORM, in this flush, so
    that the audit log records each row."""
    design = session.exec(
        select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit.id)
    ).first()
    hops = session.exec(select(CircuitHop).where(col(CircuitHop.circuit_id) == circuit.id)).all()
    if design is None and not hops:
        return
    for row in [*hops, *([design] if design is not None else [])]:
        session.delete(row)
    vni = design.vni if design is not None else None
    logger.info(
        "circuit %s terminated: its design (VNI %s) and %d hops deleted",
        circuit.ref,
        vni,
        len(hops),
    )


def _ends_touched(circuit: Circuit) -> bool:
    """Whether an end field was set since the circuit was read (perhaps to the same value:
    the database row decides, in :func:`_moved_ends`)."""
    state = inspect(circuit)
    return any(state.attrs[name].history.has_changes() for name in END_FIELDS)


def _refuse_moving_designed(session: Session, circuits: list[Circuit]) -> None:
    by_id = {circuit.id: circuit for circuit in circuits if circuit.id is not None}
    stored = _stored_ends(session, list(by_id))
    designed = _designed(session, list(by_id))
    for circuit_id in sorted(designed & set(stored)):
        circuit = by_id[circuit_id]
        moved = [name for name in END_FIELDS if getattr(circuit, name) != stored[circuit_id][name]]
        if moved:
            raise InvalidInput.of(
                moved[0],
                f"circuit {circuit.ref} is designed: undesign it (or deprovision it) before "
                "moving its ends",
            )


def _stored_ends(session: Session, circuit_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The ends as the database has them now, before this flush."""
    table = table_of(Circuit)
    query = sa.select(table.c.id, *(table.c[name] for name in END_FIELDS)).where(
        table.c.id.in_(circuit_ids)
    )
    return {row.id: dict(row._mapping) for row in session.connection().execute(query)}


def _designed(session: Session, circuit_ids: list[int]) -> set[int]:
    """The circuits that will have a design after this flush: those stored (less the designs
    being deleted in it) and those being added in it."""
    deleted = {obj.id for obj in session.deleted if isinstance(obj, CircuitDesign)}
    stored = session.exec(
        select(CircuitDesign.circuit_id, CircuitDesign.id).where(
            col(CircuitDesign.circuit_id).in_(circuit_ids)
        )
    ).all()
    added = {
        obj.circuit_id
        for obj in session.new
        if isinstance(obj, CircuitDesign) and obj.circuit_id in circuit_ids
    }
    return {circuit_id for circuit_id, design_id in stored if design_id not in deleted} | added


# Inserted first, so that the audit log's listener (registered on import of
# gigalis_nms.audit) sees the rows this one deletes.
event.listen(Session, "before_flush", follow_circuit_changes, insert=True)
