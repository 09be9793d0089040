"""Engines and sessions.

SQLite is the embedded default. It is configured so that it keeps the same promises as
PostgreSQL: foreign keys enforced, and write transactions serialized from their first
statement (``BEGIN IMMEDIATE``) so that two concurrent writers never both pass a check the
database makes, for instance a VLAN held twice.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

SQLITE_CACHE_KIB = 64 * 1024
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "gigalis_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the project's connection settings applied."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The driver's own transaction handling is switched off so that BEGIN is ours to send.
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args["isolation_level"] = None
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # A page cache of up to 64 MiB per connection (SQLite's default is 2 MiB), filled
        # only as pages are read: a scrape of /metrics reads every circuit, and with the
        # default most of its pages came through the operating system again each time.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    writers = WriterQueue(timeout=connect_args["timeout"])

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock at BEGIN: a transaction that reads, checks, then writes
        # cannot be overtaken between its check and its write. A session opened read-only
        # takes no lock, so concurrent readers overlap (WAL gives each a consistent snapshot).
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        if read_only:
            connection.exec_driver_sql("BEGIN")
            return
        writers.enter(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(connection.info)
            raise

    for name in ("commit", "rollback"):
        event.listen(engine, name, lambda connection: writers.leave(connection.info))
    for name in ("checkin", "invalidate", "close"):  # a transaction that never ended
        event.listen(engine.pool, name, lambda _dbapi, record, *_: writers.leave(record.info))
    return engine


class WriterQueue:
    """The writers of one process take turns here before SQLite's write lock.

    SQLite makes a second writer sleep and retry (its busy handler), longest for those that
    waited longest, so under load some requests waited the whole busy timeout and failed
    while others went straight through, and the lock sat idle between a commit and the next
    retry (bench/ordering.py). A lock in the process hands over at once. Writers of other
    processes still meet at SQLite's own lock."""

    HELD = "gigalis_holds_writer_turn"

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout  # SQLite's busy timeout: a writer waits as long as there

    def enter(self, info: dict[str, Any]) -> None:
        if info.get(self.HELD):
            return  # this connection's transaction has its turn already
        if not self._lock.acquire(timeout=self._timeout):
            # The error SQLite itself gives a writer that waited its busy timeout out.
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        info[self.HELD] = True

    def leave(self, info: dict[str, Any]) -> None:
        if info.pop(self.HELD, False):
            self._lock.release()


@contextmanager
def session_scope(
    engine: Engine, actor: str = "system", *, read_only: bool = False
) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises.

    ``actor`` is who the audit log will name for every change made in this session.
    ``read_only`` promises that the session only reads, so that on SQLite it need not wait
    for the write lock; a write in such a session is not refused, but can fail when another
    writer got there first.
    """
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    with Session(bind, expire_on_commit=False) as session:
        session.info["actor"] = actor
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
