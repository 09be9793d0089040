"""Taking turns on the routers: one job, dry run or drift check at a time.

Each of them loads a candidate into the router's per-session files, and a job rolls back any
commit it finds waiting for confirmation (the leftover of an interrupted run): two at once
would undo each other's work, or leave a router half-configured. They therefore hold the one
row of ``device_work_lock`` while they work, across every process that uses the database,
with a heartbeat; a holder whose heartbeat stopped (or whose process on this machine is
gone) is replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict
from gigalis_nms.provisioning.jobs import HEARTBEAT_EVERY, runner_gone
from gigalis_nms.provisioning.models import DeviceWorkLock

logger = logging.getLogger(__name__)

LOCK_ROW = 1


def _try_take(engine: Engine, holder: str, purpose: str) -> str | None:
    """Take the lock for ``holder``; None when taken, else who holds it and for what."""
    with session_scope(engine, actor=holder) as session:
        row = session.exec(
            select(DeviceWorkLock).where(col(DeviceWorkLock.id) == LOCK_ROW).with_for_update()
        ).first()
        if row is None:  # a database emptied by hand, or by a test: the row comes back
            row = DeviceWorkLock(id=LOCK_ROW)
            session.add(row)
        now = utcnow()
        busy = row.holder is not None and row.holder != holder
        if busy and not runner_gone(row.holder, row.heartbeat_at, now):
            return f"{row.purpose} ({row.holder}, since {row.heartbeat_at:%H:%M:%S} UTC)"
        if busy:
            logger.warning(
                "taking the routers over from %s (%s): it stopped", row.holder, row.purpose
            )
        row.holder, row.purpose, row.heartbeat_at = holder, purpose, now
    return None


def _take(engine: Engine, holder: str, purpose: str) -> str | None:
    try:
        return _try_take(engine, holder, purpose)
    except IntegrityError:  # two processes put the missing row back at once
        return _try_take(engine, holder, purpose)


def _release(engine: Engine, holder: str) -> None:
    with session_scope(engine, actor=holder) as session:
        session.execute(
            sa.update(DeviceWorkLock)
            .where(col(DeviceWorkLock.id) == LOCK_ROW, col(DeviceWorkLock.holder) == holder)
            .values(holder=None, purpose=None, heartbeat_at=None)
        )


def _beat(engine: Engine, holder: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
        try:
            with session_scope(engine, actor=holder) as session:
                session.execute(
                    sa.update(DeviceWorkLock)
                    .where(col(DeviceWorkLock.holder) == holder)
                    .values(heartbeat_at=utcnow())
                )
        except Exception:  # a missed beat is not lost work; the next one may pass
            logger.warning("router lock: heartbeat not written", exc_info=True)


@contextmanager
def routers_to_myself(
    engine: Engine, holder: str, purpose: str, *, wait_seconds: float = 0
) -> Iterator[None]:
    """Hold the routers while the block runs; wait up to ``wait_seconds`` for the holder
    before it, then Conflict naming it."""
    deadline = time.monotonic() + wait_seconds
    while (busy := _take(engine, holder, purpose)) is not None:
        if time.monotonic() >= deadline:
            raise Conflict.of("routers", f"busy with {busy}; try again when it has ended")
        time.sleep(1)
    stop = threading.Event()
    beating = threading.Thread(target=_beat, args=(engine, holder, stop), daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()
        _release(engine, holder)
