"""What an order's POST and PATCH carry (TMF622 ProductOrder bodies), the days they name,
and the Idempotency-Key that makes a retried POST find its first order.

Requested dates are calendar days in Europe/Paris: a date-time is read as the Paris day it
falls on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field

from gigalis_nms.errors import (
    InvalidInput,
)
from gigalis_nms.ordering.models import (
    ItemAction,
)
from gigalis_nms.ordering.parties import RelatedParty
from gigalis_nms.ordering.requests import (
    ProductOfferingRef,
    ProductValue,
    TmfModel,
)

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
IDEMPOTENCY_FIELD = "header.idempotency-key"
MAX_ITEMS = 20


# --- days -----------------------------------------------------------------------------------


def paris_day(moment: datetime) -> date:
    """The calendar day in Europe/Paris at ``moment`` (UTC when naive).

    >>> paris_day(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    datetime.date(2027, 1, 1)
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(PARIS).date()


def _requested_day(value: Any) -> Any:
    """A TMF date-time or a plain date, read as its Europe/Paris day (a date-time without an
    offset is taken as Paris time)."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) nor a date-time") from None
        if moment.tzinfo is None:
            return moment.date()
        return paris_day(moment)
    if isinstance(value, datetime):
        return paris_day(value) if value.tzinfo else value.date()
    return value


RequestedDay = Annotated[date, BeforeValidator(_requested_day)]


# --- what a POST carries --------------------------------------------------------------------


class Note(TmfModel):
    text: str = Field(min_length=1, max_length=2000)
    author: str | None = Field(None, min_length=1, max_length=200)


class QualificationItemRef(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    product_offering_qualification_id: str = Field(
        alias="productOfferingQualificationId", min_length=1, max_length=20
    )
    href: str | None = Field(None, max_length=500)


class QuoteItemRef(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    quote_id: str = Field(alias="quoteId", min_length=1, max_length=20)
    href: str | None = Field(None, max_length=500)


class OrderItemCreate(TmfModel):
    id: str = Field(min_length=1, max_length=32, description="unique in the order")
    action: ItemAction
    product_offering: ProductOfferingRef | None = Field(None, alias="productOffering")
    product: ProductValue
    product_offering_qualification_item: QualificationItemRef | None = Field(
        None, alias="productOfferingQualificationItem"
    )
    quote_item: QuoteItemRef | None = Field(None, alias="quoteItem")


class OrderCreate(TmfModel):
    """A TMF622 ProductOrder as an operator posts it."""

    external_id: str | None = Field(None, alias="externalId", min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    requested_start_date: RequestedDay | None = Field(None, alias="requestedStartDate")
    requested_completion_date: RequestedDay | None = Field(None, alias="requestedCompletionDate")
    requested_end_date: RequestedDay | None = Field(
        None,
        alias="requestedEndDate",
        description="Gigalis extension: temporary capacity, released after this day",
    )
    note: list[Note] = Field(default_factory=list, max_length=20)
    related_party: list[RelatedParty] = Field(
        default_factory=list, alias="relatedParty", max_length=10
    )
    product_order_item: list[OrderItemCreate] = Field(
        alias="productOrderItem", min_length=1, max_length=MAX_ITEMS
    )


class OrderPatch(TmfModel):
    """What a PATCH may change (every field optional; null clears what may be cleared, which
    is not a start date: see :func:`gigalis_nms.ordering.orders.patch_order`)."""

    external_id: str | None = Field(None, alias="externalId", min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    note: list[Note] = Field(default_factory=list, max_length=20)
    requested_start_date: RequestedDay | None = Field(None, alias="requestedStartDate")
    requested_end_date: RequestedDay | None = Field(None, alias="requestedEndDate")


PATCHABLE = frozenset(
    {"externalId", "description", "note", "requestedStartDate", "requestedEndDate"}
)
TMF_META = frozenset({"@type", "@baseType", "@schemaLocation"})


def request_fingerprint(body: OrderCreate) -> str:
    """sha256 of the body as canonical JSON: the same order written with its keys in another
    order has the same fingerprint."""
    document = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    """The header's value, or InvalidInput naming it: 1 to 200 printable ASCII characters.

    >>> check_idempotency_key("retry-7f3a")
    'retry-7f3a'
    """
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not all(" " <= char <= "~" for char in key):
        raise InvalidInput.of(IDEMPOTENCY_FIELD, "1 to 200 printable ASCII characters")
    return key
