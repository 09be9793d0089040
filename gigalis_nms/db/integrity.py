"""What the database refused, read the same way on PostgreSQL and SQLite.

PostgreSQL names the broken constraint in the error's diagnostics. SQLite only writes it in
the message: the table and columns for UNIQUE, the constraint's name for CHECK, nothing at
all for FOREIGN KEY. Both are reduced to a :class:`Violation`, completed from the metadata,
whose constraint names are deterministic (see :mod:`gigalis_nms.db.types`). Turning a
violation into a sentence for the user is the business of the capability that wrote the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gigalis_nms.db.metadata import metadata
from gigalis_nms.errors import Conflict, FieldProblem


class ViolationKind(StrEnum):
    UNIQUE = "unique"
    CHECK = "check"
    FOREIGN_KEY = "foreign_key"
    NOT_NULL = "not_null"
    OTHER = "other"


@dataclass(frozen=True)
class Violation:
    """One constraint the database enforced, with what is known of it."""

    kind: ViolationKind
    constraint: str | None = None
    table: str | None = None
    columns: tuple[str, ...] = ()


POSTGRES_STATES = {
    "23505": ViolationKind.UNIQUE,
    "23514": ViolationKind.CHECK,
    "23503": ViolationKind.FOREIGN_KEY,
    "23502": ViolationKind.NOT_NULL,
}
SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")
SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: (\w+)\.(\w+)")


@lru_cache
def _constraints() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every named constraint and unique index: name → (table, columns)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint.name, str):
                columns = tuple(column.name for column in getattr(constraint, "columns", ()))
                found[constraint.name] = (table.name, columns)
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                found[index.name] = (table.name, tuple(column.name for column in index.columns))
    return found


def _named(kind: ViolationKind, name: str | None, table: str | None = None) -> Violation:
    known_table, columns = _constraints().get(name or "", (table, ()))
    return Violation(kind, name, known_table or table, columns)


def _unique_by_columns(table: str, columns: tuple[str, ...]) -> Violation:
    for name, (known_table, known_columns) in _constraints().items():
        if known_table == table and known_columns == columns:
            return Violation(ViolationKind.UNIQUE, name, table, columns)
    return Violation(ViolationKind.UNIQUE, None, table, columns)


def _from_postgres(orig: Any) -> Violation:
    kind = POSTGRES_STATES.get(getattr(orig, "sqlstate", None) or "", ViolationKind.OTHER)
    diag = orig.diag
    if kind is ViolationKind.NOT_NULL:
        return Violation(kind, None, diag.table_name, (diag.column_name,))
    return _named(kind, diag.constraint_name, diag.table_name)


def _from_sqlite(message: str) -> Violation:
    if match := SQLITE_UNIQUE.search(message):
        qualified = [part.strip() for part in match.group(1).split(",")]
        if all("." in part for part in qualified):
            table = qualified[0].split(".")[0]
            return _unique_by_columns(table, tuple(part.split(".")[1] for part in qualified))
        return _named(ViolationKind.UNIQUE, qualified[0].removeprefix("index ").strip("'"))
    if match := SQLITE_CHECK.search(message):
        return _named(ViolationKind.CHECK, match.group(1))
    if match := SQLITE_NOT_NULL.search(message):
        return Violation(ViolationKind.NOT_NULL, None, match.group(1), (match.group(2),))
    if "FOREIGN KEY constraint failed" in message:
        return Violation(ViolationKind.FOREIGN_KEY)
    return Violation(ViolationKind.OTHER)


def violation_of(error: IntegrityError) -> Violation:
    """The constraint behind an IntegrityError, on either database.

    >>> violation_of(IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: site.code")))
    Violation(kind=<ViolationKind.UNIQUE: 'unique'>, constraint='ix_site_code', table='site', \
columns=('code',))
    """
    orig = error.orig
    if hasattr(orig, "diag"):
        return _from_postgres(orig)
    return _from_sqlite(str(orig))


def write_or_conflict(
    session: Session, change: Callable[[], None], explain: Callable[[Violation], FieldProblem]
) -> None:
    """Apply ``change`` and flush it inside a savepoint; a refusal becomes a Conflict.

    The savepoint is rolled back before ``explain`` runs, so the transaction is usable again
    and ``explain`` may read what the database holds now (who has the VLAN, what is free).
    """
    try:
        with session.begin_nested():
            change()
    except IntegrityError as error:
        problem = explain(violation_of(error))
        raise Conflict(str(problem), [problem]) from None
