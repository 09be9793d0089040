"""Billing through the API: the monthly run and issuing (finance and admins), documents and
their PDFs, subscriptions and billing accounts.

Operators read their own issued documents, subscriptions and account; a draft, or another
operator's anything, answers 404 as if it did not exist. Staff (admin, NOC, finance,
viewers) read everything; only finance and admins run, issue and change accounts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, func, select

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import (
    BILLERS,
    EVERYONE,
    CurrentPrincipal,
    DbSession,
    RoleRequirement,
    Tenant,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import Page, PageParameters, page_response
from gigalis_nms.api.provisioning import refuse_strays
from gigalis_nms.billing.accounts import (
    BillingAccountChange,
    BillingAccountView,
    read_account,
    set_account,
)
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
    Subscription,
)
from gigalis_nms.billing.run import RunReport, issue_month, run_month
from gigalis_nms.db.listing import PageOfRows, UnknownFilter
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import NotFound
from gigalis_nms.monitoring.report import parse_month

router = APIRouter(prefix="/billing", tags=["billing"], responses=error_responses(401, 403, 422))
readers = (Depends(RoleRequirement(EVERYONE, "read billing")),)
billers = (Depends(RoleRequirement(BILLERS, "run billing or change billing accounts")),)
PAGING = ("limit", "offset")

DocumentId = Annotated[RowId, Path(description="the document's id")]
OperatorId = Annotated[RowId, Path(description="the operator's organisation id")]
MonthPath = Annotated[str, Path(description="the service month, YYYY-MM")]


class RunRequest(BaseModel):
    # Strict: issuing cannot be undone, so a misspelt key or "issue": "yes" is refused.
    model_config = ConfigDict(extra="forbid", strict=True)

    month: str = Field(description="the service month, YYYY-MM; it must be over")
    operators: list[RowId] | None = Field(
        default=None, min_length=1, description="only these operators' ids"
    )
    issue: bool = Field(default=False, description="number and issue the documents too")


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    operators: list[RowId] | None = Field(
        default=None, min_length=1, description="only these operators' ids"
    )


class LineView(BaseModel):
    position: int
    kind: LineKind
    description: str
    circuit_ref: str | None
    offer_id: str | None
    period_start: date | None
    period_end: date | None
    unit_price: Decimal
    quantity: Decimal
    basis: Decimal
    unit: str
    amount: Decimal


class DocumentView(BaseModel):
    id: int
    kind: DocumentKind
    state: DocumentState
    number: str | None
    operator_id: int
    month: str
    period_start: date
    period_end: date
    issue_date: date | None
    due_date: date | None
    invoice_id: int | None
    invoice_number: str | None
    currency: str
    vat_rate: Decimal
    total_net: Decimal
    total_vat: Decimal
    total_gross: Decimal
    buyer: dict[str, object]
    lines: list[LineView] | None = None


class SubscriptionView(BaseModel):
    id: int
    circuit_ref: str
    operator_id: int
    offer_id: str
    bandwidth_mbps: int | None
    monthly_fee: Decimal
    one_time_fee: Decimal
    iru_price: Decimal
    contract_start: date
    commitment_end: date | None
    start_date: date
    end_date: date | None
    ended_by: str | None


@router.post("/runs", dependencies=billers, response_model=RunReport)
def post_run(
    request: Request,
    body: RunRequest,
    session: DbSession,
    principal: CurrentPrincipal,
    catalogue: ServiceCatalogue,
) -> RunReport:
    """Compute a closed month's invoices and SLA credit notes (drafts computed again, issued
    documents untouched); with ``issue``, issue them. Idempotent: a second run adds nothing.
    Each operator is billed in a savepoint: ``operators[].error`` says which were not."""
    _no_query(request)
    year, month = parse_month(body.month, "body.month")
    return run_month(
        session,
        catalogue,
        year,
        month,
        operator_ids=body.operators,
        issue=body.issue,
        actor=principal.actor,
    )


@router.post("/months/{month}/issue", dependencies=billers, response_model=RunReport)
def post_issue(
    request: Request,
    month: MonthPath,
    body: IssueRequest,
    session: DbSession,
    principal: CurrentPrincipal,
) -> RunReport:
    """Issue the month's drafts as they stand: numbered, dated and frozen."""
    _no_query(request)
    year, number = parse_month(month, "path.month")
    return issue_month(session, year, number, operator_ids=body.operators, actor=principal.actor)


@router.get(
    "/documents",
    dependencies=readers,
    response_model=Page[DocumentView],
    responses=error_responses(400),
)
def list_documents(
    *,
    request: Request,
    session: DbSession,
    tenant: Tenant,
    page: PageParameters,
    month: Annotated[str | None, Query(description="service month, YYYY-MM")] = None,
    operator: Annotated[RowId | None, Query(description="an operator's id")] = None,
    kind: Annotated[DocumentKind | None, Query()] = None,
    state: Annotated[DocumentState | None, Query()] = None,
) -> Response:
    """Invoices and credit notes, by month and number (an operator's: its issued ones)."""
    refuse_strays(request, ("month", "operator", "kind", "state", *PAGING))
    if month is not None:
        parse_month(month, "query.month")
    query = select(BillingDocument)
    if tenant is not None:
        query = query.where(
            col(BillingDocument.operator_id) == tenant,
            col(BillingDocument.state) == DocumentState.ISSUED,
        )
    for column, value in (
        (BillingDocument.month, month),
        (BillingDocument.operator_id, operator),
        (BillingDocument.kind, kind),
        (BillingDocument.state, state),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    found = session.exec(
        query.order_by(col(BillingDocument.month), col(BillingDocument.id))
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    rows = PageOfRows(count, [_document_view(d).model_dump() for d in found])
    return page_response(request, DocumentView, page, rows)


@router.get("/documents/{document_id}", dependencies=readers, response_model=DocumentView)
def get_document(document_id: DocumentId, session: DbSession, tenant: Tenant) -> DocumentView:
    """One document with its lines."""
    document = _visible_document(session, document_id, tenant)
    lines = session.exec(
        select(BillingLine)
        .where(col(BillingLine.document_id) == document.id)
        .order_by(col(BillingLine.position))
    ).all()
    view = _document_view(document)
    view.lines = [LineView.model_validate(line, from_attributes=True) for line in lines]
    return view


@router.get(
    "/documents/{document_id}/pdf",
    dependencies=readers,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_document_pdf(document_id: DocumentId, session: DbSession, tenant: Tenant) -> Response:
    """The document as PDF/A-3 carrying its Factur-X (EN 16931) XML. An issued document's
    PDF is rendered once and served as stored; a draft's is marked as such and not kept."""
    from gigalis_nms.billing.documents import document_pdf  # noqa: PLC0415

    document = _visible_document(session, document_id, tenant)
    name = document.number or f"brouillon-{document.id}"
    return Response(
        document_pdf(session, document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


@router.get("/subscriptions", dependencies=readers, response_model=Page[SubscriptionView])
def list_subscriptions(
    *,
    request: Request,
    session: DbSession,
    tenant: Tenant,
    page: PageParameters,
    operator: Annotated[RowId | None, Query(description="an operator's id")] = None,
    circuit: Annotated[str | None, Query(description="a circuit's reference")] = None,
    ended: Annotated[bool, Query(description="also the ended periods")] = False,
) -> Response:
    """The priced periods of circuits, by circuit and start (running ones by default)."""
    refuse_strays(request, ("operator", "circuit", "ended", *PAGING))
    query = select(Subscription)
    owner = tenant if tenant is not None else operator
    if tenant is not None and operator not in (None, tenant):
        query = query.where(col(Subscription.id).is_(None))  # another's: as if none
    if owner is not None:
        query = query.where(col(Subscription.operator_id) == owner)
    if circuit is not None:
        query = query.where(col(Subscription.circuit_ref) == circuit)
    if not ended:
        query = query.where(col(Subscription.end_date).is_(None))
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    found = session.exec(
        query.order_by(col(Subscription.circuit_ref), col(Subscription.start_date))
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    rows = PageOfRows(
        count,
        [SubscriptionView.model_validate(s, from_attributes=True).model_dump() for s in found],
    )
    return page_response(request, SubscriptionView, page, rows)


@router.get("/accounts/{operator_id}", dependencies=readers, response_model=BillingAccountView)
def get_account(operator_id: OperatorId, session: DbSession, tenant: Tenant) -> BillingAccountView:
    """An operator's billing account (an operator: its own)."""
    if tenant is not None and operator_id != tenant:
        raise NotFound.of("operator", f"no operator with id {operator_id}")
    return read_account(session, operator_id)


@router.put("/accounts/{operator_id}", dependencies=billers, response_model=BillingAccountView)
def put_account(
    operator_id: OperatorId, body: BillingAccountChange, session: DbSession
) -> BillingAccountView:
    """Set fields of an operator's billing account; those left out are kept, ``null`` clears."""
    return set_account(session, operator_id, body)


def _no_query(request: Request) -> None:
    """Runs and issuing take their options in the body only: ``?dry_run=true`` or
    ``?issue=false`` must not be silently ignored by a request that issues."""
    if request.query_params:
        name = sorted(request.query_params)[0]
        raise UnknownFilter.of(f"query.{name}", "this request takes no query parameters")


def _visible_document(session: Session, document_id: int, tenant: int | None) -> BillingDocument:
    document = session.get(BillingDocument, document_id)
    hidden = tenant is not None and (
        document is None
        or document.operator_id != tenant
        or document.state is not DocumentState.ISSUED
    )
    if document is None or hidden:
        raise NotFound.of("document", f"no document with id {document_id}")
    return document


def _document_view(document: BillingDocument) -> DocumentView:
    return DocumentView.model_validate(document, from_attributes=True)
