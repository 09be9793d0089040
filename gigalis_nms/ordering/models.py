"""Ordering tables: qualifications and the capacity they hold, quotes, product orders and
their items, every state change, cancellation requests, and the notifications sent to the
operators' callbacks.

The vocabulary is the TM Forum's (TMF679 qualification, TMF648 quote, TMF622 product order):
an operator *qualifies* an offer between two places, may *hold* the capacity found until an
expiry time, gets a *quote*, then *orders*. Each order item acts on one circuit: ``add``
creates it, ``modify`` changes its bandwidth, ``delete`` terminates it.

Ids are integers here and strings in the TMF representations (TMF ids are strings).
Times are UTC; requested dates are calendar days in Europe/Paris.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow

MONEY = sa.Numeric(12, 2)


# --- Circuit references -----------------------------------------------------------------------


class CircuitRefCounter(SQLModel, table=True):
    """The last number given to a new circuit reference of one service (ETH, DF, WAV, HST).

    A reference is never given twice, even after its circuit was deleted (a hold that
    expired, an order given back): orders, jobs and invoices keep naming it, and must never
    come to name another operator's circuit."""

    __tablename__ = "circuit_ref_counter"

    service_code: str = Field(primary_key=True, max_length=8)
    last_number: int = Field(ge=0)


# --- Qualification (TMF679) -----------------------------------------------------------------


class QualificationResult(StrEnum):
    QUALIFIED = "qualified"  # deliverable as asked
    UNQUALIFIED = "unqualified"  # not deliverable, and nothing close is
    ALTERNATE = "alternate"  # not as asked, but an alternative is proposed


class HoldState(StrEnum):
    """What became of the capacity a qualification held."""

    NONE = "none"  # no hold was asked, or nothing could be held
    HELD = "held"  # a reserved, designed circuit keeps the capacity until the expiry
    ORDERED = "ordered"  # an order took the held circuit over
    EXPIRED = "expired"  # the expiry passed: the circuit was deleted, its capacity freed
    RELEASED = "released"  # given back before the expiry


class Qualification(SQLModel, table=True):
    """One feasibility check (a TMF679 productOfferingQualification with one item), its
    answer as served, and the capacity held for it."""

    __tablename__ = "qualification"

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    offering_id: str = Field(max_length=64)
    a_site_id: int | None = Field(default=None, foreign_key="site.id", ondelete="RESTRICT")
    z_site_id: int | None = Field(default=None, foreign_key="site.id", ondelete="RESTRICT")
    bandwidth_mbps: int | None = None
    protected: bool = False
    result: QualificationResult = Field(sa_column=enum_column(QualificationResult, nullable=False))
    reason: str | None = Field(default=None, max_length=2000)
    # The request and the answer exactly as the API took and gave them, so that a GET
    # returns what the POST answered even after the network changed.
    request: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    answer: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    hold_state: HoldState = Field(
        HoldState.NONE, sa_column=enum_column(HoldState, nullable=False, index=True)
    )
    # The reserved circuit that holds the capacity; SET NULL so that the qualification
    # outlives a hold circuit deleted at expiry.
    held_circuit_id: int | None = Field(
        default=None, foreign_key="circuit.id", index=True, ondelete="SET NULL"
    )
    hold_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(max_length=200)


# --- Quote (TMF648) -------------------------------------------------------------------------


class QuoteState(StrEnum):
    APPROVED = "approved"  # priced and valid until valid_until: it may be ordered
    ACCEPTED = "accepted"  # an order was placed on it
    CANCELLED = "cancelled"


class Quote(SQLModel, table=True):
    """A price from the catalogue for one offer between two places, valid for a period."""

    __tablename__ = "quote"

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    offering_id: str = Field(max_length=64)
    catalogue_version: str = Field(max_length=32)
    state: QuoteState = Field(
        QuoteState.APPROVED, sa_column=enum_column(QuoteState, nullable=False)
    )
    one_time_price: Decimal = Field(sa_type=MONEY)
    recurring_price: Decimal = Field(sa_type=MONEY, description="per month, excluding VAT")
    distance_m: int | None = None  # dark fibre: the fibre route length priced
    request: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    answer: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(max_length=200)


# --- Product order (TMF622) -----------------------------------------------------------------


class OrderState(StrEnum):
    """The TMF622 product order states (the subset Gigalis uses is in ORDER_TRANSITIONS)."""

    ACKNOWLEDGED = "acknowledged"  # received and valid; waiting for acceptance
    REJECTED = "rejected"  # refused by the NOC; nothing held any more
    PENDING = "pending"
    HELD = "held"
    IN_PROGRESS = "inProgress"  # accepted: scheduled or being provisioned
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"  # some items completed, others failed
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"


ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.ACKNOWLEDGED: frozenset(
        {OrderState.IN_PROGRESS, OrderState.REJECTED, OrderState.ASSESSING_CANCELLATION}
    ),
    OrderState.IN_PROGRESS: frozenset(
        {
            OrderState.COMPLETED,
            OrderState.FAILED,
            OrderState.PARTIAL,
            OrderState.ASSESSING_CANCELLATION,
        }
    ),
    # A cancellation is assessed, then either carried out or refused (back where it was).
    OrderState.ASSESSING_CANCELLATION: frozenset(
        {OrderState.PENDING_CANCELLATION, OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS}
    ),
    OrderState.PENDING_CANCELLATION: frozenset({OrderState.CANCELLED}),
}
FINAL_ORDER_STATES = frozenset(
    {
        OrderState.REJECTED,
        OrderState.CANCELLED,
        OrderState.COMPLETED,
        OrderState.FAILED,
        OrderState.PARTIAL,
    }
)


class ItemAction(StrEnum):
    ADD = "add"  # a new circuit
    MODIFY = "modify"  # a circuit's bandwidth (and offer) changes
    DELETE = "delete"  # a circuit is terminated


class ItemState(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


ITEM_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.ACKNOWLEDGED: frozenset(
        {ItemState.IN_PROGRESS, ItemState.REJECTED, ItemState.CANCELLED}
    ),
    ItemState.IN_PROGRESS: frozenset({ItemState.COMPLETED, ItemState.FAILED, ItemState.CANCELLED}),
}


class ProductOrder(SQLModel, table=True):
    __tablename__ = "product_order"
    __table_args__ = (
        # A POST retried with the same key finds the order the first one made.
        sa.UniqueConstraint("operator_id", "idempotency_key", name="uq_order_idempotency"),
        sa.UniqueConstraint("operator_id", "external_id", name="uq_order_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    external_id: str | None = Field(default=None, max_length=100)
    idempotency_key: str | None = Field(default=None, max_length=200)
    # sha256 of the canonical request body: the same key with another body is refused.
    request_fingerprint: str | None = Field(default=None, max_length=64)
    state: OrderState = Field(
        OrderState.ACKNOWLEDGED, sa_column=enum_column(OrderState, nullable=False, index=True)
    )
    description: str | None = Field(default=None, max_length=500)
    # Activation is scheduled for this day (Europe/Paris); None: as soon as accepted.
    requested_start_date: date | None = None
    # Temporary capacity: the circuits added are released at the end of this day.
    requested_end_date: date | None = None
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_by: str | None = Field(default=None, max_length=200)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancellation_reason: str | None = Field(default=None, max_length=500)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProductOrderItem(SQLModel, table=True):
    """One item of an order: an action on one circuit, priced when ordered."""

    __tablename__ = "product_order_item"
    __table_args__ = (sa.UniqueConstraint("order_id", "item_id", name="uq_order_item"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="product_order.id", index=True, ondelete="CASCADE")
    item_id: str = Field(max_length=32, description="the item's id as the operator gave it")
    action: ItemAction = Field(sa_column=enum_column(ItemAction, nullable=False))
    offering_id: str | None = Field(default=None, max_length=64)
    state: ItemState = Field(
        ItemState.ACKNOWLEDGED, sa_column=enum_column(ItemState, nullable=False)
    )
    circuit_id: int | None = Field(
        default=None, foreign_key="circuit.id", index=True, ondelete="SET NULL"
    )
    circuit_ref: str | None = Field(default=None, max_length=16)  # kept if the circuit goes
    bandwidth_mbps: int | None = None
    previous_bandwidth_mbps: int | None = None  # modify: what it was, to restore on failure
    qualification_id: int | None = Field(
        default=None, foreign_key="qualification.id", ondelete="SET NULL"
    )
    quote_id: int | None = Field(default=None, foreign_key="quote.id", ondelete="SET NULL")
    job_id: int | None = Field(
        default=None, foreign_key="provisioning_job.id", index=True, ondelete="SET NULL"
    )
    one_time_price: Decimal | None = Field(default=None, sa_type=MONEY)
    recurring_price: Decimal | None = Field(default=None, sa_type=MONEY)
    # What the operator asked, as it asked it (characteristics, places), echoed back.
    request: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    reason: str | None = Field(default=None, max_length=4000)
    # Temporary capacity released (the circuit's deprovisioning job was queued).
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrderStateChange(SQLModel, table=True):
    """One transition of an order or of one of its items, kept for ever, in order."""

    __tablename__ = "order_state_change"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="product_order.id", index=True, ondelete="CASCADE")
    item_id: str | None = Field(default=None, max_length=32)  # None: the order itself
    from_state: str | None = Field(default=None, max_length=32)  # None: created
    to_state: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, max_length=4000)
    actor: str = Field(max_length=200)


class CancellationState(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    DONE = "done"
    TERMINATED_WITH_ERROR = "terminatedWithError"


class CancelProductOrder(SQLModel, table=True):
    """A request to cancel an order (TMF622 cancelProductOrder), and how it ended."""

    __tablename__ = "cancel_product_order"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="product_order.id", index=True, ondelete="CASCADE")
    state: CancellationState = Field(
        CancellationState.ACKNOWLEDGED, sa_column=enum_column(CancellationState, nullable=False)
    )
    cancellation_reason: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, max_length=2000)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    effective_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


# --- Notifications (TMF hub) ----------------------------------------------------------------


class HubSubscription(SQLModel, table=True):
    """An operator's callback. Its signing secret is never stored: it is derived from the
    service's secret key and ``secret_salt`` (see ordering.hub), shown once at registration."""

    __tablename__ = "hub_subscription"

    id: int | None = Field(default=None, primary_key=True)
    # None: a staff subscription that receives every operator's events.
    operator_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    callback: str = Field(max_length=2000)
    query: str | None = Field(default=None, max_length=500)  # e.g. eventType=productOrder…
    secret_salt: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(max_length=200)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrderEvent(SQLModel, table=True):
    """An event about an order, with the order as it was at that moment. Its id orders the
    events of one order: deliveries follow it."""

    __tablename__ = "order_event"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="product_order.id", index=True, ondelete="CASCADE")
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    event_type: str = Field(max_length=64)
    event_time: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class DeliveryState(StrEnum):
    PENDING = "pending"  # not yet acknowledged; next_attempt_at says when it is tried
    DELIVERED = "delivered"  # the callback answered 2xx
    ABANDONED = "abandoned"  # every attempt failed, or the subscription was removed


class EventDelivery(SQLModel, table=True):
    """One event for one subscription: the delivery log the NOC reads."""

    __tablename__ = "event_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "subscription_id", name="uq_delivery_event_subscription"),
        sa.Index("ix_event_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="order_event.id", index=True, ondelete="CASCADE")
    subscription_id: int = Field(foreign_key="hub_subscription.id", index=True, ondelete="CASCADE")
    order_id: int = Field(foreign_key="product_order.id", index=True, ondelete="CASCADE")
    state: DeliveryState = Field(
        DeliveryState.PENDING, sa_column=enum_column(DeliveryState, nullable=False)
    )
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None  # the callback's HTTP status, None when unreachable
    last_error: str | None = Field(default=None, max_length=2000)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
