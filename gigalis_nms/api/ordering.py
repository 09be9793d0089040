"""Product orders as TMF622 Product Ordering Management: ``/productOrder`` and
``/cancelProductOrder``, and the NOC's actions on orders (a Gigalis extension).

- ``POST /productOrder`` answers **201** with the new order and its ``Location``. Sent again
  with the same ``Idempotency-Key`` and the same body, it answers **200** with the order the
  first POST made and the header ``Idempotent-Replayed: true``; the same key with another
  body is refused (422 naming ``header.idempotency-key``). An ``externalId`` already used by
  the operator answers 409 naming that order; an order the network has no room for answers
  409 naming the item and the link, and nothing is written.
- Lists answer a bare JSON array, with ``X-Total-Count`` and ``X-Result-Count``; ``limit``
  and ``offset`` page them; ``fields`` is accepted and ignored; any other unknown parameter
  answers 400.
- ``PATCH`` takes ``application/merge-patch+json`` (or ``application/json``).
- ``POST /productOrder/{id}/accept``, ``…/reject`` and
  ``…/productOrderItem/{itemId}/complete`` (field work done) are for admin and noc tokens.

An operator token orders for its own organisation and sees only its own orders and
cancellations; another operator's answer 404. Staff tokens name the operator they order for
in ``relatedParty`` (role customer); viewers read only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import (
    EVERYONE,
    WRITERS,
    CurrentPrincipal,
    DbSession,
    RoleRequirement,
    Tenant,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import PageParameters, filters_from
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import Principal
from gigalis_nms.errors import InvalidInput, PermissionDenied, with_article
from gigalis_nms.ordering import bodies, cancellation, fulfilment, orders, taking
from gigalis_nms.ordering.models import ProductOrder
from gigalis_nms.ordering.representation import (
    cancellation_href,
    cancellation_resource,
    order_href,
    order_resource,
)

BASE_PATH = "/tmf-api/productOrderingManagement/v4"
ORDERERS = frozenset({Role.ADMIN, Role.NOC, Role.OPERATOR})
IGNORED_PARAMETERS = ("fields",)

router = APIRouter(
    prefix=BASE_PATH,
    tags=["ordering"],
    dependencies=[Depends(RoleRequirement(EVERYONE, "read orders"))],
    responses=error_responses(401, 403),
)
orderers = [Depends(RoleRequirement(ORDERERS, "place or change orders"))]

OrderId = Annotated[str, Path(alias="id", max_length=20, description="the order's id")]
CancellationId = Annotated[
    str, Path(alias="id", max_length=20, description="the cancellation's id")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1-200 printable characters; a POST retried with it makes no second order",
    ),
]


REJECT_REASON_REQUIRED = "required: say why the order is rejected"


class RejectRequest(BaseModel):
    # ``reason`` is required, but checked in the route: missing, it is refused naming
    # ``reason`` with a sentence for the NOC, not pydantic's "body: Field required".
    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["reason"]})
    reason: str | None = Field(None, max_length=500, description="told to the operator")


def reject_reason(body: RejectRequest | None) -> str:
    """The reason of a reject request; InvalidInput naming ``reason`` when there is none."""
    reason = None if body is None else body.reason
    if reason is None or not reason.strip():
        raise InvalidInput.of("reason", REJECT_REASON_REQUIRED)
    return reason


def _wake_order_worker(request: Request, session: Session) -> None:
    """Commit first: the worker must see the order it is woken for."""
    session.commit()
    worker = getattr(request.app.state, "order_worker", None)
    if worker is not None:
        worker.wake()


def _order(session: Session, order_id: str, tenant: int | None) -> ProductOrder:
    return orders.get_order(session, orders.order_id_of(order_id), tenant=tenant)


def _noc_only(principal: Principal, action: str) -> None:
    """After the tenancy check, so that an operator learns nothing of another's order."""
    if principal.role not in WRITERS:
        raise PermissionDenied(f"{with_article(principal.role)} token may not {action}")


def _tmf_list(total: int, documents: list[dict[str, Any]]) -> JSONResponse:
    headers = {"X-Total-Count": str(total), "X-Result-Count": str(len(documents))}
    return JSONResponse(documents, headers=headers)


# --- productOrder ---------------------------------------------------------------------------


@router.post(
    "/productOrder",
    dependencies=orderers,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 415, 422),
)
def create_product_order(
    *,
    request: Request,
    body: bodies.OrderCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    catalogue: ServiceCatalogue,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Order: add (a new circuit, its capacity held at once), modify (a new bandwidth,
    checked again) or delete (terminate) items. Answers 201, or 200 for a POST replayed with
    the same Idempotency-Key and body."""
    made = taking.create_order(
        session,
        catalogue,
        body,
        tenant=tenant,
        actor=principal.actor,
        idempotency_key=idempotency_key,
    )
    document = order_resource(session, made.order)
    headers = {"Location": order_href(made.order.id)}
    if made.replayed:
        headers["Idempotent-Replayed"] = "true"
        return JSONResponse(document, status_code=status.HTTP_200_OK, headers=headers)
    _wake_order_worker(request, session)
    return JSONResponse(document, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("/productOrder", responses=error_responses(400, 422))
def list_product_orders(
    request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> JSONResponse:
    """Orders, newest first. Filters: state, externalId, orderDate.gt, orderDate.lt."""
    filters = filters_from(request, orders.ORDER_FILTERS, ignored=IGNORED_PARAMETERS)
    total, found = orders.list_orders(
        session, tenant=tenant, filters=filters, limit=page.limit, offset=page.offset
    )
    return _tmf_list(total, [order_resource(session, o) for o in found])


@router.get("/productOrder/{id}", responses=error_responses(404))
def get_product_order(order_id: OrderId, session: DbSession, tenant: Tenant) -> JSONResponse:
    """One order, with its items and its state history (stateChange)."""
    return JSONResponse(order_resource(session, _order(session, order_id, tenant)))


@router.patch(
    "/productOrder/{id}", dependencies=orderers, responses=error_responses(404, 409, 415, 422)
)
def patch_product_order(
    order_id: OrderId,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    document: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    """Change description, externalId, requestedStartDate (before provisioning started),
    requestedEndDate, or add notes; any other field answers 422 naming it."""
    order = _order(session, order_id, tenant)
    orders.patch_order(session, order, document, actor=principal.actor)
    return JSONResponse(order_resource(session, order))


@router.post("/productOrder/{id}/accept", responses=error_responses(404, 422))
def accept_product_order(
    request: Request,
    order_id: OrderId,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
) -> JSONResponse:
    """Gigalis extension, admin and noc: accept an acknowledged order (it goes ahead)."""
    order = _order(session, order_id, tenant)
    _noc_only(principal, "accept orders")
    orders.accept_order(session, order, actor=principal.actor)
    document = order_resource(session, order)
    _wake_order_worker(request, session)
    return JSONResponse(document)


@router.post("/productOrder/{id}/reject", responses=error_responses(404, 422))
def reject_product_order(
    order_id: OrderId,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    body: RejectRequest | None = None,
) -> JSONResponse:
    """Gigalis extension, admin and noc: reject an acknowledged order, saying why
    (``reason``, told to the operator); what it held is freed."""
    reason = reject_reason(body)
    order = _order(session, order_id, tenant)
    _noc_only(principal, "reject orders")
    orders.reject_order(session, order, actor=principal.actor, reason=reason)
    return JSONResponse(order_resource(session, order))


@router.post(
    "/productOrder/{id}/productOrderItem/{itemId}/complete",
    responses=error_responses(404, 422),
)
def complete_product_order_item(
    order_id: OrderId,
    item_id: Annotated[str, Path(alias="itemId", max_length=32)],
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
) -> JSONResponse:
    """Gigalis extension, admin and noc: the field work of a dark fibre, wavelength or
    hosting item is done; its circuit becomes active (terminated, for a delete)."""
    order = _order(session, order_id, tenant)
    _noc_only(principal, "complete order items")
    fulfilment.complete_field_item(session, order, item_id, actor=principal.actor)
    return JSONResponse(order_resource(session, order))


# --- cancelProductOrder ---------------------------------------------------------------------


@router.post(
    "/cancelProductOrder",
    dependencies=orderers,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 415, 422),
)
def create_cancel_product_order(
    body: cancellation.CancelOrderCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
) -> JSONResponse:
    """Cancel an order: done while nothing is configured yet, terminatedWithError (with the
    reason, the order unchanged) once provisioning started or the order ended."""
    made = cancellation.cancel_order(session, body, tenant=tenant, actor=principal.actor)
    order = orders.get_order(session, made.order_id, tenant=tenant)
    return JSONResponse(
        cancellation_resource(made, order),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": cancellation_href(made.id)},
    )


@router.get("/cancelProductOrder", responses=error_responses(400, 422))
def list_cancel_product_orders(
    request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> JSONResponse:
    """Cancellation requests, newest first."""
    filters_from(request, {}, ignored=IGNORED_PARAMETERS)
    total, found = cancellation.list_cancellations(
        session, tenant=tenant, limit=page.limit, offset=page.offset
    )
    documents = [cancellation_resource(made, order) for made, order in found]
    return _tmf_list(total, documents)


@router.get("/cancelProductOrder/{id}", responses=error_responses(404))
def get_cancel_product_order(
    cancellation_id: CancellationId, session: DbSession, tenant: Tenant
) -> JSONResponse:
    """One cancellation request and how it ended."""
    number = int(cancellation_id) if cancellation_id.isdigit() else 0
    made, order = cancellation.get_cancellation(session, number, tenant=tenant)
    return JSONResponse(cancellation_resource(made, order))
