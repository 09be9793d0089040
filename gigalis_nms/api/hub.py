"""Notification callbacks (TMF622 ``/hub``) and the NOC's delivery log.

An operator registers a callback for its own orders' events; an admin or NOC token registers
a staff callback, which receives every operator's events. The registration's answer carries
the signing secret (``secret``, a Gigalis extension), shown that once. Another operator's
subscription answers 404.

The delivery log (``/api/v1/hub/deliveries``) shows what was sent where and how it ended; an
abandoned delivery can be tried again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gigalis_nms.api.deps import (
    AUDITORS,
    EVERYONE,
    CurrentPrincipal,
    DbSession,
    RoleRequirement,
    Tenant,
    app_settings,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import (
    Page,
    PageParameters,
    filter_parameters,
    filters_from,
    page_response,
)
from gigalis_nms.auth.models import Role
from gigalis_nms.db.listing import fetch_page
from gigalis_nms.db.types import RowId
from gigalis_nms.ordering import hub
from gigalis_nms.settings import Settings

HUB_PATH = "/tmf-api/productOrderingManagement/v4/hub"
SUBSCRIBERS = frozenset({Role.ADMIN, Role.NOC, Role.OPERATOR})

router = APIRouter(responses=error_responses(401, 403))
subscriptions = APIRouter(prefix=HUB_PATH, tags=["ordering"])
log = APIRouter(
    prefix="/api/v1/hub",
    tags=["ordering"],
    dependencies=[Depends(RoleRequirement(AUDITORS, "read the notification delivery log"))],
)

SubscriptionId = Annotated[RowId, Path(alias="id", description="the subscription's id")]
DeliveryId = Annotated[RowId, Path(description="the delivery's id")]


@subscriptions.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=hub.HubCreated,
    dependencies=[Depends(RoleRequirement(SUBSCRIBERS, "register notification callbacks"))],
    responses=error_responses(409, 415, 422),
)
def create_hub(
    *,
    body: hub.HubCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    settings: Annotated[Settings, Depends(app_settings)],
    response: Response,
) -> hub.HubCreated:
    """Register a callback for order events, optionally only some types
    (``query: "eventType=productOrderStateChangeEvent"``). The answer's ``secret`` signs
    every delivery (``X-Gigalis-Signature``) and is never shown again. The same callback
    registered again for any of the same event types answers 409 naming ``callback`` and the
    subscription there already."""
    created = hub.register_subscription(
        session,
        body,
        operator_id=tenant,
        secret_key=settings.secret_key,
        allow_private=settings.hub_allow_private_callbacks,
        actor=principal.actor,
    )
    response.headers["Location"] = f"{HUB_PATH}/{created.id}"
    return created


@subscriptions.get(
    "",
    dependencies=[Depends(RoleRequirement(EVERYONE, "read notification callbacks"))],
    response_model=list[hub.HubView],
    responses=error_responses(400),
)
def list_hubs(
    request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> JSONResponse:
    """The caller's live callbacks (every one, for staff), oldest first, as a JSON array
    with ``X-Total-Count`` and ``X-Result-Count``."""
    filters_from(request, {})  # an unknown parameter is a 400
    views = [hub.hub_view(item) for item in hub.list_subscriptions(session, tenant)]
    window = views[page.offset : page.offset + page.limit]
    headers = {"X-Total-Count": str(len(views)), "X-Result-Count": str(len(window))}
    return JSONResponse(jsonable_encoder(window), headers=headers)


@subscriptions.get(
    "/{id}",
    dependencies=[Depends(RoleRequirement(EVERYONE, "read notification callbacks"))],
    response_model=hub.HubView,
    responses=error_responses(404, 422),
)
def get_hub(subscription_id: SubscriptionId, session: DbSession, tenant: Tenant) -> hub.HubView:
    """One callback (its secret is not shown again)."""
    return hub.hub_view(hub.get_subscription(session, subscription_id, tenant))


@subscriptions.delete(
    "/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Depends(RoleRequirement(SUBSCRIBERS, "remove notification callbacks"))],
    responses=error_responses(404, 422),
)
def delete_hub(subscription_id: SubscriptionId, session: DbSession, tenant: Tenant) -> Response:
    """Remove a callback: nothing more is sent to it; its pending deliveries are abandoned."""
    hub.remove_subscription(session, subscription_id, tenant)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@log.get(
    "/deliveries",
    response_model=Page[hub.DeliveryView],
    responses=error_responses(400, 422),
    openapi_extra={"parameters": filter_parameters(hub.DELIVERY_LOG)},
)
def list_deliveries(request: Request, session: DbSession, page: PageParameters) -> Response:
    """Every event sent or to be sent to a callback, newest first: its state, attempts,
    the callback's last answer and the next attempt. Filters: order, subscription, state."""
    filters = filters_from(request, hub.DELIVERY_LOG.filters)
    rows = fetch_page(session, hub.DELIVERY_LOG, filters, limit=page.limit, offset=page.offset)
    return page_response(request, hub.DeliveryView, page, rows)


@log.post(
    "/deliveries/{delivery_id}/retry",
    response_model=hub.DeliveryView,
    dependencies=[Depends(RoleRequirement(AUDITORS, "retry notification deliveries"))],
    responses=error_responses(404, 422),
)
def retry_delivery(
    delivery_id: DeliveryId, request: Request, session: DbSession
) -> hub.DeliveryView:
    """Make an abandoned delivery pending again, with a fresh series of attempts."""
    hub.retry_delivery(session, delivery_id)
    view = hub.delivery_view(session, delivery_id)
    session.commit()  # the dispatcher must see it before it is woken
    dispatcher = getattr(request.app.state, "event_dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return view


router.include_router(subscriptions)
router.include_router(log)
