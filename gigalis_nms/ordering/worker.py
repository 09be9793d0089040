"""The order worker: a thread that carries accepted orders out, inside `gigalis serve` (the
embedded default) or in any process that starts one.

Every ``settings.order_poll_seconds``, or at once when woken (an order was taken through the
API), it runs its *passes* one after the other: by default
:func:`~gigalis_nms.ordering.fulfilment.advance_orders` and the expiry of qualification
holds; whoever starts the worker may give others (delivering notifications). A pass is any callable
taking the time of the round and answering how many steps it took. When a round took a
step, ``on_progress`` is called, so that the provisioning worker runs the jobs just queued
without waiting for its own poll.

Several workers on one database are safe: each order is advanced under its row's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from gigalis_nms.background import PollingThread
from gigalis_nms.db.types import utcnow
from gigalis_nms.ordering.fulfilment import WORKER_ACTOR, advance_orders
from gigalis_nms.ordering.holds import expire_holds
from gigalis_nms.settings import Settings

logger = logging.getLogger(__name__)

OrderPass = Callable[[datetime], int]


def advance_pass(engine: Engine, settings: Settings) -> OrderPass:
    """The pass that starts and follows orders' jobs, for the routers the settings name."""
    target = settings.devices.value

    def advance(now: datetime) -> int:
        return advance_orders(engine, now=now, target=target, actor=WORKER_ACTOR)

    return advance


def holds_pass(engine: Engine) -> OrderPass:
    """The pass that releases qualification holds whose expiry has passed."""

    def expire(now: datetime) -> int:
        return len(expire_holds(engine, now))

    return expire


def default_passes(engine: Engine, settings: Settings) -> list[OrderPass]:
    return [advance_pass(engine, settings), holds_pass(engine)]


class OrderWorker(PollingThread):
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        passes: Sequence[OrderPass] | None = None,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("order-worker", settings.order_poll_seconds)
        self._passes = tuple(passes if passes is not None else default_passes(engine, settings))
        self._on_progress = on_progress

    def run_round(self, now: datetime | None = None) -> int:
        """Run every pass once now; how many steps they took in all."""
        moment = now or utcnow()
        steps = 0
        for order_pass in self._passes:
            try:
                steps += order_pass(moment)
            except Exception:  # one pass failing must not stop the others, nor the thread
                logger.exception("order worker: pass %s failed", _name(order_pass))
        if steps and self._on_progress is not None:
            self._on_progress()
        return steps


def _name(order_pass: OrderPass) -> str:
    return getattr(order_pass, "__qualname__", repr(order_pass))
