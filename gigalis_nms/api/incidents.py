"""Incidents and maintenance windows.

Every token reads them; an operator reads only the incidents that took one of its circuits
down and the windows that affect one, and in both only its own circuits (another's incident
or window answers 404). Declaring and cancelling windows and reclassifying incidents are the
NOC's (admin and noc tokens).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import (
    EVERYONE,
    WRITERS,
    CurrentPrincipal,
    DbSession,
    RoleRequirement,
    Tenant,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import Page, PageParameters, page_response
from gigalis_nms.api.provisioning import refuse_strays
from gigalis_nms.db.listing import PageOfRows
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import InvalidInput
from gigalis_nms.monitoring import incidents, maintenance
from gigalis_nms.monitoring.incidents import IncidentState, IncidentView
from gigalis_nms.monitoring.maintenance import WindowState, WindowView
from gigalis_nms.monitoring.models import SubjectKind
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.monitoring.wording import instant_problem

router = APIRouter(tags=["incidents"], responses=error_responses(401, 403, 404))
readers = (Depends(RoleRequirement(EVERYONE, "read incidents and maintenance windows")),)
reclassifiers = (Depends(RoleRequirement(WRITERS, "reclassify incidents")),)
declarers = (Depends(RoleRequirement(WRITERS, "declare or cancel maintenance windows")),)

INCIDENT_FILTERS = ("state", "circuit", "operator", "cause", "since", "until")
WINDOW_FILTERS = ("state",)
PAGING = ("limit", "offset")

IncidentId = Annotated[RowId, Path(description="the incident's id")]
WindowId = Annotated[RowId, Path(description="the maintenance window's id")]


class ReclassifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cause": "customer", "comment": "CPE powered off at the customer's site"},
                {"cause": "planned", "comment": "splicing overran", "maintenance_window_id": 4},
            ]
        },
    )
    cause: OutageCause
    comment: str = Field(max_length=2000, description="why; required")
    maintenance_window_id: RowId | None = Field(
        default=None, description="for a planned outage: the window it happened in"
    )


class WindowRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_kind": "cable",
                    "subject": "C-NTE1-NTE2",
                    "starts_at": "2026-12-10T22:00:00+01:00",
                    "ends_at": "2026-12-11T04:00:00+01:00",
                    "reason": "cable diversion for the A11 roadworks",
                    "reference": "CHG-2026-118",
                }
            ]
        },
    )
    subject_kind: SubjectKind
    subject: str = Field(max_length=253, description="a hostname, a cable code or a site code")
    starts_at: datetime = Field(description="with its UTC offset")
    ends_at: datetime = Field(description="with its UTC offset; at most 7 days after the start")
    reason: str = Field(max_length=500)
    reference: str | None = Field(default=None, max_length=100, description="a change ticket")


# --- incidents ---------------------------------------------------------------------------


@router.get(
    "/incidents",
    dependencies=readers,
    response_model=Page[IncidentView],
    responses=error_responses(400, 422),
)
def list_incidents(
    *,
    request: Request,
    session: DbSession,
    tenant: Tenant,
    page: PageParameters,
    state: Annotated[IncidentState | None, Query(description="open or closed")] = None,
    circuit: Annotated[str | None, Query(description="a circuit's reference")] = None,
    operator: Annotated[RowId | None, Query(description="an operator's id")] = None,
    cause: Annotated[OutageCause | None, Query(description="unplanned, planned, …")] = None,
    since: Annotated[datetime | None, Query(description="still open at or after")] = None,
    until: Annotated[datetime | None, Query(description="opened before")] = None,
) -> Response:
    """Incidents, newest first, each with the outages it caused (an operator's: only its own
    circuits')."""
    refuse_strays(request, (*INCIDENT_FILTERS, *PAGING))
    problems = [
        problem
        for field, moment in (("since", since), ("until", until))
        if moment is not None and (problem := instant_problem(moment, field)) is not None
    ]
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)
    count, views = incidents.list_incidents(
        session,
        state=state,
        circuit=circuit,
        operator_id=operator,
        cause=cause,
        since=since,
        until=until,
        tenant=tenant,
        limit=page.limit,
        offset=page.offset,
    )
    rows = PageOfRows(count, [view.model_dump() for view in views])
    return page_response(request, IncidentView, page, rows)


@router.get("/incidents/{incident_id}", dependencies=readers, response_model=IncidentView)
def get_incident(incident_id: IncidentId, session: DbSession, tenant: Tenant) -> IncidentView:
    """One incident: what failed, its cause, and every circuit's outage with its duration."""
    return incidents.view_incident(session, incident_id, tenant=tenant)


@router.post(
    "/incidents/{incident_id}/reclassify",
    dependencies=reclassifiers,
    response_model=IncidentView,
    responses=error_responses(415, 422),
)
def reclassify_incident(
    incident_id: IncidentId,
    body: ReclassifyRequest,
    session: DbSession,
    principal: CurrentPrincipal,
    catalogue: ServiceCatalogue,
) -> IncidentView:
    """Give an incident its real cause, with a comment (audited). ``planned`` names the
    maintenance window that covers it; any other cause names none and clears it."""
    incidents.reclassify(
        session,
        incident_id,
        body.cause,
        body.comment,
        principal.actor,
        catalogue=catalogue,
        maintenance_window_id=body.maintenance_window_id,
    )
    return incidents.view_incident(session, incident_id)


# --- maintenance windows ------------------------------------------------------------------


@router.get(
    "/maintenance-windows",
    dependencies=readers,
    response_model=Page[WindowView],
    responses=error_responses(400, 422),
)
def list_maintenance_windows(
    request: Request,
    session: DbSession,
    tenant: Tenant,
    page: PageParameters,
    state: Annotated[
        list[WindowState] | None,
        Query(description="scheduled, in_progress, ended or cancelled; repeat for several"),
    ] = None,
) -> Response:
    """Maintenance windows, latest start first, with the circuits and operators they affect
    (an operator: those affecting its circuits, and only its circuits)."""
    refuse_strays(request, (*WINDOW_FILTERS, *PAGING))
    count, views = maintenance.list_windows(
        session, states=state or (), tenant=tenant, limit=page.limit, offset=page.offset
    )
    rows = PageOfRows(count, [view.model_dump() for view in views])
    return page_response(request, WindowView, page, rows)


@router.post(
    "/maintenance-windows",
    dependencies=declarers,
    status_code=status.HTTP_201_CREATED,
    response_model=WindowView,
    responses=error_responses(415, 422),
)
def declare_maintenance_window(
    body: WindowRequest, session: DbSession, principal: CurrentPrincipal
) -> WindowView:
    """Declare work on a router, a cable or a site: outages it causes inside the window are
    planned. The answer lists the circuits and operators it affects."""
    window = maintenance.declare_window(
        session,
        subject_kind=body.subject_kind,
        subject=body.subject,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        reference=body.reference,
        actor=principal.actor,
    )
    return maintenance.view_window(session, window)


@router.get("/maintenance-windows/{window_id}", dependencies=readers, response_model=WindowView)
def get_maintenance_window(window_id: WindowId, session: DbSession, tenant: Tenant) -> WindowView:
    """One window with the circuits (at risk only: a protected circuit losing one path) and
    operators it affects."""
    return maintenance.view_window(session, window_id, tenant=tenant)


@router.post(
    "/maintenance-windows/{window_id}/cancel",
    dependencies=declarers,
    response_model=WindowView,
    responses=error_responses(422),
)
def cancel_maintenance_window(
    window_id: WindowId, request: Request, session: DbSession, principal: CurrentPrincipal
) -> WindowView:
    """Call the work off before the window ends: it makes no new outage planned."""
    refuse_strays(request, ())
    window = maintenance.cancel_window(session, window_id, principal.actor)
    return maintenance.view_window(session, window)
