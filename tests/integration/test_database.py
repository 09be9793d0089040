"""The database layer and the rules the database itself enforces, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from gigalis_nms.db import make_engine
from gigalis_nms.db.migrate import current_revision, downgrade, head_revision, upgrade


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
