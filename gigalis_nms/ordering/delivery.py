"""The dispatcher: sends pending event deliveries to their callbacks, signed, in order, with
retries.

Rules a receiver can rely on:

- for one subscription and one order, events arrive in event-id order: a delivery is due
  only when no earlier delivery of that subscription and order is still pending, so a
  failing event holds back the later events of its order, never those of other orders;
- each POST carries the event as JSON and ``X-Gigalis-Event-Id``, ``X-Gigalis-Event-Type``,
  ``X-Gigalis-Delivery``, ``X-Gigalis-Timestamp`` and ``X-Gigalis-Signature: sha256=<hex
  HMAC-SHA256(secret, timestamp + "." + body)>`` (see :func:`~.hub.signature`);
- a 2xx answer acknowledges; anything else, a redirect, a refused address, a network error
  or 5 s of silence is retried after 1 s, 2 s, 4 s … (at most 1 h, with a little jitter),
  and abandoned after :data:`MAX_ATTEMPTS`, which lets the next event of the order go;
- delivery is at least once: a dispatcher that dies between sending and recording leaves
  the delivery to be sent again when its claim lapses. ``X-Gigalis-Delivery`` tells
  duplicates apart.

Several dispatchers may share a database: a delivery is claimed (row lock, SKIP LOCKED on
PostgreSQL; SQLite serializes writers) by pushing its ``next_attempt_at`` past a lease, the
claim is committed, and only then is the callback called; no transaction stays open across
the HTTP request.
"""

from __future__ import annotations

import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gigalis_nms.background import PollingThread
from gigalis_nms.db import session_scope
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import InvalidInput
from gigalis_nms.ordering.hub import (
    Resolver,
    callback_addresses,
    held_back_by,
    resolve_host,
    signature,
    subscription_secret,
)
from gigalis_nms.ordering.models import (
    DeliveryState,
    EventDelivery,
    HubSubscription,
    OrderEvent,
)
from gigalis_nms.settings import Settings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
TIMEOUT_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 1.0
LONGEST_BACKOFF_SECONDS = 3600.0
JITTER = 0.1  # up to 10 % more, so that retries of many deliveries do not fall together
# How long a claimed delivery is left to its dispatcher: longer than an attempt can take.
CLAIM_LEASE = timedelta(seconds=60)
CLAIM_BATCH = 50
SENDERS = 8  # concurrent requests in a pass: one silent callback must not stall the others
PASS_INTERVAL_SECONDS = 0.5
ERROR_MAX_LENGTH = 2000
ACTOR = "hub-dispatcher"


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery taken by this dispatcher, with what it needs to send it."""

    id: int
    event_id: int
    event_type: str
    payload: dict[str, Any]
    order_id: int
    subscription_id: int
    callback: str
    secret_salt: str
    attempts: int  # before this one
    claimed_at: datetime


@dataclass(frozen=True)
class Attempt:
    """How one POST ended: the callback's status (None: never answered) and why it failed."""

    status: int | None
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def backoff(attempts: int, *, jitter: float | None = None) -> timedelta:
    """The wait after the ``attempts``-th failure: 1 s, 2 s, 4 s … capped at an hour, plus
    ``jitter`` (a fraction; random up to :data:`JITTER` by default).

    >>> [backoff(n, jitter=0).total_seconds() for n in (1, 2, 3, 13, 40)]
    [1.0, 2.0, 4.0, 3600.0, 3600.0]
    """
    exponent = min(max(attempts - 1, 0), 32)
    seconds = min(FIRST_BACKOFF_SECONDS * 2**exponent, LONGEST_BACKOFF_SECONDS)
    spread = random.uniform(0, JITTER) if jitter is None else jitter  # a spread, not a secret
    return timedelta(seconds=seconds * (1 + spread))


# --- Claiming -------------------------------------------------------------------------------


def due_deliveries(now: datetime, limit: int) -> sa.Select[tuple[int]]:
    """Ids of pending deliveries due at ``now`` whose subscription and order have no earlier
    delivery still pending, oldest event first, locked for this dispatcher."""
    deliveries = table_of(EventDelivery)
    held_back = sa.exists().where(*held_back_by(deliveries, deliveries.alias("earlier")))
    return (
        sa.select(deliveries.c.id)
        .where(
            deliveries.c.state == DeliveryState.PENDING.value,
            deliveries.c.next_attempt_at <= now,
            ~held_back,
        )
        .order_by(deliveries.c.event_id, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )


def claim_due(engine: Engine, now: datetime, limit: int = CLAIM_BATCH) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries: each is leased to this dispatcher until
    ``now + CLAIM_LEASE``, and the claim is committed before anything is sent."""
    deliveries = table_of(EventDelivery)
    with session_scope(engine, actor=ACTOR) as session:
        ids = list(execute_core(session, due_deliveries(now, limit)).scalars())
        if not ids:
            return []
        execute_core(
            session,
            sa.update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(next_attempt_at=now + CLAIM_LEASE, last_attempt_at=now),
        )
        return _claimed(session, ids, now)


def _claimed(session: Any, ids: list[int], now: datetime) -> list[ClaimedDelivery]:
    deliveries = table_of(EventDelivery)
    events = table_of(OrderEvent)
    hubs = table_of(HubSubscription)
    query = (
        sa.select(
            deliveries.c.id,
            deliveries.c.event_id,
            events.c.event_type,
            events.c.payload,
            deliveries.c.order_id,
            deliveries.c.subscription_id,
            hubs.c.callback,
            hubs.c.secret_salt,
            deliveries.c.attempts,
        )
        .select_from(
            deliveries.join(events, events.c.id == deliveries.c.event_id).join(
                hubs, hubs.c.id == deliveries.c.subscription_id
            )
        )
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.event_id)
    )
    return [
        ClaimedDelivery(**row._asdict(), claimed_at=now) for row in execute_core(session, query)
    ]


# --- Sending --------------------------------------------------------------------------------


def new_client() -> httpx.Client:
    """The HTTP client of a dispatcher.

    No proxy from the environment (a callback goes where it was checked to go), no
    redirects, and no kept-alive connections: the connection is made to the address checked
    for this delivery, and a pooled one, made for another callback's name on the same
    address, would skip this name's TLS verification.
    """
    return httpx.Client(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def delivery_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed, which the signature covers."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_headers(
    claimed: ClaimedDelivery, secret: str, body: bytes, now: datetime
) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Gigalis-Event-Id": str(claimed.event_id),
        "X-Gigalis-Event-Type": claimed.event_type,
        "X-Gigalis-Delivery": str(claimed.id),
        "X-Gigalis-Timestamp": timestamp,
        "X-Gigalis-Signature": signature(secret, timestamp, body),
    }


def send_delivery(
    client: httpx.Client,
    claimed: ClaimedDelivery,
    secret: str,
    *,
    now: datetime,
    allow_private: bool,
    resolve: Resolver = resolve_host,
) -> Attempt:
    """POST one delivery to its callback, checked again first: the callback's name may
    resolve elsewhere than at registration."""
    try:
        url, addresses = callback_addresses(
            claimed.callback, allow_private=allow_private, resolve=resolve
        )
    except InvalidInput as refused:
        return Attempt(None, refused.problems[0].reason if refused.problems else refused.message)

    body = delivery_body(claimed.payload)
    headers = delivery_headers(claimed, secret, body, now)
    # The request goes to the address just checked, not to a second lookup of the name that
    # could answer differently; Host and TLS (SNI and certificate) keep the name.
    headers["Host"] = url.netloc.decode("ascii")
    pinned = url.copy_with(host=addresses[0].split("%", 1)[0])
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    # Shortcoming: the 5 s limit holds for each network operation, not for the whole attempt;
    # a callback that trickles its answer keeps one sender busy longer.
    try:
        with client.stream(
            "POST",
            pinned,
            content=body,
            headers=headers,
            extensions=extensions,
            follow_redirects=False,
        ) as response:
            status = response.status_code  # the body is never read: only the status counts
    except httpx.HTTPError as error:
        return Attempt(None, f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH])
    if 200 <= status < 300:
        return Attempt(status)
    if 300 <= status < 400:
        return Attempt(status, f"HTTP {status}: redirects are not followed")
    return Attempt(status, f"HTTP {status}")


# --- Recording ------------------------------------------------------------------------------


def record_attempt(
    engine: Engine, claimed: ClaimedDelivery, attempt: Attempt, now: datetime
) -> None:
    """Write down how the attempt ended. Nothing is written if the delivery was meanwhile
    abandoned (its subscription removed) or claimed again after this claim's lease lapsed."""
    deliveries = table_of(EventDelivery)
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status": attempt.status,
        "last_error": attempt.error,
    }
    if attempt.acknowledged:
        values |= {"state": DeliveryState.DELIVERED.value, "delivered_at": now}
    elif attempts >= MAX_ATTEMPTS:
        values |= {"state": DeliveryState.ABANDONED.value}
    else:
        values |= {"next_attempt_at": now + backoff(attempts)}
    with session_scope(engine, actor=ACTOR) as session:
        execute_core(
            session,
            sa.update(deliveries)
            .where(
                deliveries.c.id == claimed.id,
                deliveries.c.state == DeliveryState.PENDING.value,
                deliveries.c.last_attempt_at == claimed.claimed_at,
            )
            .values(**values),
        )
    _log_attempt(claimed, attempt, attempts)


def _log_attempt(claimed: ClaimedDelivery, attempt: Attempt, attempts: int) -> None:
    if attempt.acknowledged:
        logger.debug("delivery %s: event %s acknowledged", claimed.id, claimed.event_id)
    elif attempts >= MAX_ATTEMPTS:
        logger.warning(
            "delivery %s: event %s of order %s abandoned after %d attempts: %s",
            claimed.id,
            claimed.event_id,
            claimed.order_id,
            attempts,
            attempt.error,
        )
    else:
        logger.info(
            "delivery %s: attempt %d of event %s failed: %s",
            claimed.id,
            attempts,
            claimed.event_id,
            attempt.error,
        )


# --- One pass, and the thread that runs passes ----------------------------------------------


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Send every delivery due at ``now`` (default: the present), the next events of an
    order as soon as the one before is acknowledged; how many attempts were made.

    The pass ends: every attempt pushes its delivery past the pass's time or ends it.
    """
    clock = now or utcnow()
    http = client or new_client()
    attempted = 0
    try:
        while batch := claim_due(engine, clock, CLAIM_BATCH):
            outcomes = _send_all(http, batch, settings, clock, resolve)
            for claimed, attempt in zip(batch, outcomes, strict=True):
                record_attempt(engine, claimed, attempt, now or utcnow())
            attempted += len(batch)
    finally:
        if client is None:
            http.close()
    return attempted


def _send_all(
    client: httpx.Client,
    batch: list[ClaimedDelivery],
    settings: Settings,
    now: datetime,
    resolve: Resolver,
) -> list[Attempt]:
    def send(claimed: ClaimedDelivery) -> Attempt:
        secret = subscription_secret(
            settings.secret_key, claimed.subscription_id, claimed.secret_salt
        )
        return send_delivery(
            client,
            claimed,
            secret,
            now=now,
            allow_private=settings.hub_allow_private_callbacks,
            resolve=resolve,
        )

    if len(batch) == 1:
        return [send(batch[0])]
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(batch))) as senders:
        return list(senders.map(send, batch))


class EventDispatcher(PollingThread):
    """A thread that runs a delivery pass every :data:`PASS_INTERVAL_SECONDS`, or at once
    when woken (an event was just committed). The attempts under way when it is stopped end
    first, each within the request timeout."""

    def __init__(
        self, engine: Engine, settings: Settings, *, interval: float = PASS_INTERVAL_SECONDS
    ) -> None:
        super().__init__("hub-dispatcher", interval)
        self._engine = engine
        self._settings = settings
        self._client: httpx.Client | None = None

    def run_round(self) -> None:
        try:
            deliver_due(self._engine, self._settings, client=self._client)
        except Exception:  # the dispatcher outlives a database hiccup
            logger.exception("hub dispatcher: a delivery pass failed")

    def _loop(self) -> None:
        with new_client() as client:  # one client for the thread's life
            self._client = client
            super()._loop()
