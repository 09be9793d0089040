"""Circuits' outages over a period, read from the incident log as the SLA arithmetic wants
them: one :class:`Outage` per circuit per incident, with the incident's cause.

A planned outage is planned only inside its maintenance window: work that overruns the
window it was declared for is an ordinary, unplanned outage from the window's end (the
operator was told of the window, not of the overrun). A window cancelled while the outage
lasts covers it up to the cancellation: from then on the work is called off, and a circuit
still down is down for another reason.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.monitoring.models import Incident, IncidentCircuit, MaintenanceWindow
from gigalis_nms.monitoring.sla import Outage, OutageCause

# Circuit ids per query: under the bind-parameter limits of both databases.
CHUNK = 5_000


def outages_between(
    session: Session,
    start: datetime,
    end: datetime,
    circuit_ids: Collection[int] | None = None,
) -> dict[int, list[Outage]]:
    """Circuit id → its outages that overlap [start, end), ongoing ones with ``end`` None.

    Outages are returned whole (not clipped to the period): the GTR of an incident that
    started the month before is measured from its real start.
    """
    found: dict[int, list[Outage]] = {}
    for row in _rows(session, start, end, circuit_ids):
        window_end = row.window_end
        if row.window_cancelled is not None and window_end is not None:
            window_end = min(window_end, row.window_cancelled)
        for outage in split_at_window_end(
            Outage(row.started_at, row.ended_at, OutageCause(row.cause)), window_end
        ):
            found.setdefault(row.circuit_id, []).append(outage)
    return found


def split_at_window_end(outage: Outage, window_end: datetime | None) -> list[Outage]:
    """A planned outage as planned up to its window's end, unplanned beyond it."""
    if outage.cause is not OutageCause.PLANNED or window_end is None:
        return [outage]
    if outage.start >= window_end:
        return [Outage(outage.start, outage.end, OutageCause.UNPLANNED)]
    if outage.end is not None and outage.end <= window_end:
        return [outage]
    return [
        Outage(outage.start, window_end, OutageCause.PLANNED),
        Outage(window_end, outage.end, OutageCause.UNPLANNED),
    ]


def _rows(
    session: Session, start: datetime, end: datetime, circuit_ids: Collection[int] | None
) -> Iterator[sa.Row[tuple[int, datetime, datetime | None, str, datetime | None, datetime | None]]]:
    outage, incident = table_of(IncidentCircuit), table_of(Incident)
    window = table_of(MaintenanceWindow)
    query = (
        sa.select(
            outage.c.circuit_id,
            outage.c.started_at,
            outage.c.ended_at,
            incident.c.cause,
            window.c.ends_at.label("window_end"),
            window.c.cancelled_at.label("window_cancelled"),
        )
        .join(incident, incident.c.id == outage.c.incident_id)
        .outerjoin(window, window.c.id == incident.c.maintenance_window_id)
        .where(
            outage.c.started_at < end,
            sa.or_(outage.c.ended_at.is_(None), outage.c.ended_at > start),
        )
        .order_by(outage.c.circuit_id, outage.c.started_at)
    )
    # Fetched at once (all()): row by row, the driver's cursor costs more than the rows.
    if circuit_ids is None:
        yield from execute_core(session, query).all()
        return
    ids = sorted(circuit_ids)
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        yield from execute_core(session, query.where(outage.c.circuit_id.in_(chunk))).all()
