"""Designing and provisioning circuits, and the jobs that do it.

``POST …/provision`` and ``…/deprovision`` queue a job and answer 202 with it; the worker
inside `gigalis serve` runs it, and ``GET /jobs/{id}`` follows it to its end. Jobs carry
device configurations, so operators do not read them; NOC roles do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict

from gigalis_nms.api.deps import STAFF, WRITERS, CurrentPrincipal, DbSession, RoleRequirement
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import PageParameters, page_response
from gigalis_nms.db.listing import PageOfRows, UnknownFilter
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import InvalidInput
from gigalis_nms.provisioning.design import (
    DesignView,
    design_circuit,
    design_of,
    undesign_circuit,
)
from gigalis_nms.provisioning.jobs import JobView, circuit_by_ref, create_job, list_jobs, view_job
from gigalis_nms.provisioning.models import JobKind, JobState, PathMetric

router = APIRouter(tags=["provisioning"], responses=error_responses(401, 403, 404))
readers = (Depends(RoleRequirement(STAFF, "read designs")),)
# Jobs hold whole router configurations: the NOC's to read, not every staff token's.
job_readers = (Depends(RoleRequirement(WRITERS, "read provisioning jobs")),)
writers = (Depends(RoleRequirement(WRITERS, "design and provision circuits")),)
JOB_FILTERS = ("circuit", "state")

CircuitRef = Annotated[str, Path(description="the circuit's reference, e.g. GIG-ETH-000027")]


class DesignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"metric": "igp"}]})
    metric: PathMetric = PathMetric.IGP


@router.get("/circuits/{ref}/design", dependencies=readers, response_model=DesignView)
def get_design(ref: CircuitRef, session: DbSession) -> DesignView:
    """The circuit's design: VNI, working path and protection path, link by link."""
    return design_of(session, circuit_by_ref(session, ref))


@router.post(
    "/circuits/{ref}/design",
    dependencies=writers,
    response_model=DesignView,
    responses=error_responses(409, 415, 422),
)
def create_design(
    ref: CircuitRef,
    session: DbSession,
    principal: CurrentPrincipal,
    body: DesignRequest | None = None,
) -> DesignView:
    """Design a reserved circuit: its path over links with room for its bandwidth (and a
    protection path sharing no fibre cable, when protected), its VNI, and its bandwidth held
    on every link, all at once or not at all."""
    circuit = circuit_by_ref(session, ref)
    design_circuit(session, circuit, actor=principal.actor, metric=(body or DesignRequest()).metric)
    return design_of(session, circuit)


def refuse_strays(request: Request, allowed: tuple[str, ...]) -> None:
    """A parameter or a body the route does not read is refused, never ignored: a misspelt
    ``dry_run`` must not turn a dry run into a real change."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none"
        raise UnknownFilter.of(f"query.{unknown[0]}", f"not a parameter here; parameters: {known}")
    if int(request.headers.get("content-length") or 0) > 0:
        raise InvalidInput.of("body", "this request takes no body; dry_run is a query parameter")


@router.delete(
    "/circuits/{ref}/design",
    dependencies=writers,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(422),
)
def delete_design(ref: CircuitRef, session: DbSession) -> Response:
    """Give back a reserved or designed circuit's design (path, VNI, held bandwidth): it is
    reserved again. A provisioned circuit is deprovisioned instead (422)."""
    undesign_circuit(session, circuit_by_ref(session, ref))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _queue(
    request: Request, session: DbSession, actor: str, kind: JobKind, ref: str, *, dry_run: bool
) -> JobView:
    refuse_strays(request, ("dry_run",))
    target = request.app.state.settings.devices.value  # the routers the worker reaches
    job = create_job(session, kind, [ref], actor=actor, dry_run=dry_run, target=target)
    assert job.id is not None
    view = view_job(session, job.id)
    session.commit()  # the worker must see the job before it is woken
    worker = getattr(request.app.state, "job_worker", None)
    if worker is not None:
        worker.wake()
    return view


DryRunQuery = Annotated[bool, Query(description="show the diffs only; change nothing")]


@router.post(
    "/circuits/{ref}/provision",
    dependencies=writers,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses=error_responses(409, 422),
)
def provision_circuit(
    ref: CircuitRef,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    dry_run: DryRunQuery = False,
) -> JobView:
    """Queue a job that configures the circuit on its routers, all or none (a reserved circuit
    is designed first). Follow it at ``/jobs/{id}``."""
    return _queue(request, session, principal.actor, JobKind.PROVISION, ref, dry_run=dry_run)


@router.post(
    "/circuits/{ref}/deprovision",
    dependencies=writers,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses=error_responses(409, 422),
)
def deprovision_circuit(
    ref: CircuitRef,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    dry_run: DryRunQuery = False,
) -> JobView:
    """Queue a job that removes the circuit from its routers, then terminates it and releases
    everything it holds."""
    return _queue(request, session, principal.actor, JobKind.DEPROVISION, ref, dry_run=dry_run)


@router.get("/jobs", dependencies=job_readers, responses=error_responses(400, 422))
def list_provisioning_jobs(
    request: Request,
    session: DbSession,
    page: PageParameters,
    circuit: Annotated[str | None, Query(description="a circuit's reference")] = None,
    state: Annotated[JobState | None, Query(description="queued, running, …")] = None,
) -> Response:
    """Provisioning jobs, newest first, each with its circuits and devices."""
    refuse_strays(request, (*JOB_FILTERS, "limit", "offset"))
    count, jobs = list_jobs(
        session, circuit_ref=circuit, state=state, limit=page.limit, offset=page.offset
    )
    rows = [view_job(session, job.id).model_dump() for job in jobs if job.id is not None]
    return page_response(request, JobView, page, PageOfRows(count, rows))


@router.get("/jobs/{job_id}", dependencies=job_readers, response_model=JobView)
def get_provisioning_job(
    job_id: Annotated[RowId, Path(description="the job's id")], session: DbSession
) -> JobView:
    """One job: who asked and when, and per device the rendered configuration, the diff and
    the outcome."""
    return view_job(session, job_id)
