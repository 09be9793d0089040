"""What a circuit holds: list, hold and release its VLANs, bandwidth and strands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from gigalis_nms.api.deps import EVERYONE, WRITERS, DbSession, RoleRequirement, Tenant
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.inventory import ObjectId
from gigalis_nms.api.pagination import Page, PageParameters, filters_from, page_of, page_response
from gigalis_nms.db.types import RowId
from gigalis_nms.inventory import holdings, service
from gigalis_nms.inventory.holdings import CircuitHolding, HoldingKind, HoldingRequest

router = APIRouter(
    prefix="/circuits/{id}/holdings", tags=["circuits"], responses=error_responses(401, 403, 404)
)
readers = (Depends(RoleRequirement(EVERYONE, "read circuits")),)
writers = (Depends(RoleRequirement(WRITERS, "change what circuits hold")),)


@router.get(
    "",
    dependencies=readers,
    response_model=Page[CircuitHolding],
    responses=error_responses(400, 422),
)
def list_holdings(
    object_id: ObjectId, request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> Response:
    """Everything the circuit holds: strands along its route, VLANs on ports, bandwidth on
    backbone links. An operator reads only its own circuits' holdings."""
    filters_from(request, {})  # none: an unknown parameter is refused, as on every list
    circuit = service.get_object(session, service.CIRCUITS, object_id, tenant=tenant)
    everything = holdings.list_holdings(session, circuit)
    return page_response(request, CircuitHolding, page, page_of(everything, page))


@router.post(
    "",
    dependencies=writers,
    status_code=status.HTTP_201_CREATED,
    response_model=CircuitHolding,
    responses=error_responses(409, 415, 422),
)
def create_holding(object_id: ObjectId, body: HoldingRequest, session: DbSession) -> CircuitHolding:
    """Hold one more resource for the circuit. The database refuses a VLAN or a strand held
    twice and bandwidth beyond a link's capacity, even between concurrent requests: 409.
    Only dark fibre holds strands. Bandwidth is the circuit's own ``bandwidth_mbps``, held on
    each link of its path: leave the amount out, or send that same amount (else 422)."""
    circuit = service.get_object(session, service.CIRCUITS, object_id)
    return holdings.describe_holding(holdings.hold(session, circuit, body))


@router.delete(
    "/{kind}/{holding_id}",
    dependencies=writers,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(409, 422),
)
def delete_holding(
    object_id: ObjectId,
    kind: HoldingKind,
    holding_id: Annotated[RowId, Path(description="the holding's id, from the list")],
    session: DbSession,
) -> Response:
    """Release one resource the circuit holds. The VLAN of one of the circuit's ends goes with
    the end: change or clear ``a_vlan`` or ``z_vlan`` instead (409)."""
    circuit = service.get_object(session, service.CIRCUITS, object_id)
    holdings.release_holding(session, circuit, kind, holding_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
