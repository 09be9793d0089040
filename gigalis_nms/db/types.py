"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Deterministic constraint names, identical on SQLite and PostgreSQL, so that migrations and
# error messages can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# What an INTEGER column holds on PostgreSQL. SQLite would take 64 bits, and Python ints have
# no bound at all; values are held to this range before they reach either database, so that
# both refuse the same values, with a 422 naming the field rather than a server error.
INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1
IntegerValue = Annotated[int, Field(ge=INTEGER_MIN, le=INTEGER_MAX)]
RowId = Annotated[int, Field(ge=1, le=INTEGER_MAX)]
"""The id of a row, as a request may name it: from 1 to :data:`INTEGER_MAX`."""


def fits_row_id(value: int) -> bool:
    """Whether ``value`` can be the id of a row; an id beyond the column range names nothing.

    >>> fits_row_id(1), fits_row_id(INTEGER_MAX), fits_row_id(0), fits_row_id(2**31)
    (True, True, False, False)
    """
    return 1 <= value <= INTEGER_MAX


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite has no timezone type, so values are stored as naive UTC and given their timezone
    back on the way out; a naive datetime handed in is refused rather than guessed.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times in UTC with a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def enum_column(enum: type[StrEnum], *, default: StrEnum | None = None, **kw: Any) -> sa.Column:
    """A VARCHAR column with a CHECK of the enum's values, named ``ck_<table>_<enum>``.

    Not a native PostgreSQL ENUM: adding a value later is then a one-line migration on both
    databases instead of an ``ALTER TYPE`` that SQLite cannot follow.
    """
    return sa.Column(
        sa.Enum(
            enum,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [member.value for member in members],
            name=enum.__name__.lower(),
            validate_strings=True,
        ),
        default=default,
        **kw,
    )


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a SQLModel class, for bulk statements and typed column access
    (SQLModel types class attributes as Python values, not as columns)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)
