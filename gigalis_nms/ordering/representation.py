"""Orders and cancellations as TMF622 documents (JSON-ready dicts): what the API answers and
what every event carries, so these functions only read.

Gigalis extensions, kept beside the TMF fields: ``requestedEndDate`` (temporary capacity) and
``stateChange``, the order's history: every move of the order and of its items, in order,
with its time, reason and actor.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from gigalis_nms.catalogue.tmf620 import offering_href
from gigalis_nms.inventory.models import Circuit, Organisation
from gigalis_nms.ordering.models import (
    CancellationState,
    CancelProductOrder,
    ItemAction,
    OrderStateChange,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.pricing import ItemPrice, tmf_prices

ORDER_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
CANCEL_PATH = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
QUALIFICATION_PATH = (
    "/tmf-api/productOfferingQualificationManagement/v4/productOfferingQualification"
)
QUOTE_PATH = "/tmf-api/quoteManagement/v4/quote"
CIRCUIT_PATH = "/api/v1/circuits"
DEFAULT_VAT_RATE = Decimal("0.20")  # items ordered before the rate was recorded with them


def order_href(order_id: int | None) -> str:
    return f"{ORDER_PATH}/{order_id}"


def cancellation_href(cancellation_id: int | None) -> str:
    return f"{CANCEL_PATH}/{cancellation_id}"


def tmf_time(moment: datetime | None) -> str | None:
    """>>> from datetime import UTC
    >>> tmf_time(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    '2026-03-01T09:30:00Z'
    """
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def tmf_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def json_ready(value: Any) -> Any:
    """``value`` with its Decimal amounts as JSON numbers, as the catalogue API writes them:
    the document is stored in events (a JSON column) as well as answered.

    >>> json_ready({"value": Decimal("420.00"), "taxRate": Decimal("20.00")})
    {'value': 420.0, 'taxRate': 20.0}
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value


def order_resource(session: Session, order: ProductOrder) -> dict[str, Any]:
    """The order as a TMF622 ``ProductOrder``."""
    items = session.exec(
        select(ProductOrderItem)
        .where(col(ProductOrderItem.order_id) == order.id)
        .order_by(col(ProductOrderItem.id))
    ).all()
    changes = session.exec(
        select(OrderStateChange)
        .where(col(OrderStateChange.order_id) == order.id)
        .order_by(col(OrderStateChange.id))
    ).all()
    completion = next(
        (
            item.request["requestedCompletionDate"]
            for item in items
            if item.request.get("requestedCompletionDate")
        ),
        None,
    )
    document: dict[str, Any] = {
        "id": str(order.id),
        "href": order_href(order.id),
        "externalId": order.external_id,
        "state": order.state.value,
        "orderDate": tmf_time(order.created_at),
        "requestedStartDate": tmf_day(order.requested_start_date),
        "requestedCompletionDate": completion,
        "requestedEndDate": tmf_day(order.requested_end_date),
        "completionDate": tmf_time(order.completed_at),
        "cancellationDate": tmf_time(order.cancelled_at),
        "cancellationReason": order.cancellation_reason,
        "description": order.description,
        "note": list(order.notes),
        "relatedParty": [_customer(session, order.operator_id)],
        "productOrderItem": [_item(session, item) for item in items],
        "stateChange": [_change(change) for change in changes],
        "@type": "ProductOrder",
    }
    return {name: value for name, value in document.items() if value is not None}


def _customer(session: Session, operator_id: int) -> dict[str, Any]:
    organisation = session.get(Organisation, operator_id)
    return {
        "id": str(operator_id),
        "name": organisation.name if organisation else None,
        "role": "customer",
        "@referredType": "Organization",
    }


def _item(session: Session, item: ProductOrderItem) -> dict[str, Any]:
    asked = item.request
    document: dict[str, Any] = {
        "id": item.item_id,
        "action": item.action.value,
        "state": item.state.value,
        "product": _product(session, item),
    }
    if item.offering_id is not None:
        document["productOffering"] = {
            "id": item.offering_id,
            "href": offering_href(item.offering_id),
        }
    if item.one_time_price is not None and item.recurring_price is not None:
        rate = Decimal(asked.get("vatRate", DEFAULT_VAT_RATE))
        price = ItemPrice(item.one_time_price, item.recurring_price)
        document["itemPrice"] = json_ready(tmf_prices(price, rate))
    if item.qualification_id is not None:
        reference = asked.get("productOfferingQualificationItem", {})
        document["productOfferingQualificationItem"] = {
            "id": reference.get("id", "1"),
            "productOfferingQualificationId": str(item.qualification_id),
            "href": f"{QUALIFICATION_PATH}/{item.qualification_id}",
        }
    if item.quote_id is not None:
        reference = asked.get("quoteItem", {})
        document["quoteItem"] = {
            "id": reference.get("id", "1"),
            "quoteId": str(item.quote_id),
            "href": f"{QUOTE_PATH}/{item.quote_id}",
        }
    if item.reason is not None:
        document["stateReason"] = item.reason
    if item.released_at is not None:
        document["releaseDate"] = tmf_time(item.released_at)
    return document


def _product(session: Session, item: ProductOrderItem) -> dict[str, Any]:
    asked = item.request.get("product", {})
    product: dict[str, Any] = {}
    circuit = session.get(Circuit, item.circuit_id) if item.circuit_id is not None else None
    if item.circuit_ref is not None:
        product["id"] = item.circuit_ref
    if circuit is not None:
        product["href"] = f"{CIRCUIT_PATH}/{circuit.id}"
        product["status"] = circuit.status.value
    if asked.get("place"):
        product["place"] = asked["place"]
    characteristics = [
        entry
        for entry in asked.get("productCharacteristic", [])
        if entry["name"] != "bandwidthMbps"
    ]
    if item.bandwidth_mbps is not None:
        characteristics.insert(0, {"name": "bandwidthMbps", "value": item.bandwidth_mbps})
    if item.action is ItemAction.MODIFY and item.previous_bandwidth_mbps is not None:
        characteristics.append(
            {"name": "previousBandwidthMbps", "value": item.previous_bandwidth_mbps}
        )
    if characteristics:
        product["productCharacteristic"] = characteristics
    return product


def _change(change: OrderStateChange) -> dict[str, Any]:
    document: dict[str, Any] = {
        "state": change.to_state,
        "changeDate": tmf_time(change.at),
        "changeReason": change.reason,
        "actor": change.actor,
    }
    if change.item_id is not None:
        document["itemId"] = change.item_id
    return document


def cancellation_resource(cancellation: CancelProductOrder, order: ProductOrder) -> dict[str, Any]:
    """A cancellation request as a TMF622 ``CancelProductOrder``."""
    document: dict[str, Any] = {
        "id": str(cancellation.id),
        "href": cancellation_href(cancellation.id),
        "state": cancellation.state.value,
        "cancellationReason": cancellation.cancellation_reason,
        "requestedCancellationDate": tmf_time(cancellation.requested_at),
        "effectiveCancellationDate": tmf_time(cancellation.effective_at),
        "productOrder": {"id": str(order.id), "href": order_href(order.id)},
        "@type": "CancelProductOrder",
    }
    if cancellation.state is CancellationState.TERMINATED_WITH_ERROR:
        document["stateReason"] = cancellation.error
    return {name: value for name, value in document.items() if value is not None}
