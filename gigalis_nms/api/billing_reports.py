"""Revenue reports: revenue by month, operator, offer or département, and the monthly
recurring revenue with its movements, as JSON or CSV.

Staff read them (management, finance, NOC, admin). An operator's token is refused: revenue
across operators is internal, and an operator reads its own invoices, not these figures.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gigalis_nms.api.deps import STAFF, DbSession, RoleRequirement
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import filters_from
from gigalis_nms.billing.revenue import (
    MonthRange,
    MrrReport,
    RevenueAxis,
    RevenueReport,
    as_csv,
    month_range,
    mrr_report,
    revenue_report,
)
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.models import Organisation

router = APIRouter(
    prefix="/billing", tags=["billing"], responses=error_responses(400, 401, 403, 404, 422)
)
readers = (Depends(RoleRequirement(STAFF, "read revenue reports")),)


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


FromQuery = Annotated[str, Query(alias="from", description="the first service month, YYYY-MM")]
ToQuery = Annotated[
    str | None, Query(alias="to", description="the last service month; by default `from`")
]
OperatorQuery = Annotated[
    RowId | None, Query(description="only this operator's figures (its organisation id)")
]
FormatQuery = Annotated[
    ReportFormat, Query(alias="format", description="json, or csv for a spreadsheet")
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/revenue", dependencies=readers, response_model=RevenueReport, responses=CSV_RESPONSE)
def read_revenue(
    request: Request,
    *,
    session: DbSession,
    first: FromQuery,
    last: ToQuery = None,
    by: Annotated[
        RevenueAxis, Query(description="rows per month and operator, offer or département")
    ] = RevenueAxis.MONTH,
    operator: OperatorQuery = None,
    drafts: Annotated[bool, Query(description="count drafts too (they may change)")] = False,
    output: FormatQuery = ReportFormat.JSON,
) -> RevenueReport | Response:
    """Invoiced (recurring, one-time, early termination) and credited (SLA penalties)
    amounts excluding VAT, per service month and value of `by`, with totals; issued
    documents only unless `drafts`."""
    filters_from(request, {}, ignored=("from", "to", "by", "operator", "drafts", "format"))
    months = _months(first, last)
    _check_operator(session, operator)
    found = revenue_report(
        session,
        first,
        last or first,
        by=by,
        operator_id=operator,
        include_drafts=drafts,
    )
    if output is ReportFormat.CSV:
        return _csv(found, f"revenue-{_name(months)}-by-{by.value}", operator)
    return found


@router.get("/mrr", dependencies=readers, response_model=MrrReport, responses=CSV_RESPONSE)
def read_mrr(
    request: Request,
    *,
    session: DbSession,
    first: FromQuery,
    last: ToQuery = None,
    operator: OperatorQuery = None,
    output: FormatQuery = ReportFormat.JSON,
) -> MrrReport | Response:
    """The monthly recurring revenue at each month's last day and its movements from the
    month before (new, expansion, contraction, churn), with the SLA penalties credited."""
    filters_from(request, {}, ignored=("from", "to", "operator", "format"))
    months = _months(first, last)
    _check_operator(session, operator)
    found = mrr_report(session, first, last or first, operator_id=operator)
    if output is ReportFormat.CSV:
        return _csv(found, f"mrr-{_name(months)}", operator)
    return found


def _months(first: str, last: str | None) -> MonthRange:
    """The months asked, refused naming the query parameter, as the API names fields."""
    return month_range(first, last, ("query.from", "query.to"))


def _check_operator(session: DbSession, operator: int | None) -> None:
    if operator is not None and session.get(Organisation, operator) is None:
        raise NotFound.of("query.operator", f"no operator with id {operator}")


def _name(months: MonthRange) -> str:
    return str(months).replace("/", "-")


def _csv(found: RevenueReport | MrrReport, name: str, operator: int | None) -> Response:
    scope = f"-operator-{operator}" if operator is not None else ""
    return Response(
        as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="gigalis-{name}{scope}.csv"'},
    )
