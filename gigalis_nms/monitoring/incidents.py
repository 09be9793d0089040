"""Incidents as the NOC and the operators read them, and the NOC's reclassification.

The poller opens and closes incidents (unplanned by default, planned inside a maintenance
window); the NOC can then say what really happened — customer-caused, force majeure, planned
after all, or unplanned again — with a comment. The ORM write is audited with the values
before, so each reclassification can be traced.

An operator reads only the incidents that took one of its circuits down, and inside them
only its own circuits' outages: never another operator's circuit references. The NOC's
comment and name are left out of its view too, since a comment may well name another
operator or its circuit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, select

from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import fits_row_id, table_of, utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory.tables import CIRCUIT, ORGANISATION
from gigalis_nms.monitoring.maintenance import window_covers
from gigalis_nms.monitoring.models import FailingKind, Incident, IncidentCircuit, MaintenanceWindow
from gigalis_nms.monitoring.report import StoredCounts, restate_stored
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.monitoring.wording import text_problem

logger = logging.getLogger(__name__)

COMMENT_MAX = 2000
INCIDENT = table_of(Incident)
OUTAGE = table_of(IncidentCircuit)


class IncidentState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class OutageView(BaseModel):
    """One circuit's outage inside an incident."""

    circuit_id: int
    circuit: str  # its reference
    operator_id: int
    operator: str
    started_at: datetime
    ended_at: datetime | None  # None while it lasts
    duration_seconds: int  # to its end, or so far


class IncidentView(BaseModel):
    id: int
    state: IncidentState
    opened_at: datetime
    closed_at: datetime | None
    failing_kind: FailingKind
    failing_id: int
    failing: str
    cause: OutageCause
    maintenance_window_id: int | None
    comment: str | None  # the NOC's; not shown to operators
    classified_by: str | None  # not shown to operators
    classified_at: datetime | None
    outages: list[OutageView]


# --- reclassification ------------------------------------------------------------------------


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id) if fits_row_id(incident_id) else None
    if incident is None:
        raise NotFound.of("incident", f"no incident {incident_id}")
    return incident


def reclassify(
    session: Session,
    incident_id: int,
    cause: OutageCause,
    comment: str,
    actor: str,
    *,
    catalogue: Catalogue,
    maintenance_window_id: int | None = None,
    now: datetime | None = None,
) -> list[StoredCounts]:
    """Give the incident its real cause, with the reason in ``comment``. ``planned`` names
    the maintenance window it happened in, which must cover it; any other cause names none.

    Monthly SLA results already stored for its circuits, and not billed yet, are computed
    again in the same transaction (``catalogue`` gives the circuits' SLA terms); what was
    restated is returned, month by month, billed results counted as kept."""
    incident = get_incident(session, incident_id)
    problems = _comment_problems(comment)
    problems += _window_problems(session, incident, cause, maintenance_window_id)
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)

    before = incident.cause
    incident.cause = cause
    incident.maintenance_window_id = maintenance_window_id
    incident.comment = comment.strip()
    incident.classified_by = actor
    incident.classified_at = now or utcnow()
    session.add(incident)
    session.flush()
    circuits = session.exec(
        select(IncidentCircuit.circuit_id).where(IncidentCircuit.incident_id == incident.id)
    ).all()
    restated = restate_stored(session, catalogue, set(circuits))
    logger.info("incident %s reclassified %s → %s by %s", incident_id, before, cause, actor)
    return restated


def _comment_problems(comment: str) -> list[FieldProblem]:
    if not comment.strip():
        return [FieldProblem("comment", "required: why the cause is what it is")]
    if len(comment.strip()) > COMMENT_MAX:
        return [FieldProblem("comment", f"at most {COMMENT_MAX} characters")]
    problem = text_problem(comment, "comment")
    return [problem] if problem is not None else []


def _window_problems(
    session: Session, incident: Incident, cause: OutageCause, window_id: int | None
) -> list[FieldProblem]:
    field = "maintenance_window_id"
    if cause is not OutageCause.PLANNED:
        if window_id is None:
            return []
        return [FieldProblem(field, "only a planned outage names a maintenance window")]
    if window_id is None:
        return [FieldProblem(field, "required: a planned outage names its maintenance window")]
    window = session.get(MaintenanceWindow, window_id) if fits_row_id(window_id) else None
    if window is None:
        return [FieldProblem(field, f"no maintenance window {window_id}")]
    # Planned means announced: a window declared once the outage had begun told nobody.
    if window.declared_at > incident.opened_at:
        return [FieldProblem(field, f"window {window_id} was declared after the incident began")]
    if not window_covers(
        session, window, incident.failing_kind, incident.failing_id, incident.opened_at
    ):
        return [
            FieldProblem(
                field,
                f"window {window_id} ({window.subject_kind} {window.subject}) does not cover "
                f"{incident.failing} at {incident.opened_at:%Y-%m-%d %H:%M} UTC",
            )
        ]
    return []


# --- reading -------------------------------------------------------------------------------


def list_incidents(
    session: Session,
    *,
    state: IncidentState | None = None,
    circuit: str | None = None,
    operator_id: int | None = None,
    cause: OutageCause | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: int | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[IncidentView]]:
    """Incidents, newest first, with their outages; ``since``/``until``: those overlapping
    that period. ``tenant``: an operator's view (see the module's docstring)."""
    where = _incident_conditions(state, cause, since, until)
    outage_filters = _outage_conditions(circuit, operator_id, tenant)
    if outage_filters:
        where.append(INCIDENT.c.id.in_(_incidents_with_outages(outage_filters)))
    count = execute_core(
        session, sa.select(sa.func.count()).select_from(INCIDENT).where(*where)
    ).scalar_one()
    page = (
        sa.select(INCIDENT)
        .where(*where)
        .order_by(INCIDENT.c.opened_at.desc(), INCIDENT.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = list(execute_core(session, page).mappings())
    outages = _outages_of(session, [row["id"] for row in rows], tenant, now or utcnow())
    return count, [_view(row, outages.get(row["id"], []), tenant) for row in rows]


def view_incident(
    session: Session, incident_id: int, *, tenant: int | None = None, now: datetime | None = None
) -> IncidentView:
    """One incident with its outages; NotFound for an operator none of whose circuits it
    took down."""
    incident = get_incident(session, incident_id)
    outages = _outages_of(session, [incident_id], tenant, now or utcnow()).get(incident_id, [])
    if tenant is not None and not outages:
        raise NotFound.of("incident", f"no incident {incident_id}")
    return _view(incident.model_dump(), outages, tenant)


def _incident_conditions(
    state: IncidentState | None,
    cause: OutageCause | None,
    since: datetime | None,
    until: datetime | None,
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if state is IncidentState.OPEN:
        where.append(INCIDENT.c.closed_at.is_(None))
    elif state is IncidentState.CLOSED:
        where.append(INCIDENT.c.closed_at.is_not(None))
    if cause is not None:
        where.append(INCIDENT.c.cause == cause)
    if since is not None:
        where.append(sa.or_(INCIDENT.c.closed_at.is_(None), INCIDENT.c.closed_at > since))
    if until is not None:
        where.append(INCIDENT.c.opened_at < until)
    return where


def _outage_conditions(
    circuit: str | None, operator_id: int | None, tenant: int | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if circuit is not None:
        where.append(CIRCUIT.c.ref == circuit)
    if operator_id is not None:
        where.append(CIRCUIT.c.operator_id == operator_id)
    if tenant is not None:
        where.append(CIRCUIT.c.operator_id == tenant)
    return where


def _incidents_with_outages(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select[tuple[int]]:
    return (
        sa.select(OUTAGE.c.incident_id)
        .join(CIRCUIT, CIRCUIT.c.id == OUTAGE.c.circuit_id)
        .where(*where)
    )


def _outages_of(
    session: Session, incident_ids: list[int], tenant: int | None, now: datetime
) -> dict[int, list[OutageView]]:
    if not incident_ids:
        return {}
    query = (
        sa.select(
            OUTAGE.c.incident_id,
            OUTAGE.c.circuit_id,
            CIRCUIT.c.ref,
            CIRCUIT.c.operator_id,
            ORGANISATION.c.name.label("operator"),
            OUTAGE.c.started_at,
            OUTAGE.c.ended_at,
        )
        .join(CIRCUIT, CIRCUIT.c.id == OUTAGE.c.circuit_id)
        .join(ORGANISATION, ORGANISATION.c.id == CIRCUIT.c.operator_id)
        .where(OUTAGE.c.incident_id.in_(incident_ids), *_outage_conditions(None, None, tenant))
        .order_by(OUTAGE.c.incident_id, CIRCUIT.c.ref, OUTAGE.c.started_at)
    )
    found: dict[int, list[OutageView]] = {}
    for row in execute_core(session, query):
        found.setdefault(row.incident_id, []).append(
            OutageView(
                circuit_id=row.circuit_id,
                circuit=row.ref,
                operator_id=row.operator_id,
                operator=row.operator,
                started_at=row.started_at,
                ended_at=row.ended_at,
                duration_seconds=int(((row.ended_at or now) - row.started_at).total_seconds()),
            )
        )
    return found


def _view(
    row: dict[str, object] | sa.RowMapping, outages: list[OutageView], tenant: int | None
) -> IncidentView:
    staff = tenant is None
    return IncidentView.model_validate(
        {
            **row,
            "state": IncidentState.OPEN if row["closed_at"] is None else IncidentState.CLOSED,
            "comment": row["comment"] if staff else None,
            "classified_by": row["classified_by"] if staff else None,
            "outages": outages,
        }
    )
