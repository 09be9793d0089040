"""Billing tables: operators' billing accounts, subscriptions that follow circuits, invoices
and credit notes with their lines, the numbering counters, and the rendered PDFs.

- ``billing_account``: what an invoice must say about its buyer beyond the inventory's
  organisation (SIREN is there): SIRET, postal address, and for a public buyer the Chorus Pro
  fields (service code, commitment number).
- ``subscription``: one priced period of one circuit. A circuit's activation opens one; its
  termination closes it; a change of bandwidth or offer closes it the day before and opens
  the next, which keeps the contract's start and commitment. Dates are Europe/Paris days,
  ``end_date`` inclusive (the last day billed).
- ``billing_document``: an invoice (UNTDID 1001 type 380) or a credit note (381) of one
  operator for one service month. A draft has no number and may be computed again; issuing
  gives it the next number of its series and freezes it for ever (French law: corrections
  only by credit note, numbers continuous and chronological, nothing deleted).
- ``billing_line``: one charge or credit of a document, its amount excluding VAT rounded
  half-up to the cent.
- ``document_counter``: the last number given in each series, updated in the transaction
  that issues, so that numbers have no gap even when runs overlap.
- ``billing_document_pdf``: an issued document's PDF with its Factur-X XML, rendered once.

Money is ``Decimal`` EUR, stored as NUMERIC(12, 2) (``MONEY``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow
from gigalis_nms.ordering.models import MONEY


class BillingAccount(SQLModel, table=True):
    """How an operator is invoiced. Without a row, documents use the organisation's name and
    SIREN and say nothing of an address (finance is told to complete the account)."""

    __tablename__ = "billing_account"

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="organisation.id", unique=True, ondelete="CASCADE")
    legal_name: str | None = Field(default=None, max_length=200)  # else the organisation's name
    siret: str | None = Field(default=None, max_length=14)  # the establishment invoiced
    vat_number: str | None = Field(default=None, max_length=16)  # FR + key + SIREN
    address: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    country: str = Field(default="FR", max_length=2)
    email: str | None = Field(default=None, max_length=254)
    payment_days: int = Field(default=30, ge=0, le=60)  # French law caps at 60 days
    # A public buyer is invoiced through Chorus Pro: SIRET required, and its service code
    # and legal commitment number when it requires them.
    public_buyer: bool = False
    chorus_service_code: str | None = Field(default=None, max_length=100)
    commitment_number: str | None = Field(default=None, max_length=50)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SubscriptionSource(StrEnum):
    ORDER = "order"  # offer and prices from the order item that set them
    CATALOGUE = "catalogue"  # never ordered (inventory files): the offer matching the circuit


class SubscriptionEnd(StrEnum):
    TERMINATION = "termination"  # the circuit was terminated
    CHANGE = "change"  # replaced by the next subscription (bandwidth or offer change)
    SCHEDULE = "schedule"  # an IRU reached the end of its duration


class Subscription(SQLModel, table=True):
    """One priced period of a circuit, billed by day from ``start_date`` to ``end_date``
    (both included; None: still running)."""

    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int | None = Field(
        default=None, foreign_key="circuit.id", index=True, ondelete="SET NULL"
    )
    circuit_ref: str = Field(max_length=16, index=True)  # kept if the circuit row goes
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    offer_id: str = Field(max_length=64)
    offer_kind: str = Field(max_length=32)  # the catalogue's kind: ethernet, dark_fibre_iru…
    source: SubscriptionSource = Field(
        sa_column=enum_column(SubscriptionSource, nullable=False, default=SubscriptionSource.ORDER)
    )
    order_item_id: int | None = Field(
        default=None, foreign_key="product_order_item.id", ondelete="SET NULL"
    )
    bandwidth_mbps: int | None = None
    distance_m: int | None = None  # dark fibre: the route length priced
    departement: str | None = Field(default=None, max_length=3)  # of the A end, for reports
    monthly_fee: Decimal = Field(sa_type=MONEY)  # excluding VAT; IRU: maintenance / 12
    one_time_fee: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)  # FAS
    iru_price: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)  # IRU right of use
    # The contract: its first day (kept across changes), the first day free of commitment,
    # and what leaving earlier costs.
    contract_start: date
    commitment_end: date | None = None  # exclusive; None: no commitment
    early_termination_percent: Decimal = Field(default=Decimal("0"), sa_type=sa.Numeric(5, 2))
    schedule_end: date | None = None  # IRU: the day after the last day of its duration
    # This period.
    start_date: date = Field(index=True)
    end_date: date | None = Field(default=None, index=True)  # inclusive; None: running
    ended_by: SubscriptionEnd | None = Field(
        default=None, sa_column=enum_column(SubscriptionEnd, nullable=True)
    )
    replaces_id: int | None = Field(
        default=None, foreign_key="subscription.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DocumentKind(StrEnum):
    INVOICE = "invoice"  # UNTDID 1001 code 380
    CREDIT_NOTE = "credit_note"  # UNTDID 1001 code 381

    @property
    def type_code(self) -> str:
        return "380" if self is DocumentKind.INVOICE else "381"


class DocumentState(StrEnum):
    DRAFT = "draft"  # no number; computed again by each run until issued
    ISSUED = "issued"  # numbered and frozen


class LineKind(StrEnum):
    RECURRING = "recurring"  # the month's fee, prorated by day
    ONE_TIME_FEE = "one_time_fee"  # FAS, in the month of activation
    IRU = "iru"  # an IRU's right of use, in the month it is signed
    EARLY_TERMINATION = "early_termination"  # leaving inside the commitment
    SLA_CREDIT = "sla_credit"  # a penalty credited (credit notes only)


class BillingDocument(SQLModel, table=True):
    """An invoice or credit note of one operator for one service month."""

    __tablename__ = "billing_document"
    __table_args__ = (
        # One invoice and one credit note per operator and month, also under concurrent runs.
        sa.UniqueConstraint("kind", "operator_id", "month", name="uq_billing_document_month"),
        sa.UniqueConstraint("kind", "sequence", name="uq_billing_document_sequence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: DocumentKind = Field(sa_column=enum_column(DocumentKind, nullable=False))
    state: DocumentState = Field(
        sa_column=enum_column(DocumentState, nullable=False, default=DocumentState.DRAFT)
    )
    sequence: int | None = None  # the number within its series, from 1
    number: str | None = Field(default=None, max_length=32, unique=True)  # e.g. FAC-0000042
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    month: str = Field(max_length=7, index=True)  # the service month, "2026-11"
    period_start: date  # BT-73/BT-74: the service month's first and last days
    period_end: date
    issue_date: date | None = None
    due_date: date | None = None
    invoice_id: int | None = Field(  # a credit note: the invoice it corrects (BT-25)
        default=None, foreign_key="billing_document.id", ondelete="RESTRICT"
    )
    invoice_number: str | None = Field(default=None, max_length=32)
    invoice_issue_date: date | None = None  # BT-26
    currency: str = Field(default="EUR", max_length=3)
    vat_rate: Decimal = Field(sa_type=sa.Numeric(5, 4))  # 0.2000
    total_net: Decimal = Field(sa_type=MONEY)  # sum of the lines, excluding VAT
    total_vat: Decimal = Field(sa_type=MONEY)  # total_net × vat_rate, half-up to the cent
    total_gross: Decimal = Field(sa_type=MONEY)
    catalogue_version: str = Field(max_length=32)
    # The buyer as invoiced (name, SIREN, SIRET, address, Chorus Pro fields): copied at each
    # computation of a draft and frozen with the document when issued.
    buyer: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    fingerprint: str = Field(max_length=64)  # of buyer and lines: a run compares it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_by: str | None = Field(default=None, max_length=200)


class BillingLine(SQLModel, table=True):
    """One line of a document: what is charged (or credited), for which circuit and days."""

    __tablename__ = "billing_line"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="billing_document.id", index=True, ondelete="CASCADE")
    position: int = Field(ge=1)
    kind: LineKind = Field(sa_column=enum_column(LineKind, nullable=False))
    circuit_ref: str | None = Field(default=None, max_length=16)
    subscription_id: int | None = Field(
        default=None, foreign_key="subscription.id", index=True, ondelete="SET NULL"
    )
    sla_result_id: int | None = Field(
        default=None, foreign_key="sla_result.id", ondelete="SET NULL"
    )
    offer_id: str | None = Field(default=None, max_length=64)
    departement: str | None = Field(default=None, max_length=3)
    description: str = Field(max_length=300)
    period_start: date | None = None
    period_end: date | None = None  # inclusive
    # amount = unit_price × quantity / basis, half-up to the cent. A prorated month: the
    # monthly fee × days billed / days in the month; a one-time charge: price × 1 / 1.
    unit_price: Decimal = Field(sa_type=MONEY)
    quantity: Decimal = Field(sa_type=sa.Numeric(12, 4))
    basis: Decimal = Field(default=Decimal("1"), sa_type=sa.Numeric(12, 4))
    unit: str = Field(default="C62", max_length=3)  # UN/ECE rec 20: C62 one, DAY, MON month
    amount: Decimal = Field(sa_type=MONEY)  # excluding VAT


class DocumentCounter(SQLModel, table=True):
    """The last sequence number given in a series (``invoice``, ``credit_note``)."""

    __tablename__ = "document_counter"

    series: str = Field(primary_key=True, max_length=32)
    last_number: int = Field(default=0, ge=0)


class BillingDocumentPdf(SQLModel, table=True):
    """The PDF/A-3 of an issued document, with its Factur-X XML embedded: rendered once, since
    an issued document never changes. Drafts are rendered on demand and never stored."""

    __tablename__ = "billing_document_pdf"

    document_id: int = Field(
        foreign_key="billing_document.id", primary_key=True, ondelete="CASCADE"
    )
    pdf: bytes = Field(sa_type=sa.LargeBinary)
    sha256: str = Field(max_length=64)
    rendered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
