"""The monthly run: one invoice per operator for a closed month, and one credit note of its
SLA penalties referring to that invoice.

A run first brings subscriptions up to date with the inventory, then, operator by operator,
each in a savepoint of the run's transaction (an operator that cannot be billed is reported
and leaves the others billed), stores its month's SLA results and:

- computes the lines (:mod:`gigalis_nms.billing.lines`) and compares them with the
  operator's documents of the month: a missing one is created as a draft, a draft whose
  lines changed is computed again, a draft with nothing left to bill is removed, and an
  issued document is never touched (a difference is reported, to be corrected by credit
  note);
- with ``issue``, numbers and dates the drafts (:mod:`gigalis_nms.billing.numbering`),
  invoice first, and marks the month's SLA results billed, which freezes them.

So a second run of the same month adds nothing, and runs may go at the same time: each locks
the documents it computes, and numbers are taken in turn (the counter row stays locked until
the run commits).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.billing import subscriptions
from gigalis_nms.billing.accounts import account_of, printable
from gigalis_nms.billing.lines import (
    Billed,
    LineDraft,
    credit_lines,
    invoice_lines,
)
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
)
from gigalis_nms.billing.money import ZERO, add_months, cents, month_days
from gigalis_nms.billing.numbering import document_number, take_number
from gigalis_nms.billing.subscriptions import (
    operators_billed_in,
    subscriptions_overlapping,
    sync_subscriptions,
)
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import FieldProblem, GigalisError, InvalidInput, NotFound
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.monitoring.models import SlaResult
from gigalis_nms.monitoring.report import month_label, month_report, parse_month, store_month

logger = logging.getLogger(__name__)

LINE = table_of(BillingLine)
DOCUMENT = table_of(BillingDocument)
RESULT = table_of(SlaResult)
# How far back a run looks for days and charges that closed months missed (a circuit
# recorded in service after its month was invoiced): a year.
ARREARS_MONTHS = 12


class Action(StrEnum):
    """What a run did to one document."""

    CREATED = "created"  # a new draft
    REGENERATED = "regenerated"  # a draft computed again: its lines had changed
    UNCHANGED = "unchanged"  # the draft or issued document already says this
    ISSUED = "issued"  # numbered and frozen by this run
    DIFFERS = "differs"  # issued, and the month now computes otherwise: correct by credit note
    REMOVED = "removed"  # a draft with nothing left to bill
    NOTHING = "nothing"  # no document and nothing to bill: not reported


class DocumentOutcome(BaseModel):
    kind: DocumentKind
    action: Action
    document_id: int | None
    state: DocumentState | None
    number: str | None
    lines: int
    total_net: Decimal
    total_vat: Decimal
    total_gross: Decimal


class OperatorRun(BaseModel):
    operator_id: int
    operator: str
    documents: list[DocumentOutcome]
    error: str | None = None  # this operator was not billed; the others were


class RunReport(BaseModel):
    month: str
    issue: bool
    operators: list[OperatorRun]
    subscriptions_opened: int = 0
    subscriptions_closed: int = 0
    unpriced: list[str] = []  # circuits in service that no offer prices: not billed
    mismatched: list[str] = []  # circuits whose bandwidth differs from their subscription

    @property
    def failed(self) -> list[OperatorRun]:
        return [run for run in self.operators if run.error is not None]


def run_month(
    session: Session,
    catalogue: Catalogue,
    year: int,
    month: int,
    *,
    operator_ids: Collection[int] | None = None,
    issue: bool = False,
    actor: str = "system",
    today: date | None = None,
) -> RunReport:
    """Bill ``month`` (over) for every operator, or those of ``operator_ids``, in the
    session's transaction: the caller commits."""
    today = today or subscriptions.billing_today()  # one clock for all of billing
    first, last = _closed_month(year, month, today)
    report = RunReport(month=month_label(year, month), issue=issue, operators=[])
    synced = sync_subscriptions(session, catalogue, today=today)
    report.subscriptions_opened, report.subscriptions_closed = synced.opened, synced.closed
    report.unpriced = [f"{ref}: {reason}" for ref, reason in synced.unpriced]
    report.mismatched = [f"{ref}: {reason}" for ref, reason in synced.mismatched]
    for operator in _operators_to_bill(session, first, last, operator_ids):
        report.operators.append(
            _run_operator(
                session, catalogue, operator, year, month, issue=issue, actor=actor, today=today
            )
        )
    return report


def issue_month(
    session: Session,
    year: int,
    month: int,
    *,
    operator_ids: Collection[int] | None = None,
    actor: str = "system",
    today: date | None = None,
) -> RunReport:
    """Issue the month's drafts as they are (as finance reviewed them), without computing
    them again: invoices first, then the credit notes that refer to them."""
    today = today or subscriptions.billing_today()  # one clock for all of billing
    _closed_month(year, month, today)
    label = month_label(year, month)
    report = RunReport(month=label, issue=True, operators=[])
    for operator_id, name in _operators_with_documents(session, label, operator_ids):
        run = OperatorRun(operator_id=operator_id, operator=name, documents=[])
        try:
            with session.begin_nested():
                documents = _documents(session, operator_id, label, lock=True)
                run.documents = _issue_all(session, documents, today, actor)
                _freeze_results(session, operator_id, label, documents)
        except GigalisError as refused:
            run.error = refused.message
        report.operators.append(run)
    return report


# --- One operator -----------------------------------------------------------------------------


def _run_operator(
    session: Session,
    catalogue: Catalogue,
    operator: tuple[int, str],
    year: int,
    month: int,
    *,
    issue: bool,
    actor: str,
    today: date,
) -> OperatorRun:
    operator_id, name = operator
    run = OperatorRun(operator_id=operator_id, operator=name, documents=[])
    try:  # in a savepoint: an operator that fails leaves the others billed
        with session.begin_nested():
            run.documents = bill_operator(
                session, catalogue, operator_id, year, month, issue=issue, actor=actor, today=today
            )
    except IntegrityError:
        run.error = (
            f"{name}'s {month_label(year, month)} documents are being written by another run; "
            "run again when it has finished"
        )
    except GigalisError as refused:
        run.error = refused.message
    if run.error:
        logger.warning("billing %s: %s not billed: %s", month_label(year, month), name, run.error)
    return run


def bill_operator(
    session: Session,
    catalogue: Catalogue,
    operator_id: int,
    year: int,
    month: int,
    *,
    issue: bool = False,
    actor: str = "system",
    today: date,
) -> list[DocumentOutcome]:
    """Compute (and with ``issue``, issue) one operator's invoice and credit note."""
    label = month_label(year, month)
    first, last = month_days(year, month)
    _documents(session, operator_id, label, lock=True)  # a second run for it waits here
    sla = month_report(session, catalogue, year, month, operator_id=operator_id)
    store_month(session, sla)
    since = add_months(first, -ARREARS_MONTHS)
    periods = subscriptions_overlapping(session, since, last, [operator_id])
    billed = billed_before(session, operator_id, since, first)
    charges = invoice_lines(periods, catalogue, year, month, billed)
    results = session.exec(
        select(SlaResult).where(
            col(SlaResult.operator_id) == operator_id, col(SlaResult.month) == label
        )
    ).all()
    buyer = buyer_of(session, operator_id)
    context = _Context(operator_id, label, first, last, buyer, catalogue)

    outcomes = []
    invoice, action = _reconcile(session, context, DocumentKind.INVOICE, charges)
    outcomes.append(_outcome(session, DocumentKind.INVOICE, invoice, action))
    credit, action = _reconcile(
        session,
        context,
        DocumentKind.CREDIT_NOTE,
        credit_lines(results, {period.circuit_ref: period.departement for period in periods}),
        invoice=invoice,
    )
    outcomes.append(_outcome(session, DocumentKind.CREDIT_NOTE, credit, action))
    if issue:
        held = [document for document in (invoice, credit) if document is not None]
        issued = {o.document_id: o for o in _issue_all(session, held, today, actor)}
        outcomes = [issued.get(outcome.document_id, outcome) for outcome in outcomes]
        _freeze_results(session, operator_id, label, held)
    return [outcome for outcome in outcomes if outcome.action is not Action.NOTHING]


@dataclass(frozen=True)
class _Context:
    """What every document of one operator's month shares."""

    operator_id: int
    month: str
    first: date
    last: date
    buyer: dict[str, Any]
    catalogue: Catalogue


def _reconcile(
    session: Session,
    context: _Context,
    kind: DocumentKind,
    lines: list[LineDraft],
    invoice: BillingDocument | None = None,
) -> tuple[BillingDocument | None, Action]:
    existing = next(
        (d for d in _documents(session, context.operator_id, context.month) if d.kind is kind),
        None,
    )
    fingerprint = lines_fingerprint(lines, context.catalogue.vat_rate)
    if existing is not None and existing.state is DocumentState.ISSUED:
        return existing, Action.UNCHANGED if existing.fingerprint == fingerprint else Action.DIFFERS
    if not lines:
        if existing is None:
            return None, Action.NOTHING
        session.delete(existing)
        session.flush()
        return None, Action.REMOVED
    if existing is not None and existing.fingerprint == fingerprint:
        if existing.buyer == context.buyer and existing.invoice_id == _id(invoice):
            return existing, Action.UNCHANGED
        existing.buyer, existing.invoice_id = context.buyer, _id(invoice)
        existing.computed_at = utcnow()
        session.add(existing)
        return existing, Action.REGENERATED  # the same lines, to an updated buyer
    document = existing or BillingDocument(
        kind=kind,
        state=DocumentState.DRAFT,
        operator_id=context.operator_id,
        month=context.month,
        period_start=context.first,
        period_end=context.last,
        vat_rate=context.catalogue.vat_rate,
        total_net=ZERO,
        total_vat=ZERO,
        total_gross=ZERO,
        catalogue_version=context.catalogue.version,
        fingerprint=fingerprint,
    )
    _fill(document, context, lines, fingerprint, invoice)
    session.add(document)
    session.flush()
    assert document.id is not None
    _write_lines(session, document.id, lines, replace=existing is not None)
    return document, Action.REGENERATED if existing is not None else Action.CREATED


def _fill(
    document: BillingDocument,
    context: _Context,
    lines: Sequence[LineDraft],
    fingerprint: str,
    invoice: BillingDocument | None,
) -> None:
    net = sum((line.amount for line in lines), ZERO)
    vat = cents(net * context.catalogue.vat_rate)  # EN 16931: VAT on the category's total
    document.total_net, document.total_vat, document.total_gross = net, vat, net + vat
    document.vat_rate = context.catalogue.vat_rate
    document.catalogue_version = context.catalogue.version
    document.buyer = context.buyer
    document.fingerprint = fingerprint
    document.invoice_id = _id(invoice)
    document.computed_at = utcnow()


def _write_lines(
    session: Session, document_id: int, lines: Sequence[LineDraft], *, replace: bool
) -> None:
    """The lines, in bulk: a month holds one or more per circuit. The document itself is
    audited (with its totals and fingerprint); its lines are not, one by one."""
    if replace:
        session.execute(sa.delete(LINE).where(LINE.c.document_id == document_id))
    rows = [
        {
            "document_id": document_id,
            "position": position,
            "kind": line.kind,
            "circuit_ref": line.circuit_ref,
            "subscription_id": line.subscription_id,
            "sla_result_id": line.sla_result_id,
            "offer_id": line.offer_id,
            "departement": line.departement,
            "description": line.description,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "unit_price": line.unit_price,
            "quantity": line.quantity,
            "basis": line.basis,
            "unit": line.unit,
            "amount": line.amount,
        }
        for position, line in enumerate(lines, start=1)
    ]
    if rows:
        session.execute(sa.insert(LINE), rows)


def lines_fingerprint(lines: Sequence[LineDraft], vat_rate: Decimal) -> str:
    """A digest of what the lines bill: equal digests, equal documents."""
    payload = [
        [
            line.kind.value,
            line.description,
            str(line.unit_price),
            str(line.quantity),
            str(line.basis),
            line.unit,
            str(line.amount),
            line.circuit_ref,
            line.subscription_id,
            line.sla_result_id,
            line.offer_id,
            line.departement,
            str(line.period_start),
            str(line.period_end),
        ]
        for line in lines
    ]
    text = json.dumps([str(vat_rate), payload], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- Issuing ----------------------------------------------------------------------------------


def _issue_all(
    session: Session, documents: Sequence[BillingDocument], today: date, actor: str
) -> list[DocumentOutcome]:
    """Issue the drafts among ``documents``, invoices before credit notes (a credit note
    names its invoice's number); issued ones are reported as they are."""
    ordered = sorted(documents, key=lambda d: d.kind is not DocumentKind.INVOICE)
    outcomes = []
    for document in ordered:
        if document.state is DocumentState.ISSUED:
            outcomes.append(_outcome(session, document.kind, document, Action.UNCHANGED))
            continue
        issue_document(session, document, today, actor)
        outcomes.append(_outcome(session, document.kind, document, Action.ISSUED))
    return outcomes


def issue_document(session: Session, document: BillingDocument, today: date, actor: str) -> None:
    """Number, date and freeze a draft. Refused, changing nothing, when the buyer lacks what a
    French invoice must name, or when a credit note's invoice is not issued yet."""
    # The buyer as it is now: an account completed since the draft was computed counts.
    document.buyer = buyer_of(session, document.operator_id)
    problems = buyer_problems(document.buyer)
    invoice = None
    if document.invoice_id is not None:
        invoice = session.get(BillingDocument, document.invoice_id)
        if invoice is None or invoice.state is not DocumentState.ISSUED:
            problems.append(
                FieldProblem("invoice_id", "the invoice this credit note refers to is not issued")
            )
    if problems:
        name = document.buyer.get("name", document.operator_id)
        raise InvalidInput(
            f"{name}'s {document.month} {document.kind.value.replace('_', ' ')} cannot be "
            f"issued: {problems[0]}",
            problems,
        )
    sequence = take_number(session, document.kind, today)
    document.sequence = sequence
    document.number = document_number(document.kind, sequence)
    document.state = DocumentState.ISSUED
    document.issue_date = today
    if document.kind is DocumentKind.INVOICE:
        document.due_date = today + timedelta(days=int(document.buyer.get("payment_days", 30)))
    if invoice is not None:
        document.invoice_number, document.invoice_issue_date = invoice.number, invoice.issue_date
    document.issued_at, document.issued_by = utcnow(), actor
    session.add(document)
    session.flush()
    logger.info("billing: %s issued to %s", document.number, document.buyer.get("name"))


def buyer_problems(buyer: dict[str, Any]) -> list[FieldProblem]:
    """What keeps a document to this buyer from being issued: French law wants the buyer's
    name, address and SIREN on every invoice; Chorus Pro a public buyer's SIRET."""
    problems = []
    try:
        printable(str(buyer.get("name") or ""))
    except ValueError as unfit:
        problems.append(FieldProblem("buyer.name", f"the buyer's name {unfit}"))
    for field in ("address", "postcode", "city"):
        if not buyer.get(field):
            problems.append(
                FieldProblem(
                    f"buyer.{field}",
                    f"the billing account has no {field}, which a French invoice must name "
                    "(gigalis billing account set)",
                )
            )
    if not buyer.get("siren"):
        problems.append(
            FieldProblem("buyer.siren", "the buyer has no SIREN, which a French invoice must name")
        )
    if buyer.get("public_buyer") and not buyer.get("siret"):
        problems.append(
            FieldProblem(
                "buyer.siret", "a public buyer is invoiced through Chorus Pro, which needs a SIRET"
            )
        )
    return problems


def _freeze_results(
    session: Session, operator_id: int, month: str, documents: Sequence[BillingDocument]
) -> None:
    """Once every document of the month is issued, its SLA results are billed: monitoring
    never restates them again (a later correction is a credit note's)."""
    if any(document.state is not DocumentState.ISSUED for document in documents):
        return
    session.execute(
        sa.update(RESULT)
        .where(
            RESULT.c.operator_id == operator_id,
            RESULT.c.month == month,
            RESULT.c.billed_at.is_(None),
        )
        .values(billed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


# --- Reading ----------------------------------------------------------------------------------


def billed_before(session: Session, operator_id: int, since: date, first: date) -> Billed:
    """What issued invoices charged the operator from ``since``, and the months from
    ``since`` to before ``first`` that are closed: invoices of the month are issued, and the
    operator has no draft of it."""
    closed = (
        sa.select(DOCUMENT.c.month)
        .where(
            DOCUMENT.c.kind == DocumentKind.INVOICE,
            DOCUMENT.c.state == DocumentState.ISSUED,
            DOCUMENT.c.month >= month_label(since.year, since.month),
            DOCUMENT.c.month < month_label(first.year, first.month),
        )
        .distinct()
    )
    # A month the operator still has a draft of is billed by that draft, not here.
    drafted = sa.select(DOCUMENT.c.month).where(
        DOCUMENT.c.operator_id == operator_id,
        DOCUMENT.c.kind == DocumentKind.INVOICE,
        DOCUMENT.c.state == DocumentState.DRAFT,
    )
    labels = set(execute_core(session, closed).scalars())
    labels -= set(execute_core(session, drafted).scalars())
    months = frozenset(parse_month(label) for label in labels)
    charged = (
        sa.select(LINE.c.subscription_id, LINE.c.kind, LINE.c.period_start, LINE.c.period_end)
        .join(DOCUMENT, DOCUMENT.c.id == LINE.c.document_id)
        .where(
            DOCUMENT.c.operator_id == operator_id,
            DOCUMENT.c.kind == DocumentKind.INVOICE,
            DOCUMENT.c.state == DocumentState.ISSUED,
            LINE.c.subscription_id.is_not(None),
            LINE.c.period_end >= since,
        )
    )
    days: dict[int, list[tuple[date, date]]] = {}
    one_offs = set()
    for row in execute_core(session, charged):
        if row.kind == LineKind.RECURRING:
            days.setdefault(row.subscription_id, []).append((row.period_start, row.period_end))
        else:
            one_offs.add((row.subscription_id, LineKind(row.kind)))
    return Billed(months, days, frozenset(one_offs))


def buyer_of(session: Session, operator_id: int) -> dict[str, Any]:
    """The buyer as a document names it: the organisation and its billing account."""
    organisation = session.get(Organisation, operator_id)
    if organisation is None:
        raise NotFound.of("operator", f"no operator with id {operator_id}")
    account = account_of(session, operator_id)
    return {
        "operator_id": operator_id,
        "name": account.legal_name or organisation.name,
        "siren": organisation.siren,
        "siret": account.siret,
        "vat_number": account.vat_number,
        "address": account.address,
        "postcode": account.postcode,
        "city": account.city,
        "country": account.country,
        "email": account.email,
        "payment_days": account.payment_days,
        "public_buyer": account.public_buyer,
        "chorus_service_code": account.chorus_service_code,
        "commitment_number": account.commitment_number,
    }


def find_document(session: Session, reference: str) -> BillingDocument:
    """A document by number (FAC-0000042) or id."""
    query = select(BillingDocument).where(col(BillingDocument.number) == reference)
    found = session.exec(query).first()
    if found is None and reference.isdigit():
        found = session.get(BillingDocument, int(reference))
    if found is None:
        raise NotFound.of("document", f"no document numbered {reference!r} and no such id")
    return found


def _documents(
    session: Session, operator_id: int, month: str, *, lock: bool = False
) -> list[BillingDocument]:
    """The operator's documents of the month; ``lock`` holds them (PostgreSQL) until the
    transaction ends, so that two runs for one operator take turns."""
    query = select(BillingDocument).where(
        col(BillingDocument.operator_id) == operator_id, col(BillingDocument.month) == month
    )
    if lock:
        query = query.with_for_update()
    return list(session.exec(query.order_by(col(BillingDocument.kind).desc())).all())


def _operators_to_bill(
    session: Session, first: date, last: date, operator_ids: Collection[int] | None
) -> list[tuple[int, str]]:
    """Operators with a subscription in the month, a penalty of the month, or a document of
    it already (a draft may have to go): by name."""
    month = month_label(first.year, first.month)
    ids = set(operators_billed_in(session, first, last))
    penalties = sa.select(RESULT.c.operator_id).where(RESULT.c.month == month, RESULT.c.penalty > 0)
    ids |= set(execute_core(session, penalties).scalars())
    ids |= {operator_id for operator_id, _ in _operators_with_documents(session, month, None)}
    if operator_ids is not None:
        _check_operators(session, operator_ids)
        ids &= set(operator_ids)
    return _named(session, ids)


def _operators_with_documents(
    session: Session, month: str, operator_ids: Collection[int] | None
) -> list[tuple[int, str]]:
    query = sa.select(DOCUMENT.c.operator_id).where(DOCUMENT.c.month == month).distinct()
    ids = set(execute_core(session, query).scalars())
    if operator_ids is not None:
        _check_operators(session, operator_ids)
        ids &= set(operator_ids)
    return _named(session, ids)


def _named(session: Session, ids: Collection[int]) -> list[tuple[int, str]]:
    if not ids:
        return []
    rows = session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(sorted(ids)))
    ).all()
    named = [(operator_id, name) for operator_id, name in rows if operator_id is not None]
    return sorted(named, key=lambda pair: pair[1])


def _check_operators(session: Session, operator_ids: Collection[int]) -> None:
    known = set(
        session.exec(select(Organisation.id).where(col(Organisation.id).in_(operator_ids))).all()
    )
    unknown = sorted(set(operator_ids) - known)
    if unknown:
        raise NotFound.of("operator", f"no operator with id {unknown[0]}")


def _closed_month(year: int, month: int, today: date) -> tuple[date, date]:
    first, last = month_days(year, month)
    if today <= last:
        raise InvalidInput.of(
            "month",
            f"{month_label(year, month)} is not over (it ends on {last}): a month is billed "
            f"from the next day on",
        )
    return first, last


def _outcome(
    session: Session, kind: DocumentKind, document: BillingDocument | None, action: Action
) -> DocumentOutcome:
    if document is None:
        return DocumentOutcome(
            kind=kind,
            action=action,
            document_id=None,
            state=None,
            number=None,
            lines=0,
            total_net=ZERO,
            total_vat=ZERO,
            total_gross=ZERO,
        )
    count = execute_core(
        session, sa.select(sa.func.count()).where(LINE.c.document_id == document.id)
    ).scalar_one()
    return DocumentOutcome(
        kind=kind,
        action=action,
        document_id=document.id,
        state=document.state,
        number=document.number,
        lines=count,
        total_net=document.total_net,
        total_vat=document.total_vat,
        total_gross=document.total_gross,
    )


def _id(document: BillingDocument | None) -> int | None:
    return document.id if document is not None else None
