"""Filtered, paginated reads of one table, declared as data.

A :class:`Listing` says which table to read, which model a row becomes, which filters exist
and which column says who owns a row (for operator scoping). :func:`fetch_page` runs two
statements whatever the page size: a count and one ``SELECT … LIMIT … OFFSET``, ordered by a
unique column so that pages never overlap. Rows are read as plain mappings, never as ORM
objects, because building and tracking thousands of ORM objects costs more than the query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from gigalis_nms.db.types import IntegerValue, RowId, table_of
from gigalis_nms.errors import InvalidInput

Condition = ColumnElement[bool]


class UnknownFilter(InvalidInput):
    """A query parameter that is not a filter: refused, so that a typo never silently returns
    everything."""

    status_code = 400
    code = "unknown_parameter"


@dataclass(frozen=True)
class Filter:
    """One filter: how its text values are read, and the condition they select.

    Repeated values are alternatives (``status=active&status=planned``), as NetBox reads them.
    """

    value_type: Any
    condition: Callable[[list[Any]], Condition]
    description: str = ""
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.value_type))

    def parse(self, raw: str) -> Any:
        """The typed value of one query-string value; ValueError with the reason otherwise."""
        try:
            return self.adapter.validate_strings(raw)
        except ValidationError as error:
            raise ValueError(error.errors()[0]["msg"]) from None


def execute_core(session: Session, statement: sa.Executable) -> sa.Result[Any]:
    """Run a Core statement inside the session's transaction, after flushing its changes."""
    session.flush()
    return session.connection().execute(statement)


def column_of(model: type[SQLModel], name: str) -> sa.Column[Any]:
    return table_of(model).c[name]


def value_type_of(column: sa.Column[Any]) -> Any:
    """The Python type a filter on ``column`` reads; text when the column type cannot say.

    Integers are held to what the column stores (ids from 1), so that a value beyond it is
    refused naming the parameter instead of failing in the database driver.
    """
    if isinstance(column.type, sa.Integer):
        return RowId if column.primary_key or column.foreign_keys else IntegerValue
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return str
    return str if python_type is object else python_type  # SQLModel's AutoString says object


def exact(model: type[SQLModel], name: str, description: str = "") -> Filter:
    """Rows whose column ``name`` equals one of the values."""
    column = column_of(model, name)
    return Filter(
        value_type_of(column),
        column.in_,
        description or f"exact {name}; repeat for any of several",
    )


def either(model: type[SQLModel], first: str, second: str, description: str) -> Filter:
    """Rows where one of two columns (the A or Z end) equals one of the values."""
    a_column, z_column = column_of(model, first), column_of(model, second)
    return Filter(
        value_type_of(a_column),
        lambda values: sa.or_(a_column.in_(values), z_column.in_(values)),
        description,
    )


@dataclass(frozen=True)
class Listing:
    """How to read one table page by page."""

    table: type[SQLModel]
    public: type[BaseModel]  # what one row becomes
    filters: Mapping[str, Filter] = field(default_factory=dict)
    tenant_key: str | None = None  # column naming the operator that owns a row, if any
    descending: bool = False  # newest first, for logs

    @property
    def order(self) -> sa.ColumnElement[Any]:
        key = column_of(self.table, "id")
        return key.desc() if self.descending else key.asc()

    def statement(self) -> sa.Select[Any]:
        return sa.select(table_of(self.table))


def parse_filters(
    filters: Mapping[str, Filter], raw: Mapping[str, Sequence[str]], *, prefix: str = ""
) -> dict[str, list[Any]]:
    """Typed values of ``filters`` from query-string values; ``prefix`` is added to field names
    in errors (``query.`` for the API)."""
    unknown = sorted(set(raw) - set(filters))
    if unknown:
        known = ", ".join(sorted(filters)) or "none"
        raise UnknownFilter.of(prefix + unknown[0], f"not a filter here; filters: {known}")
    parsed: dict[str, list[Any]] = {}
    for name, values in raw.items():
        try:
            parsed[name] = [filters[name].parse(value) for value in values]
        except ValueError as error:
            raise InvalidInput.of(prefix + name, str(error)) from None
    return parsed


def conditions(
    listing: Listing, filters: Mapping[str, list[Any]], tenant: int | None
) -> list[Condition]:
    where = [listing.filters[name].condition(values) for name, values in filters.items()]
    if tenant is not None and listing.tenant_key is not None:
        where.append(column_of(listing.table, listing.tenant_key) == tenant)
    return where


@dataclass(frozen=True)
class PageOfRows:
    count: int
    rows: Sequence[Mapping[Any, Any]]  # database rows, or models dumped to dicts


def fetch_page(
    session: Session,
    listing: Listing,
    filters: Mapping[str, list[Any]],
    *,
    limit: int,
    offset: int,
    tenant: int | None = None,
    extra: Sequence[Condition] = (),
) -> PageOfRows:
    """The total count of matching rows and the rows of one page.

    ``tenant`` restricts the rows to one operator's when the listing has an owner column;
    ``extra`` adds conditions the caller imposes (a parent object, for instance).
    """
    statement = listing.statement().where(*conditions(listing, filters, tenant), *extra)
    count_statement = statement.with_only_columns(sa.func.count(), maintain_column_froms=True)
    count = execute_core(session, count_statement).scalar_one()
    if offset >= count:
        return PageOfRows(count, [])
    page = statement.order_by(listing.order).limit(limit).offset(offset)
    rows = list(execute_core(session, page).mappings())
    return PageOfRows(count, rows)


def insert_unless_present(
    connection: sa.Connection, table: sa.Table, key: Sequence[str]
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` that skips rows whose ``key`` is taken (ON CONFLICT DO
    NOTHING), in the dialect of ``connection``: a concurrent writer's row is kept, not an
    error."""
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(key))
