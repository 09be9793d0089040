"""The database layer and the rules the database itself enforces, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.migrate import current_revision, downgrade, head_revision, upgrade
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import OrganisationKind
from gigalis_nms.inventory.models import Organisation


def test_migrations_reach_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"site", "device", "fibre_cable", "circuit", "vlan_holding", "audit_entry"} <= tables


def test_downgrade_to_nothing_and_back(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert "site" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "site" in inspect(engine).get_table_names()


@pytest.mark.parametrize("url", ["sqlite:///:memory:"])
def test_sqlite_enforces_foreign_keys(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}", connect_args={"timeout": 2})
    upgrade(engine)
    with session_scope(engine) as writer:
        writer.add(Organisation(name="Gigalis", kind=OrganisationKind.MEMBER))
        writer.flush()  # the writer now holds SQLite's write lock until it commits
        with session_scope(engine, read_only=True) as reader:
            seen = reader.scalar(sa.select(sa.func.count()).select_from(table_of(Organisation)))
        assert seen == 0  # the reader saw the last committed state without waiting
        # A second writer, by contrast, waits for the lock and gives up after the timeout.
        with pytest.raises(OperationalError, match="locked"), session_scope(engine) as other:
            other.execute(sa.text("SELECT 1"))
