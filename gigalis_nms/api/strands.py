"""The strands of a fibre cable, with what holds each."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from gigalis_nms.api.deps import STAFF, DbSession, RoleRequirement
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.inventory import ObjectId
from gigalis_nms.api.pagination import (
    Page,
    PageParameters,
    filter_parameters,
    filters_from,
    page_response,
)
from gigalis_nms.inventory import service
from gigalis_nms.inventory.models import FibreStrandPublic

router = APIRouter(tags=["cables"], responses=error_responses(401, 403, 404))


@router.get(
    "/cables/{id}/strands",
    dependencies=[Depends(RoleRequirement(STAFF, "read cables"))],
    response_model=Page[FibreStrandPublic],
    responses=error_responses(400, 422),
    openapi_extra={"parameters": filter_parameters(service.STRANDS)},
)
def list_strands(
    object_id: ObjectId, request: Request, session: DbSession, page: PageParameters
) -> Response:
    """The cable's strands by number, with their tube, colour (French code), state and the
    circuit or backbone link holding each."""
    filters = filters_from(request, service.STRANDS.filters)
    rows = service.list_strands(session, object_id, filters, limit=page.limit, offset=page.offset)
    return page_response(request, FibreStrandPublic, page, rows)
