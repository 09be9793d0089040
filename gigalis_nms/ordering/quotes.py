"""Quotes (TMF648): the catalogue's price for one offer between two sites, valid for a period.

One quote prices one item (``quoteItem`` holds exactly one): a Quote row carries one offer
and its price, and an order item names the quote it takes its price from. An operator wanting
several prices asks several quotes. Sites are named by code: a point is qualified first
(the qualification answers its nearest PoP).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session

from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.catalogue.tmf620 import offering_href
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.ordering.feasibility import Endpoint, json_ready, product_document
from gigalis_nms.ordering.models import Quote, QuoteState
from gigalis_nms.ordering.parties import RelatedParty
from gigalis_nms.ordering.pricing import ItemPrice, price_item, tmf_prices
from gigalis_nms.ordering.requests import (
    End,
    ProductOfferingRef,
    ProductValue,
    TmfModel,
    read_item,
)

logger = logging.getLogger(__name__)

BASE_PATH = "/tmf-api/quoteManagement/v4"
QUOTE_FIELD = "quoteItem.quoteId"
ITEM_FIELD = "quoteItem[0]"
QUOTE = table_of(Quote)


class QuoteItemBody(TmfModel):
    id: str = Field(min_length=1, max_length=32)
    action: Literal["add"] = "add"
    product_offering: ProductOfferingRef = Field(alias="productOffering")
    product: ProductValue


class QuoteBody(TmfModel):
    """A TMF648 quote request with one item."""

    external_id: str | None = Field(None, alias="externalId", max_length=100)
    description: str | None = Field(None, max_length=500)
    related_party: list[RelatedParty] = Field(
        default_factory=list, alias="relatedParty", max_length=5
    )
    items: list[QuoteItemBody] = Field(alias="quoteItem", min_length=1, max_length=1)


def quote_href(quote_id: int | None) -> str:
    return f"{BASE_PATH}/quote/{quote_id}"


def create_quote(
    session: Session,
    catalogue: Catalogue,
    body: QuoteBody,
    *,
    operator_id: int,
    actor: str,
    now: datetime,
    valid_days: int,
) -> Quote:
    """Price ``body``'s item from the catalogue, valid ``valid_days`` from ``now``; stored with
    its answer. InvalidInput naming the field, with nothing written, for an unknown offer or
    site, or dark fibre between sites no fibre route joins."""
    item = body.items[0]
    ask = read_item(
        session, catalogue, item.product_offering, item.product, ITEM_FIELD, points_allowed=False
    )
    price = price_item(session, catalogue, ask, field=f"{ITEM_FIELD}.product")
    quote = Quote(
        operator_id=operator_id,
        offering_id=ask.offer.id,
        catalogue_version=catalogue.version,
        state=QuoteState.APPROVED,
        one_time_price=price.one_time,
        recurring_price=price.recurring,
        distance_m=price.distance_m,
        request=body.model_dump(mode="json", by_alias=True, exclude_none=True),
        valid_until=now + timedelta(days=valid_days),
        created_at=now,
        created_by=actor,
    )
    session.add(quote)
    session.flush()
    a, z = _endpoint(ask.a), None if ask.z is None else _endpoint(ask.z)
    item_document: dict[str, Any] = {
        "id": item.id,
        "action": item.action,
        "state": QuoteState.APPROVED.value,
        "productOffering": {
            "id": ask.offer.id,
            "href": offering_href(ask.offer.id),
            "name": ask.offer.name,
        },
        "product": product_document(ask, a, z),
        "quoteItemPrice": tmf_prices(price, catalogue.vat_rate),
    }
    if price.distance_m is not None:
        item_document["distanceM"] = price.distance_m  # Gigalis: the fibre route priced
    quote.answer = json_ready(_document(quote, body, [item_document], price, catalogue))
    session.add(quote)
    session.flush()
    logger.info(
        "quote %s: %s for organisation %s, %s once and %s a month",
        quote.id,
        ask.offer.id,
        operator_id,
        price.one_time,
        price.recurring,
    )
    return quote


def _endpoint(end: End) -> Endpoint:
    assert end.site_id is not None, "quotes name sites, not points"
    assert end.site_code is not None
    return Endpoint(end.site_id, end.site_code)


def _document(
    quote: Quote,
    body: QuoteBody,
    items: list[dict[str, Any]],
    total: ItemPrice,
    catalogue: Catalogue,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": str(quote.id),
        "href": quote_href(quote.id),
        "state": quote.state.value,
        "quoteDate": quote.created_at.isoformat(),
        "version": catalogue.version,
        "validFor": {
            "startDateTime": quote.created_at.isoformat(),
            "endDateTime": quote.valid_until.isoformat(),
        },
        "relatedParty": [
            {"id": str(quote.operator_id), "role": "customer", "@referredType": "Organization"}
        ],
        "quoteItem": items,
        "quoteTotalPrice": tmf_prices(total, catalogue.vat_rate),
        "@type": "Quote",
    }
    if body.external_id is not None:
        document["externalId"] = body.external_id
    if body.description is not None:
        document["description"] = body.description
    return document


def quote_resource(quote: Quote) -> dict[str, Any]:
    """The quote as served: its stored answer, with its state now (accepted once ordered)."""
    document = dict(quote.answer)
    document["state"] = quote.state.value
    return document


def get_quote(session: Session, quote_id: int, *, tenant: int | None) -> Quote:
    """One quote; NotFound for another operator's, as for one that does not exist."""
    quote = session.get(Quote, quote_id)
    if quote is None or (tenant is not None and quote.operator_id != tenant):
        raise NotFound.of("path.id", f"no quote {quote_id}")
    return quote


def list_quotes(
    session: Session, *, tenant: int | None, limit: int, offset: int
) -> tuple[int, list[Quote]]:
    """The total and one page of the quotes the caller may see, newest first."""
    scope = [] if tenant is None else [QUOTE.c.operator_id == tenant]
    total = execute_core(session, sa.select(sa.func.count()).select_from(QUOTE).where(*scope))
    ids = execute_core(
        session,
        sa.select(QUOTE.c.id).where(*scope).order_by(QUOTE.c.id.desc()).limit(limit).offset(offset),
    ).scalars()
    quotes = [session.get(Quote, number) for number in ids]
    return total.scalar_one(), [quote for quote in quotes if quote is not None]


def quoted_price(
    session: Session, quote_id: int, *, operator_id: int, offering_id: str
) -> ItemPrice:
    """The price a quote gave, for an order placed on it: the quote becomes ACCEPTED.
    NotFound naming ``quoteItem.quoteId`` for another operator's or an unknown quote;
    InvalidInput for another offer, an expired, accepted or cancelled quote."""
    quote = session.get(Quote, quote_id, with_for_update=True)
    if quote is None or quote.operator_id != operator_id:
        raise NotFound.of(QUOTE_FIELD, f"no quote {quote_id}")
    if quote.offering_id != offering_id:
        raise InvalidInput.of(
            QUOTE_FIELD, f"quote {quote_id} prices offer {quote.offering_id}, not {offering_id}"
        )
    if quote.state is not QuoteState.APPROVED:
        raise InvalidInput.of(QUOTE_FIELD, f"quote {quote_id} is {quote.state}; ask a new one")
    if quote.valid_until <= utcnow():
        raise InvalidInput.of(
            QUOTE_FIELD,
            f"quote {quote_id} expired at {quote.valid_until:%Y-%m-%dT%H:%M:%SZ}; ask a new one",
        )
    quote.state = QuoteState.ACCEPTED
    session.add(quote)
    session.flush()
    logger.info("quote %s accepted for offer %s", quote_id, offering_id)
    return ItemPrice(quote.one_time_price, quote.recurring_price, quote.distance_m)
