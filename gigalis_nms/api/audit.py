"""The audit log, newest first: who changed what, with the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from gigalis_nms.api.deps import AUDITORS, DbSession, RoleRequirement
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import (
    Page,
    PageParameters,
    filter_parameters,
    filters_from,
    page_response,
)
from gigalis_nms.audit import AuditEntry
from gigalis_nms.db.listing import Listing, exact, fetch_page


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


AUDIT_LOG = Listing(
    table=AuditEntry,
    public=AuditEntryPublic,
    filters={
        "entity": exact(AuditEntry, "entity", "table name: site, circuit, vlan_holding…"),
        "entity_id": exact(AuditEntry, "entity_id"),
        "actor": exact(AuditEntry, "actor", "token:NAME#ID, cli:USER, system…"),
        "action": exact(AuditEntry, "action", "create, update or delete"),
    },
    descending=True,
)

router = APIRouter(tags=["audit"], responses=error_responses(401, 403))


@router.get(
    "/audit",
    dependencies=[Depends(RoleRequirement(AUDITORS, "read the audit log"))],
    response_model=Page[AuditEntryPublic],
    responses=error_responses(400, 422),
    openapi_extra={"parameters": filter_parameters(AUDIT_LOG)},
)
def list_audit_entries(request: Request, session: DbSession, page: PageParameters) -> Response:
    """Every change made through the API, the command line or the loader, newest first."""
    filters = filters_from(request, AUDIT_LOG.filters)
    rows = fetch_page(session, AUDIT_LOG, filters, limit=page.limit, offset=page.offset)
    return page_response(request, AuditEntryPublic, page, rows)
