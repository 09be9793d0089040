"""Notification subscriptions (the TMF622 ``/hub``), the callback policy, and the delivery
log the NOC reads.

An operator registers a callback URL and, optionally, which event types it wants; its events
are then delivered there by :mod:`gigalis_nms.ordering.delivery`, signed with a secret shown
once, in the answer to the registration. The secret is never stored: it is an HMAC of the
service's secret key over the subscription's id and a random salt, recomputed to sign.

A callback makes the service send requests where someone else chose, so its address is
checked, at registration and again before every attempt (a name may resolve elsewhere
later): never link-local (cloud metadata services live there), multicast, unspecified or
reserved; loopback and private networks only where ``hub_allow_private_callbacks`` says so.

One caller registers one callback once for an event type: a second subscription of the same
operator (or of staff) to the same callback for any of the same event types is refused (409
naming ``callback`` and the subscription there already), since each event would be delivered
twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Self, cast
from urllib.parse import parse_qs

import httpx
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlmodel import Session, col, select

from gigalis_nms.db.listing import Listing, exact, execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import Conflict, InvalidInput, NotFound
from gigalis_nms.ordering.events import EVENT_TYPES, wanted_event_types
from gigalis_nms.ordering.models import (
    DeliveryState,
    EventDelivery,
    HubSubscription,
    OrderEvent,
)

logger = logging.getLogger(__name__)

CALLBACK_MAX_LENGTH = 2000
QUERY_MAX_LENGTH = 500
CALLBACK_SCHEMES = frozenset({"http", "https"})
SUBSCRIPTION_REMOVED = "subscription removed"
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits: judged by that address.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


# --- Payloads -------------------------------------------------------------------------------


class HubCreate(BaseModel):
    """What an operator sends to register a callback (TMF622 ``Hub``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "callback": "https://oss.example.net/tmf/listener",
                    "query": "eventType=productOrderStateChangeEvent",
                }
            ]
        },
    )
    callback: str = Field(
        max_length=CALLBACK_MAX_LENGTH, description="http or https URL the events are POSTed to"
    )
    query: str | None = Field(
        None,
        max_length=QUERY_MAX_LENGTH,
        description="eventType=<type>[,<type>…]; absent: every event type",
    )


class HubView(BaseModel):
    """A registered subscription as the API shows it (ids are strings in TMF)."""

    id: str
    callback: str
    query: str | None


class HubCreated(HubView):
    secret: str = Field(
        description="Gigalis extension: the HMAC key that signs the deliveries (header "
        "X-Gigalis-Signature). Shown once, in this answer only; keep it."
    )


def hub_view(subscription: HubSubscription) -> HubView:
    return HubView(
        id=str(subscription.id), callback=subscription.callback, query=subscription.query
    )


# --- The signing secret ---------------------------------------------------------------------


def subscription_secret(secret_key: SecretStr | str, subscription_id: int, salt: str) -> str:
    """The signing secret of a subscription, derived, never stored (hex).

    >>> a = subscription_secret("key", 1, "salt")
    >>> a == subscription_secret("key", 1, "salt"), a == subscription_secret("key", 2, "salt")
    (True, False)
    >>> len(a)
    64
    """
    key = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
    message = f"hub-subscription:{subscription_id}:{salt}"
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Gigalis-Signature`` value of one delivery: ``sha256=<hex>`` of the HMAC of
    ``timestamp + "." + body``; a receiver recomputes it to trust the body and its time.

    >>> signature("s", "1700000000", b"{}")[:7]
    'sha256='
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


# --- The callback policy --------------------------------------------------------------------


def address_refusal(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why a callback may not be sent to ``address``; None when it may.

    >>> address_refusal(ipaddress.ip_address("169.254.169.254"), allow_private=True)
    'link-local address 169.254.169.254 (cloud metadata services live there)'
    >>> address_refusal(ipaddress.ip_address("10.0.0.1"), allow_private=False)
    'private address 10.0.0.1 (hub_allow_private_callbacks is off)'
    >>> address_refusal(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    True
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped, allow_private=allow_private)
    if address.is_loopback:  # before "reserved": ::1 is in the reserved ::/8
        return None if allow_private else _private(address)
    if address.is_link_local:
        return f"link-local address {address} (cloud metadata services live there)"
    if address.is_multicast:
        return f"multicast address {address}"
    if address.is_unspecified or (address.version == 4 and address.packed[0] == 0):
        return f"unspecified address {address}"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_refusal(embedded, allow_private=allow_private)
    if address.is_reserved:
        return f"reserved address {address}"
    if address.is_private or not address.is_global:
        return None if allow_private else _private(address)
    return None


def _private(address: IpAddress) -> str:
    return f"private address {address} (hub_allow_private_callbacks is off)"


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or NAT64 address reaches, which is where packets go."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP (an address literal is itself)."""
    try:
        answers = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise InvalidInput.of("callback", f"host {host} cannot be resolved ({error})") from None
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def parse_callback(callback: str) -> httpx.URL:
    """The callback as the HTTP client will read it, or InvalidInput on ``callback``.

    Parsed by the client's own parser: a URL read one way by the check and another by the
    sender is the classic way around such a check.
    """
    if len(callback) > CALLBACK_MAX_LENGTH:
        raise InvalidInput.of("callback", f"longer than {CALLBACK_MAX_LENGTH} characters")
    if any(character.isspace() or ord(character) < 32 for character in callback):
        raise InvalidInput.of("callback", "contains spaces or control characters")
    try:
        url = httpx.URL(callback)
    except (httpx.InvalidURL, ValueError) as error:
        raise InvalidInput.of("callback", f"not a URL ({error})") from None
    if url.scheme not in CALLBACK_SCHEMES:
        raise InvalidInput.of("callback", "the scheme must be http or https")
    if not url.host:
        raise InvalidInput.of("callback", "names no host")
    if url.userinfo:
        raise InvalidInput.of("callback", "may not carry a user name or password")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise InvalidInput.of("callback", f"port {url.port} is not between 1 and 65535")
    return url


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def callback_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def callback_addresses(
    callback: str, *, allow_private: bool, resolve: Resolver = resolve_host
) -> tuple[httpx.URL, list[str]]:
    """The parsed callback and the addresses it resolves to, each one allowed; InvalidInput
    on ``callback`` naming the first refused address otherwise.

    Every address must pass, not just one: the client may connect to any of them.
    """
    url = parse_callback(callback)
    host = url.raw_host.decode("ascii")
    addresses = [host] if _is_address(host) else list(resolve(host, callback_port(url)))
    if not addresses:
        raise InvalidInput.of("callback", f"host {url.host} resolves to no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone index
        refusal = address_refusal(address, allow_private=allow_private)
        if refusal is not None:
            raise InvalidInput.of("callback", f"refused: {url.host} is {refusal}")
    return url, addresses


def check_query(query: str | None) -> str | None:
    """The query of a subscription, checked: ``eventType=`` and known event types only.

    >>> check_query("eventType=productOrderStateChangeEvent")
    'eventType=productOrderStateChangeEvent'
    >>> check_query("") is None
    True
    """
    if query is None or not query.strip():
        return None
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidInput.of("query", "not a query string (eventType=<type>,…)") from None
    other = sorted(set(parsed) - {"eventType"})
    if other:
        raise InvalidInput.of("query", f"unknown attribute {other[0]!r}; only eventType is read")
    names = [name.strip() for value in parsed["eventType"] for name in value.split(",")]
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown or not names:
        known = ", ".join(EVENT_TYPES)
        raise InvalidInput.of("query", f"unknown event type {unknown[:1] or ['']}; one of {known}")
    return query


# --- Subscriptions --------------------------------------------------------------------------


def register_subscription(
    session: Session,
    body: HubCreate,
    *,
    operator_id: int | None,
    secret_key: SecretStr | str,
    allow_private: bool,
    actor: str,
    resolve: Resolver = resolve_host,
) -> HubCreated:
    """Register a callback for ``operator_id``'s events (None: a staff subscription, which
    receives every operator's events); the answer carries the signing secret, once."""
    url, _ = callback_addresses(body.callback, allow_private=allow_private, resolve=resolve)
    query = check_query(body.query)
    refuse_duplicate(session, operator_id, url, query)
    subscription = HubSubscription(
        operator_id=operator_id,
        callback=body.callback,
        query=query,
        secret_salt=secrets.token_hex(16),
        created_by=actor,
    )
    session.add(subscription)
    session.flush()
    assert subscription.id is not None
    logger.info(
        "hub subscription %s: registered by %s for operator %s", subscription.id, actor, operator_id
    )
    secret = subscription_secret(secret_key, subscription.id, subscription.secret_salt)
    return HubCreated(**hub_view(subscription).model_dump(), secret=secret)


def refuse_duplicate(
    session: Session, operator_id: int | None, url: httpx.URL, query: str | None
) -> None:
    """Conflict naming ``callback`` when ``operator_id`` (None: staff) already has a live
    subscription to ``url`` for any of the event types ``query`` asks for."""
    # Shortcoming: two identical registrations at the same instant can both pass this read;
    # a unique index over the operator and the callback would refuse the second one.
    wanted = wanted_event_types(query) or frozenset(EVENT_TYPES)
    owner = col(HubSubscription.operator_id)
    mine = select(HubSubscription).where(
        col(HubSubscription.removed_at).is_(None),
        owner.is_(None) if operator_id is None else owner == operator_id,
    )
    for existing in session.exec(mine.order_by(col(HubSubscription.id))):
        if _same_callback(existing.callback, url):
            both = wanted & (wanted_event_types(existing.query) or frozenset(EVENT_TYPES))
            if both:
                raise Conflict.of("callback", _duplicate_reason(existing, both))


def _same_callback(registered: str, url: httpx.URL) -> bool:
    """Whether a registered callback is ``url`` where requests go: scheme, host (any case),
    port (the default one written or not), path and query.

    >>> _same_callback("HTTPS://Oss.test:443/e?x=1", httpx.URL("https://oss.test/e?x=1"))
    True
    >>> _same_callback("https://oss.test/e", httpx.URL("https://oss.test/f"))
    False
    """
    try:
        other = httpx.URL(registered)
    except (httpx.InvalidURL, ValueError):
        return False

    def key(value: httpx.URL) -> tuple[str, str, int, bytes]:
        return value.scheme, value.host.lower(), callback_port(value), value.raw_path

    return key(other) == key(url)


def _duplicate_reason(existing: HubSubscription, event_types: frozenset[str]) -> str:
    """
    >>> sub = HubSubscription(id=7, callback="https://oss.test/e", secret_salt="", created_by="")
    >>> _duplicate_reason(sub, frozenset(EVENT_TYPES))
    'already registered as hub subscription 7 for every event type: each event would arrive twice'
    """
    which = (
        "every event type"
        if event_types == frozenset(EVENT_TYPES)
        else ", ".join(sorted(event_types))
    )
    return (
        f"already registered as hub subscription {existing.id} for {which}: "
        "each event would arrive twice"
    )


def list_subscriptions(session: Session, tenant: int | None) -> list[HubSubscription]:
    """Live subscriptions, oldest first: an operator's own, or every one for staff."""
    query = select(HubSubscription).where(col(HubSubscription.removed_at).is_(None))
    if tenant is not None:
        query = query.where(col(HubSubscription.operator_id) == tenant)
    return list(session.exec(query.order_by(col(HubSubscription.id))).all())


def get_subscription(session: Session, subscription_id: int, tenant: int | None) -> HubSubscription:
    """A live subscription the caller may see; another operator's answers NotFound."""
    subscription = session.get(HubSubscription, subscription_id)
    if subscription is None or subscription.removed_at is not None:
        raise NotFound.of("path.id", f"no hub subscription {subscription_id}")
    if tenant is not None and subscription.operator_id != tenant:
        # Said exactly as for a missing one: another operator's subscription is not there.
        raise NotFound.of("path.id", f"no hub subscription {subscription_id}")
    return subscription


def remove_subscription(
    session: Session, subscription_id: int, tenant: int | None, *, now: datetime | None = None
) -> int:
    """Remove a subscription: nothing more is delivered to it, and its pending deliveries
    are abandoned. How many were abandoned."""
    subscription = get_subscription(session, subscription_id, tenant)
    subscription.removed_at = now or utcnow()
    session.add(subscription)
    deliveries = table_of(EventDelivery)
    result = execute_core(
        session,
        sa.update(deliveries)
        .where(
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.state == DeliveryState.PENDING.value,
        )
        .values(state=DeliveryState.ABANDONED.value, last_error=SUBSCRIPTION_REMOVED),
    )
    abandoned = cast(sa.CursorResult[Any], result).rowcount
    logger.info("hub subscription %s: removed, %d deliveries abandoned", subscription_id, abandoned)
    return int(abandoned)


# --- The delivery log -----------------------------------------------------------------------


def held_back_by(deliveries: sa.FromClause, earlier: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """The conditions under which a delivery of ``earlier`` holds back one of
    ``deliveries``: pending, for the same subscription and order, of an earlier event. The
    dispatcher sends nothing so held back, and the log says what it waits for."""
    return [
        earlier.c.subscription_id == deliveries.c.subscription_id,
        earlier.c.order_id == deliveries.c.order_id,
        earlier.c.event_id < deliveries.c.event_id,
        earlier.c.state == DeliveryState.PENDING.value,
    ]


class DeliveryView(BaseModel):
    """One event for one subscription, and what became of it."""

    id: int
    event_id: int
    event_type: str
    order_id: int
    subscription_id: int
    callback: str
    state: DeliveryState
    attempts: int
    last_status: int | None = Field(description="the callback's HTTP status; None: unreachable")
    last_error: str | None
    next_attempt_at: datetime | None = Field(
        description="when it is tried next; None while it waits for an earlier delivery"
    )
    waiting_for: int | None = Field(
        None,
        description="the earlier delivery of the same order and subscription, still pending, "
        "that goes first: events of an order arrive in order",
    )
    delivered_at: datetime | None

    @model_validator(mode="after")
    def _waiting_has_no_time(self) -> Self:
        # Its next_attempt_at passes unnoticed while it waits: showing it would read as a
        # retry that never comes.
        if self.waiting_for is not None:
            self.next_attempt_at = None
        return self


class DeliveryLog(Listing):
    """Deliveries with their event's type and their subscription's callback."""

    def statement(self) -> sa.Select[tuple[object, ...]]:
        deliveries = table_of(EventDelivery)
        events = table_of(OrderEvent)
        hubs = table_of(HubSubscription)
        earlier = deliveries.alias("earlier")
        waiting_for = (
            sa.select(earlier.c.id)
            .where(deliveries.c.state == DeliveryState.PENDING.value)
            .where(*held_back_by(deliveries, earlier))
            .order_by(earlier.c.event_id, earlier.c.id)
            .limit(1)
            .correlate(deliveries)
            .scalar_subquery()
        )
        return sa.select(
            deliveries.c.id,
            deliveries.c.event_id,
            events.c.event_type,
            deliveries.c.order_id,
            deliveries.c.subscription_id,
            hubs.c.callback,
            deliveries.c.state,
            deliveries.c.attempts,
            deliveries.c.last_status,
            deliveries.c.last_error,
            deliveries.c.next_attempt_at,
            waiting_for.label("waiting_for"),
            deliveries.c.delivered_at,
        ).select_from(
            deliveries.join(events, events.c.id == deliveries.c.event_id).join(
                hubs, hubs.c.id == deliveries.c.subscription_id
            )
        )


DELIVERY_LOG = DeliveryLog(
    table=EventDelivery,
    public=DeliveryView,
    filters={
        "order": exact(EventDelivery, "order_id", "an order's id; repeat for any of several"),
        "subscription": exact(EventDelivery, "subscription_id", "a hub subscription's id"),
        "state": exact(EventDelivery, "state", "pending, delivered or abandoned"),
    },
    descending=True,  # newest first, as logs are read
)


def delivery_view(session: Session, delivery_id: int) -> DeliveryView:
    """One row of the delivery log."""
    query = DELIVERY_LOG.statement().where(table_of(EventDelivery).c.id == delivery_id)
    row = execute_core(session, query).mappings().first()
    if row is None:
        raise NotFound.of("path.delivery_id", f"no delivery {delivery_id}")
    return DeliveryView.model_validate(dict(row))


def retry_delivery(
    session: Session, delivery_id: int, *, now: datetime | None = None
) -> EventDelivery:
    """Make an abandoned delivery pending again, with a fresh series of attempts.

    The later events of its order may have been delivered meanwhile (an abandoned delivery
    no longer holds them back), so this one then arrives after them: receivers order the
    events of an order by ``eventId``.
    """
    delivery = session.get(EventDelivery, delivery_id)
    if delivery is None:
        raise NotFound.of("path.delivery_id", f"no delivery {delivery_id}")
    if delivery.state is not DeliveryState.ABANDONED:
        raise InvalidInput.of(
            "state",
            f"delivery {delivery_id} is {delivery.state.value}; only an abandoned one is retried",
        )
    subscription = session.get(HubSubscription, delivery.subscription_id)
    if subscription is None or subscription.removed_at is not None:
        raise InvalidInput.of("subscription", f"delivery {delivery_id}'s subscription was removed")
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.add(delivery)
    session.flush()
    logger.info("delivery %s: pending again, by hand", delivery_id)
    return delivery
