"""Fixtures shared by every test folder.

Database tests run twice, on SQLite and on a real PostgreSQL 15 that the suite starts itself
in a temporary folder on a loopback port (or the one named by GIGALIS_TEST_POSTGRES_URL).
Without PostgreSQL installed the PostgreSQL half is skipped with the reason, except in CI
(CI=true), where a missing PostgreSQL fails the run instead of hiding behind a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gigalis_nms.db import make_engine, upgrade
from gigalis_nms.db.metadata import metadata
from tests.postgres import PostgresUnavailable, TemporaryPostgres

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def need(condition: bool, reason: str) -> None:
    """Skip when a system component is missing, but fail in CI, where it must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder decides the marker, so `pytest -m unit` needs no decorator on every test.
    for item in items:
        folder = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if folder in {"unit", "integration", "lab"}:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("GIGALIS_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        # Not under pytest's temporary root: that is private to root, and the server runs
        # as the postgres account when the tests run as root.
        server = TemporaryPostgres(Path(tempfile.mkdtemp(prefix="gigalis-test-postgres-")))
    except PostgresUnavailable as missing:
        need(False, f"PostgreSQL server: {missing}")
        return
    with server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL database, migrated once; tests empty it after use."""
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close folds the WAL into the file, so a copy is whole
    return path


# Reference data the migrations seed, which no test writes: the platforms the project drives
# and their manufacturers (0009). Emptying them would leave PostgreSQL tests without the rows
# every fresh database has.
SEEDED_TABLES = frozenset({"alembic_version", "manufacturer", "platform"})


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(
        f'"{table.name}"' for table in metadata.sorted_tables if table.name not in SEEDED_TABLES
    )
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind; the test may commit freely."""
    if request.param == "sqlite":
        path = tmp_path / "gigalis.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    template: Engine = request.getfixturevalue("postgres_template")
    _empty_postgres(template)
    yield template
    _empty_postgres(template)


@pytest.fixture
def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
