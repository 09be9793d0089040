"""Inserting many rows at once: COPY on PostgreSQL, an executemany elsewhere.

psycopg runs an executemany as one INSERT per row, pipelined; for the 600,000 rows of a
first load of 50,000 circuits (strands, holdings, audit entries) that was half the time of
the load. COPY streams the same rows in a fraction of it. The values go through the same
column types (and so the same conversions) as an INSERT's parameters, a column left out
gets the same default, triggers and constraints apply to COPY as to INSERT, and a refusal
is raised as the same SQLAlchemy exception (``IntegrityError``…) as an INSERT's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

Row = dict[str, Any]


@dataclass(frozen=True)
class CopyColumn:
    """A column COPY fills: from the rows' ``key``, or with the column's constant default."""

    name: str
    key: str | None
    default: Any = None
    convert: Callable[[Any], Any] | None = None

    def value_of(self, row: Row) -> Any:
        if self.key is None:
            return self.default
        value = row[self.key]
        return self.convert(value) if self.convert else value


def insert_rows(session: Session, table: sa.Table, rows: list[Row]) -> None:
    """Insert ``rows``, which all have the same keys, in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    columns = _copy_columns(table, rows[0], connection.dialect)
    if connection.dialect.driver != "psycopg" or columns is None:
        session.execute(sa.insert(table), rows)
        return
    _copy(connection, table, columns, rows)


def _copy_columns(table: sa.Table, first: Row, dialect: Dialect) -> list[CopyColumn] | None:
    """The columns an INSERT of rows like ``first`` fills, or None when COPY cannot do the
    same: a key that is no column (the INSERT reports it), or a default computed per row."""
    if not set(first) <= set(table.c.keys()):
        return None
    columns = []
    for column in table.columns:
        convert = column.type.dialect_impl(dialect).bind_processor(dialect)
        if column.key in first:
            columns.append(CopyColumn(column.name, column.key, convert=convert))
        elif column.default is None:
            continue  # the database's default, or NULL, as for an INSERT without it
        elif isinstance(column.default, ScalarElementColumnDefault):
            value = column.default.arg
            columns.append(CopyColumn(column.name, None, convert(value) if convert else value))
        else:
            return None
    return columns


def _copy(
    connection: Connection, table: sa.Table, columns: list[CopyColumn], rows: list[Row]
) -> None:
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(column.name) for column in columns)
    statement = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
    driver_connection = connection.connection.driver_connection
    assert isinstance(driver_connection, psycopg.Connection)
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([column.value_of(row) for column in columns])
    except psycopg.Error as error:
        raise sa.exc.DBAPIError.instance(statement, None, error, psycopg.Error) from error
