"""The databases a benchmark runs on: a fresh SQLite file, or a throwaway PostgreSQL cluster
on loopback (the one the test suite uses), each migrated to the head revision."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from gigalis_nms.db import make_engine, upgrade
from tests.postgres import TemporaryPostgres

DATABASES = ("sqlite", "postgresql")


@contextmanager
def fresh_sqlite(workdir: Path) -> Iterator[str]:
    """A new SQLite file in ``workdir``, removed (with its WAL) when the block ends."""
    path = workdir / "bench.sqlite3"
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    for leftover in files:
        leftover.unlink(missing_ok=True)
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in files:
            leftover.unlink(missing_ok=True)


@contextmanager
def fresh_postgresql() -> Iterator[str]:
    """A PostgreSQL 15 cluster of its own, stopped and removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="gigalis-bench-postgres-"))
    with TemporaryPostgres(folder) as server:
        yield server.url


@contextmanager
def migrated_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind``, migrated, for the length of the block."""
    fresh = fresh_sqlite(workdir) if kind == "sqlite" else fresh_postgresql()
    with fresh as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url


def settle(url: str) -> None:
    """Bring PostgreSQL to where autovacuum takes it a minute after a bulk load (statistics,
    and the visibility map that lets count(*) scan the index only), so that latency does not
    depend on when autovacuum happens to run. SQLite keeps no such state."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def server_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                query = sa.text("SELECT 'SQLite ' || sqlite_version()")
            else:
                query = sa.text("SELECT split_part(version(), ' on ', 1)")
            return str(connection.execute(query).scalar_one())
    finally:
        engine.dispose()
