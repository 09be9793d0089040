"""What a circuit holds: list, hold and release its VLANs, bandwidth and strands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from gigalis_nms.api.deps import EVERYONE, WRITERS, DbSession, RoleRequirement, Tenant
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.inventory import ObjectId
from gigalis_nms.inventory import holdings, service
from gigalis_nms.inventory.holdings import CircuitHolding, HoldingKind, HoldingRequest

router = APIRouter(
    prefix="/circuits/{id}/holdings", tags=["circuits"], responses=error_responses(401, 403, 404)
)
readers = (Depends(RoleRequirement(EVERYONE, "read circuits")),)
writers = (Depends(RoleRequirement(WRITERS, "change what circuits hold")),)


@router.get("", dependencies=readers, response_model=list[CircuitHolding])
def list_holdings(object_id: ObjectId, session: DbSession, tenant: Tenant) -> list[CircuitHolding]:
    """Everything the circuit holds: strands along its route, VLANs on ports, bandwidth on
    backbone links. An operator reads only its own circuits' holdings."""
    circuit = service.get_object(session, service.CIRCUITS, object_id, tenant=tenant)
    return holdings.list_holdings(session, circuit)


@router.post(
    "",
    dependencies=writers,
    status_code=status.HTTP_201_CREATED,
    response_model=CircuitHolding,
    responses=error_responses(409, 422),
)
def create_holding(object_id: ObjectId, body: HoldingRequest, session: DbSession) -> CircuitHolding:
    """Hold one more resource for the circuit. The database refuses a VLAN or a strand held
    twice and bandwidth beyond a link's capacity, even between concurrent requests: 409."""
    circuit = service.get_object(session, service.CIRCUITS, object_id)
    return holdings.describe_holding(holdings.hold(session, circuit, body))


@router.delete(
    "/{kind}/{holding_id}",
    dependencies=writers,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
def delete_holding(
    object_id: ObjectId,
    kind: HoldingKind,
    holding_id: Annotated[int, Path(ge=1, description="the holding's id, from the list")],
    session: DbSession,
) -> Response:
    """Release one resource the circuit holds."""
    circuit = service.get_object(session, service.CIRCUITS, object_id)
    holdings.release_holding(session, circuit, kind, holding_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
