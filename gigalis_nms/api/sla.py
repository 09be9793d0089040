"""The monthly SLA report: availability, incidents against the GTR and penalties per circuit,
operator and offer, and storing a closed month's results for billing.

Operators read their own circuits only; staff tokens (admin, NOC, and viewers: management
and finance) read every operator's. Storing is the NOC's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import EVERYONE, WRITERS, DbSession, RoleRequirement, Tenant
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import filters_from
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.monitoring.report import (
    MonthReport,
    StoredCounts,
    month_report,
    parse_month,
    store_month,
)

router = APIRouter(prefix="/sla", tags=["sla"], responses=error_responses(401, 403, 422))
readers = (Depends(RoleRequirement(EVERYONE, "read SLA reports")),)
writers = (Depends(RoleRequirement(WRITERS, "store SLA results")),)

MonthQuery = Annotated[str, Query(description="the Paris calendar month, YYYY-MM")]
OperatorQuery = Annotated[
    RowId | None, Query(description="only this operator's circuits (its organisation id)")
]
MonthPath = Annotated[str, Path(description="the Paris calendar month, YYYY-MM")]


@router.get(
    "/report",
    dependencies=readers,
    response_model=MonthReport,
    responses=error_responses(400, 404),
)
def read_sla_report(
    request: Request,
    *,
    session: DbSession,
    tenant: Tenant,
    catalogue: ServiceCatalogue,
    month: MonthQuery,
    operator: OperatorQuery = None,
) -> MonthReport:
    """Every circuit in service in the month: availability, downtime and excluded time,
    incidents against the GTR, penalty; then per operator and per offer. A month not over
    yet is computed up to now and marked ``provisional``."""
    filters_from(request, {}, ignored=("month", "operator"))  # a misspelt filter is refused
    year, number = parse_month(month)
    operator_id = _scoped_operator(session, tenant, operator)
    return month_report(session, catalogue, year, number, operator_id=operator_id)


def _scoped_operator(session: DbSession, tenant: int | None, operator: int | None) -> int | None:
    """The operator the report covers: an operator's own, whatever it asks; another one's
    answers as an unknown one would (404), so that its existence is not told."""
    if tenant is not None and operator not in (None, tenant):
        raise NotFound.of("operator", f"no operator with id {operator}")
    if tenant is not None:
        return tenant
    if operator is not None and session.get(Organisation, operator) is None:
        raise NotFound.of("operator", f"no operator with id {operator}")
    return operator


@router.post(
    "/months/{month}/store",
    dependencies=writers,
    response_model=StoredCounts,
    responses=error_responses(409),
)
def store_sla_month(
    month: MonthPath, session: DbSession, catalogue: ServiceCatalogue
) -> StoredCounts:
    """Compute a closed month for every circuit and store the results for billing: results
    already billed are kept as they are; storing the same month again changes nothing."""
    year, number = parse_month(month)
    return store_month(session, month_report(session, catalogue, year, number))
