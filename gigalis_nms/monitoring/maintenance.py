"""Maintenance windows: planned work on a router, a fibre cable or a whole site, declared in
advance, with the circuits (and so the operators) it puts at risk.

What a window covers is one rule, read two ways:

- :func:`affected_circuits` lists, for the NOC's notice to operators, the circuits in service
  whose ends are on the window's router or at its site, whose designed path (working or
  protection) runs over a backbone link with an end there or riding the window's cable, and
  the dark fibres holding strands of that cable. A protected circuit that loses only one of
  its two paths stays up on the other: it is listed as *at risk only*.
- :func:`covering_window` answers the poller, when it opens an incident on a failing router,
  port or backbone link: is there a window that makes the outage planned?

A site means what is at the site: its routers' ports and links, and the circuits ending
there. Cables that only pass through a site's chamber are not counted: work on them is
declared on the cable.

The circuits are read from today's network, not the network as it was: the list of an old
window shows the circuits in service now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import fits_row_id, table_of, utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.tables import (
    CABLE,
    CIRCUIT,
    DEVICE,
    INTERFACE,
    LINK,
    ORGANISATION,
    SITE,
    STRAND,
    STRAND_HOLDING,
)
from gigalis_nms.monitoring.models import FailingKind, MaintenanceWindow, SubjectKind
from gigalis_nms.monitoring.wording import instant_problem, text_problem
from gigalis_nms.provisioning.models import CircuitHop, PathRole

logger = logging.getLogger(__name__)

# Longer work is declared as several windows, each announced to the operators: a month-long
# window would exclude a month of outages from the SLA on one notice.
LONGEST_WINDOW = timedelta(days=7)
REASON_MAX = 500
REFERENCE_MAX = 100

HOP = table_of(CircuitHop)
WINDOW = table_of(MaintenanceWindow)

# The table and the column naming each kind of subject.
SUBJECT_NAMES = {
    SubjectKind.DEVICE: (DEVICE, "hostname"),
    SubjectKind.CABLE: (CABLE, "code"),
    SubjectKind.SITE: (SITE, "code"),
}


class WindowState(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Subject:
    """What work is declared on: a router, a cable or a site, by id."""

    kind: SubjectKind
    id: int

    @classmethod
    def of(cls, window: MaintenanceWindow) -> Subject:
        return cls(window.subject_kind, window.subject_id)


class AffectedCircuit(BaseModel):
    circuit_id: int
    ref: str
    operator_id: int
    operator: str
    status: CircuitStatus
    protected: bool
    # A protected circuit losing one path only: it stays up on the other, unprotected.
    at_risk_only: bool


# --- declaring and cancelling -------------------------------------------------------------


def declare_window(
    session: Session,
    *,
    subject_kind: SubjectKind,
    subject: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    reference: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> MaintenanceWindow:
    """Declare work on the router, cable or site named ``subject`` (hostname or code) from
    ``starts_at`` to ``ends_at``; every problem with the request is reported at once."""
    problems = _time_problems(starts_at, ends_at, now or utcnow())
    problems += _text_problems(reason, reference)
    subject_id, name = _find_subject(session, subject_kind, subject)
    if subject_id is None:
        problems.append(FieldProblem("subject", f"no {subject_kind} {subject!r}"))
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)

    assert subject_id is not None
    assert name is not None
    window = MaintenanceWindow(
        subject_kind=subject_kind,
        subject_id=subject_id,
        subject=name,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        reason=reason.strip(),
        reference=(reference or "").strip() or None,
        declared_by=actor,
    )
    session.add(window)
    session.flush()
    logger.info(
        "maintenance window %s on %s %s declared by %s", window.id, subject_kind, name, actor
    )
    return window


def _time_problems(starts_at: datetime, ends_at: datetime, now: datetime) -> list[FieldProblem]:
    unusable = [
        problem
        for field, moment in (("starts_at", starts_at), ("ends_at", ends_at))
        if (problem := instant_problem(moment, field)) is not None
    ]
    if unusable:
        return unusable
    if ends_at <= starts_at:
        return [FieldProblem("ends_at", "must be after starts_at")]
    if ends_at - starts_at > LONGEST_WINDOW:
        return [FieldProblem("ends_at", "a window lasts at most 7 days: declare several")]
    if ends_at <= now:
        # Planned work is announced before it is done, not recorded afterwards.
        return [FieldProblem("ends_at", "already past: a window is declared before the work")]
    return []


def _text_problems(reason: str, reference: str | None) -> list[FieldProblem]:
    problems = []
    if not reason.strip():
        problems.append(FieldProblem("reason", "required: what the work is, for the operators"))
    elif len(reason.strip()) > REASON_MAX:
        problems.append(FieldProblem("reason", f"at most {REASON_MAX} characters"))
    if reference is not None and len(reference.strip()) > REFERENCE_MAX:
        problems.append(FieldProblem("reference", f"at most {REFERENCE_MAX} characters"))
    for text, field in ((reason, "reason"), (reference or "", "reference")):
        if (problem := text_problem(text, field)) is not None:
            problems.append(problem)
    return problems


def _find_subject(session: Session, kind: SubjectKind, name: str) -> tuple[int | None, str | None]:
    table, column = SUBJECT_NAMES[kind]
    row = execute_core(
        session,
        sa.select(table.c.id, table.c[column].label("name")).where(table.c[column] == name.strip()),
    ).first()
    return (None, None) if row is None else (row.id, row.name)


def get_window(session: Session, window_id: int) -> MaintenanceWindow:
    window = session.get(MaintenanceWindow, window_id) if fits_row_id(window_id) else None
    if window is None:
        raise NotFound.of("maintenance_window", f"no maintenance window {window_id}")
    return window


def cancel_window(
    session: Session, window_id: int, actor: str, *, now: datetime | None = None
) -> MaintenanceWindow:
    """Call the work off: from now on the window makes no new outage planned. Outages it
    already covered stay planned (the notice was given); a window over cannot be cancelled."""
    now = now or utcnow()
    window = get_window(session, window_id)
    if window.cancelled_at is not None:
        raise InvalidInput.of(
            "maintenance_window",
            f"window {window_id} was already cancelled by {window.cancelled_by}",
        )
    if window.ends_at <= now:
        raise InvalidInput.of(
            "maintenance_window", f"window {window_id} is over: only a coming or current one"
        )
    window.cancelled_at = now
    window.cancelled_by = actor
    session.add(window)
    session.flush()
    logger.info("maintenance window %s cancelled by %s", window_id, actor)
    return window


def state_of(window: MaintenanceWindow, now: datetime) -> WindowState:
    if window.cancelled_at is not None:
        return WindowState.CANCELLED
    if now < window.starts_at:
        return WindowState.SCHEDULED
    return WindowState.IN_PROGRESS if now < window.ends_at else WindowState.ENDED


def in_state(states: Iterable[WindowState], now: datetime) -> sa.ColumnElement[bool]:
    """The SQL condition for windows in any of ``states`` at ``now``."""
    live = WINDOW.c.cancelled_at.is_(None)
    conditions = {
        WindowState.CANCELLED: WINDOW.c.cancelled_at.is_not(None),
        WindowState.SCHEDULED: sa.and_(live, WINDOW.c.starts_at > now),
        WindowState.IN_PROGRESS: sa.and_(live, WINDOW.c.starts_at <= now, WINDOW.c.ends_at > now),
        WindowState.ENDED: sa.and_(live, WINDOW.c.ends_at <= now),
    }
    return sa.or_(*(conditions[state] for state in states))


# --- the circuits a window affects ---------------------------------------------------------


def affected_circuits(
    session: Session, target: MaintenanceWindow | Subject
) -> list[AffectedCircuit]:
    """The circuits in service the work puts at risk, by reference."""
    subject = target if isinstance(target, Subject) else Subject.of(target)
    whole = _circuits_ending_under(session, subject)
    hit = _paths_hit(session, subject)
    designed = _designed_paths(session, set(hit) - whole)

    found = []
    for row in _circuit_rows(session, whole | set(hit)):
        at_risk_only = (
            row.id not in whole
            and row.protected
            and PathRole.PROTECT in designed.get(row.id, set())
            and hit[row.id] != designed[row.id]
        )
        found.append(
            AffectedCircuit(
                circuit_id=row.id,
                ref=row.ref,
                operator_id=row.operator_id,
                operator=row.operator,
                status=row.status,
                protected=row.protected,
                at_risk_only=at_risk_only,
            )
        )
    return found


def operators_of(circuits: Iterable[AffectedCircuit]) -> list[str]:
    return sorted({circuit.operator for circuit in circuits})


def _ports_under(subject: Subject) -> sa.Select[tuple[int]]:
    """The ports of the subject's router, or of every router at its site."""
    if subject.kind is SubjectKind.DEVICE:
        return sa.select(INTERFACE.c.id).where(INTERFACE.c.device_id == subject.id)
    return (
        sa.select(INTERFACE.c.id)
        .join(DEVICE, DEVICE.c.id == INTERFACE.c.device_id)
        .where(DEVICE.c.site_id == subject.id)
    )


def _strands_of_cable(cable_id: int) -> sa.Select[tuple[int]]:
    return sa.select(STRAND.c.id).where(STRAND.c.cable_id == cable_id)


def _links_under(subject: Subject) -> sa.Select[tuple[int]]:
    """The backbone links the work can break: an end on the router or at the site, or a
    strand in the cable."""
    if subject.kind is SubjectKind.CABLE:
        return sa.select(STRAND_HOLDING.c.backbone_link_id).where(
            STRAND_HOLDING.c.strand_id.in_(_strands_of_cable(subject.id)),
            STRAND_HOLDING.c.backbone_link_id.is_not(None),
        )
    ports = _ports_under(subject)
    return sa.select(LINK.c.id).where(
        sa.or_(LINK.c.a_interface_id.in_(ports), LINK.c.z_interface_id.in_(ports))
    )


def _circuits_ending_under(session: Session, subject: Subject) -> set[int]:
    """Circuits the work takes down whatever their path: an end on the router or at the
    site, or dark fibre in the cable."""
    condition: sa.ColumnElement[bool]
    if subject.kind is SubjectKind.CABLE:
        condition = CIRCUIT.c.id.in_(
            sa.select(STRAND_HOLDING.c.circuit_id).where(
                STRAND_HOLDING.c.strand_id.in_(_strands_of_cable(subject.id))
            )
        )
    elif subject.kind is SubjectKind.DEVICE:
        ports = _ports_under(subject)
        condition = sa.or_(CIRCUIT.c.a_interface_id.in_(ports), CIRCUIT.c.z_interface_id.in_(ports))
    else:
        condition = sa.or_(CIRCUIT.c.a_site_id == subject.id, CIRCUIT.c.z_site_id == subject.id)
    query = sa.select(CIRCUIT.c.id).where(condition, CIRCUIT.c.status != CircuitStatus.TERMINATED)
    return set(execute_core(session, query).scalars())


def _paths_hit(session: Session, subject: Subject) -> dict[int, set[PathRole]]:
    """Circuit id → which of its designed paths run over a link the work can break."""
    query = (
        sa.select(HOP.c.circuit_id, HOP.c.path)
        .where(HOP.c.backbone_link_id.in_(_links_under(subject)))
        .distinct()
    )
    hit: dict[int, set[PathRole]] = {}
    for row in execute_core(session, query):
        hit.setdefault(row.circuit_id, set()).add(PathRole(row.path))
    return hit


def _designed_paths(session: Session, circuit_ids: set[int]) -> dict[int, set[PathRole]]:
    if not circuit_ids:
        return {}
    query = (
        sa.select(HOP.c.circuit_id, HOP.c.path)
        .where(HOP.c.circuit_id.in_(sorted(circuit_ids)))
        .distinct()
    )
    paths: dict[int, set[PathRole]] = {}
    for row in execute_core(session, query):
        paths.setdefault(row.circuit_id, set()).add(PathRole(row.path))
    return paths


def _circuit_rows(session: Session, circuit_ids: set[int]) -> list[sa.Row[tuple[object, ...]]]:
    if not circuit_ids:
        return []
    query = (
        sa.select(
            CIRCUIT.c.id,
            CIRCUIT.c.ref,
            CIRCUIT.c.operator_id,
            ORGANISATION.c.name.label("operator"),
            CIRCUIT.c.status,
            CIRCUIT.c.protected,
        )
        .join(ORGANISATION, ORGANISATION.c.id == CIRCUIT.c.operator_id)
        .where(CIRCUIT.c.id.in_(sorted(circuit_ids)), CIRCUIT.c.status != CircuitStatus.TERMINATED)
        .order_by(CIRCUIT.c.ref)
    )
    return list(execute_core(session, query))


# --- which window makes an outage planned --------------------------------------------------


def covering_window(
    session: Session, failing_kind: FailingKind, failing_id: int, at: datetime
) -> MaintenanceWindow | None:
    """The window that makes an outage of ``failing_kind`` ``failing_id`` starting ``at``
    planned: not cancelled by then, ``starts_at <= at < ends_at``, declared on the failing
    router or its site (a port: its router), or for a backbone link on either end's router or
    site or a cable it rides. The earliest declared when several do."""
    subjects = covering_subjects(session, failing_kind, failing_id)
    if not subjects:
        return None
    query = (
        select(MaintenanceWindow)
        .where(
            sa.or_(
                *(
                    sa.and_(WINDOW.c.subject_kind == s.kind, WINDOW.c.subject_id == s.id)
                    for s in sorted(subjects, key=lambda s: (s.kind, s.id))
                )
            ),
            _open_at(at),
        )
        .order_by(col(MaintenanceWindow.declared_at), col(MaintenanceWindow.id))
        .limit(1)
    )
    return session.exec(query).first()


def window_covers(
    session: Session,
    window: MaintenanceWindow,
    failing_kind: FailingKind,
    failing_id: int,
    at: datetime,
) -> bool:
    """Whether ``window`` would make that outage planned (see :func:`covering_window`)."""
    if window.cancelled_at is not None and window.cancelled_at <= at:
        return False
    if not window.starts_at <= at < window.ends_at:
        return False
    return Subject.of(window) in covering_subjects(session, failing_kind, failing_id)


def _open_at(at: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        WINDOW.c.starts_at <= at,
        WINDOW.c.ends_at > at,
        sa.or_(WINDOW.c.cancelled_at.is_(None), WINDOW.c.cancelled_at > at),
    )


def covering_subjects(session: Session, kind: FailingKind, failing_id: int) -> set[Subject]:
    """Every router, site and cable whose maintenance covers the failing element."""
    if kind is FailingKind.LINK:
        return _link_subjects(session, failing_id)
    query = sa.select(DEVICE.c.id, DEVICE.c.site_id)
    if kind is FailingKind.INTERFACE:
        query = query.join(INTERFACE, INTERFACE.c.device_id == DEVICE.c.id).where(
            INTERFACE.c.id == failing_id
        )
    else:
        query = query.where(DEVICE.c.id == failing_id)
    subjects = set()
    for row in execute_core(session, query):
        subjects |= {Subject(SubjectKind.DEVICE, row.id), Subject(SubjectKind.SITE, row.site_id)}
    return subjects


def _link_subjects(session: Session, link_id: int) -> set[Subject]:
    ends = (
        sa.select(DEVICE.c.id, DEVICE.c.site_id)
        .join(INTERFACE, INTERFACE.c.device_id == DEVICE.c.id)
        .join(
            LINK,
            sa.or_(
                LINK.c.a_interface_id == INTERFACE.c.id, LINK.c.z_interface_id == INTERFACE.c.id
            ),
        )
        .where(LINK.c.id == link_id)
    )
    subjects = set()
    for row in execute_core(session, ends):
        subjects |= {Subject(SubjectKind.DEVICE, row.id), Subject(SubjectKind.SITE, row.site_id)}
    cables = (
        sa.select(STRAND.c.cable_id)
        .join(STRAND_HOLDING, STRAND_HOLDING.c.strand_id == STRAND.c.id)
        .where(STRAND_HOLDING.c.backbone_link_id == link_id)
        .distinct()
    )
    subjects |= {
        Subject(SubjectKind.CABLE, cable) for cable in execute_core(session, cables).scalars()
    }
    return subjects


# --- reading -------------------------------------------------------------------------------


class WindowView(BaseModel):
    """A window with the circuits and operators it affects (for an operator: its own)."""

    id: int
    subject_kind: SubjectKind
    subject: str
    starts_at: datetime
    ends_at: datetime
    state: WindowState
    reason: str
    reference: str | None
    declared_by: str | None  # staff only
    declared_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None  # staff only
    circuits: list[AffectedCircuit]
    operators: list[str]


def view_window(
    session: Session,
    window: MaintenanceWindow | int,
    *,
    tenant: int | None = None,
    now: datetime | None = None,
) -> WindowView:
    """The window and what it affects; NotFound for an operator none of whose circuits it
    affects, as if it did not exist."""
    found = get_window(session, window) if isinstance(window, int) else window
    view = _view(session, found, tenant, now or utcnow())
    if view is None:
        raise NotFound.of("maintenance_window", f"no maintenance window {found.id}")
    return view


def list_windows(
    session: Session,
    *,
    states: Iterable[WindowState] = (),
    tenant: int | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[WindowView]]:
    """Windows, latest start first, in any of ``states`` (all when none)."""
    now = now or utcnow()
    query = select(MaintenanceWindow).order_by(
        col(MaintenanceWindow.starts_at).desc(), col(MaintenanceWindow.id).desc()
    )
    wanted = list(states)
    if wanted:
        query = query.where(in_state(wanted, now))
    if tenant is None:
        count = execute_core(
            session, sa.select(sa.func.count()).select_from(query.subquery())
        ).scalar_one()
        windows = session.exec(query.limit(limit).offset(offset)).all()
        return count, [_staff_view(session, window, now) for window in windows]
    # An operator's windows are those affecting its circuits, known only once each window's
    # circuits are read: every window is read, a few queries each. Fine for the windows of
    # a few years; a table of circuits per window would be needed beyond that.
    views = [_view(session, window, tenant, now) for window in session.exec(query).all()]
    mine = [view for view in views if view is not None]
    return len(mine), mine[offset : offset + limit]


def _staff_view(session: Session, window: MaintenanceWindow, now: datetime) -> WindowView:
    view = _view(session, window, None, now)
    assert view is not None
    return view


def _view(
    session: Session, window: MaintenanceWindow, tenant: int | None, now: datetime
) -> WindowView | None:
    circuits = affected_circuits(session, window)
    if tenant is not None:
        circuits = [circuit for circuit in circuits if circuit.operator_id == tenant]
        if not circuits:
            return None
    assert window.id is not None
    staff = tenant is None
    return WindowView(
        id=window.id,
        subject_kind=window.subject_kind,
        subject=window.subject,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        state=state_of(window, now),
        reason=window.reason,
        reference=window.reference,
        declared_by=window.declared_by if staff else None,
        declared_at=window.declared_at,
        cancelled_at=window.cancelled_at,
        cancelled_by=window.cancelled_by if staff else None,
        circuits=circuits,
        operators=operators_of(circuits),
    )
