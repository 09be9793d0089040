"""What a dialect list reads from its query string, by NetBox's names: filters, the lookup
suffixes NetBox derives from them, the free-text search ``q`` and ``ordering``.

Filters are exact and a repeated parameter means any of its values, as in NetBox. Each filter
also takes the suffixes NetBox's BaseFilterSet derives for its kind (:class:`Lookups`): ``__n``
on a related object's id or slug; ``__n``, ``__ic``, ``__nic``, ``__isw``, ``__nisw``,
``__iew``, ``__niew``, ``__ie``, ``__nie`` and ``__empty`` on text and choices; ``__n``,
``__lt``, ``__lte``, ``__gt``, ``__gte`` and ``__empty`` on numbers. A suffix beginning with
``n`` excludes what the same suffix without it selects, objects holding nothing there
included, as Django's ``exclude`` does. A suffix on a choice filter (a status, a slug) still
takes valid choices, as NetBox's choice filters do, and is tested against the choices.

A parameter that is not a filter here, a suffix its filter does not take, or an ordering on a
field the endpoint cannot order by answers 400 naming it as sent, and so does a value a
filter cannot read: NetBox ignores an unknown filter and returns everything, which turns a
typo into a wrong answer. Filters on a table become SQL conditions (:data:`IN_SQL`); filters
on objects made in Python (enum objects, circuit terminations) are predicates
(:data:`IN_PYTHON`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol, get_args, get_origin

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from gigalis_nms.db.listing import UnknownFilter
from gigalis_nms.db.types import IntegerValue
from gigalis_nms.errors import InvalidInput

# Parameters every list reads besides its filters.
LIST_PARAMETERS = frozenset({"limit", "offset", "brief"})
SEARCH = "q"
ORDERING = "ordering"


class BadFilterValue(InvalidInput):
    """A filter's value it cannot read: 400, as NetBox answers a malformed filter."""

    status_code = 400
    code = "bad_filter"


class Lookups(Enum):
    """The suffixes NetBox's BaseFilterSet derives from a filter, by the kind of filter."""

    NONE = ()  # booleans, and the filters NetBox computes in a method
    NEGATION = ("n",)  # related objects by id or slug
    TEXT = ("n", "ic", "nic", "iew", "niew", "isw", "nisw", "ie", "nie", "empty")
    NUMBER = ("n", "lt", "lte", "gt", "gte", "empty")


# The test each suffix makes, and whether it excludes what the test selects.
SUFFIX_TESTS: dict[str, tuple[str, bool]] = {
    "n": ("exact", True),
    "ic": ("contains", False),
    "nic": ("contains", True),
    "isw": ("starts", False),
    "nisw": ("starts", True),
    "iew": ("ends", False),
    "niew": ("ends", True),
    "ie": ("equals", False),
    "nie": ("equals", True),
    "lt": ("lt", False),
    "lte": ("lte", False),
    "gt": ("gt", False),
    "gte": ("gte", False),
}
COMPARISONS = frozenset({"lt", "lte", "gt", "gte"})
BOOLEAN = TypeAdapter(bool)
INTEGER = TypeAdapter(IntegerValue)


# --- Tests, in SQL and in Python ----------------------------------------------------------
#
# Case is folded by the database on both sides of the comparison (lower(), or ILIKE on
# PostgreSQL), so ASCII letters match whatever their case on SQLite and PostgreSQL alike.
# Accented letters are never stripped (``e`` does not find ``é``) on either; their capitals
# fold on PostgreSQL when the database's LC_CTYPE knows them (not under the C locale) but
# never on SQLite, whose lower() and LIKE fold ASCII only: there ``é`` does not find ``É``.
# Objects made in Python fold with str.lower(), as PostgreSQL does in a UTF-8 locale.


def _text_empty(field: Any, empty: bool) -> Any:
    # NetBox's Empty lookup: no text or NULL.
    length = sa.func.coalesce(sa.func.length(field), 0)
    return length == 0 if empty else length > 0


SQL_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    "contains": lambda field, value: field.icontains(value, autoescape=True),
    "starts": lambda field, value: field.istartswith(value, autoescape=True),
    "ends": lambda field, value: field.iendswith(value, autoescape=True),
    "equals": lambda field, value: sa.func.lower(field) == sa.func.lower(value),
    "empty": _text_empty,
    "null": lambda field, value: field.is_(None) if value else field.is_not(None),
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _folded(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda have, value: have is not None and test(str(have).lower(), value.lower())


def _compared(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda have, value: have is not None and test(have, value)


PYTHON_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _folded(lambda have, value: value in have),
    "starts": _folded(str.startswith),
    "ends": _folded(str.endswith),
    "equals": _folded(operator.eq),
    "empty": lambda have, value: (not have) == value,
    "null": lambda have, value: (have is None) == value,
    "lt": _compared(operator.lt),
    "lte": _compared(operator.le),
    "gt": _compared(operator.gt),
    "gte": _compared(operator.ge),
}


class Matching(Protocol):
    """Where selections are made: SQL conditions on a table, or predicates on objects."""

    def test(self, field: Any, test: str, value: Any) -> Any: ...

    def any_of(self, selected: list[Any]) -> Any: ...

    def negate(self, selected: Any) -> Any: ...


class SqlMatching:
    def test(self, field: Any, test: str, value: Any) -> Any:
        return SQL_TESTS[test](field, value)

    def any_of(self, selected: list[Any]) -> Any:
        return sa.or_(*selected) if selected else sa.false()

    def negate(self, selected: Any) -> Any:
        # Not NOT(…): a condition on a NULL column is NULL, and NOT NULL would drop the row
        # that Django's exclude() keeps.
        return sa.case((selected, sa.false()), else_=sa.true())


class PythonMatching:
    def test(self, field: Any, test: str, value: Any) -> Any:
        check = PYTHON_TESTS[test]
        return lambda item: check(field(item), value)

    def any_of(self, selected: list[Any]) -> Any:
        return lambda item: any(test(item) for test in selected)

    def negate(self, selected: Any) -> Any:
        return lambda item: not selected(item)


IN_SQL: Matching = SqlMatching()
IN_PYTHON: Matching = PythonMatching()


# --- Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One filter: how its text values are read and what they select, ``select(context,
    values)`` giving a SQL condition for a table or a predicate for objects made in Python.

    ``lookups`` says which suffixes it takes. Text and number suffixes compare ``compared`` (a
    column, or a function of an object made in Python), except on a filter whose values are
    choices (a ``Literal`` value type, or ``choices`` given): there a text suffix picks the
    choices it matches and selects them as the filter would.
    """

    value_type: Any
    select: Callable[[Any, list[Any]], Any]
    lookups: Lookups = Lookups.NONE
    compared: Any = None
    choices: Callable[[Any], Iterable[str]] | None = None
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.value_type))
        if self.choices is None and get_origin(self.value_type) is Literal:
            values = get_args(self.value_type)
            object.__setattr__(self, "choices", lambda _ctx: values)
        compares_field = self.lookups is Lookups.NUMBER or (
            self.lookups is Lookups.TEXT and self.choices is None
        )
        if compares_field and self.compared is None:
            raise TypeError(f"a filter with {self.lookups.name} suffixes names what they compare")

    def test_of(self, suffix: str) -> tuple[str, bool]:
        if suffix == "empty":
            return ("null" if self.lookups is Lookups.NUMBER else "empty"), False
        return SUFFIX_TESTS[suffix]

    def parse(self, parameter: str, raw: str, suffix: str = "") -> Any:
        adapter = self.adapter
        if suffix == "empty":
            adapter = BOOLEAN
        elif suffix in COMPARISONS:
            adapter = INTEGER
        try:
            return adapter.validate_strings(raw)
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise BadFilterValue.of(f"query.{parameter}", f"{reason}: {raw!r}") from None


@dataclass(frozen=True)
class Selection:
    """One filter parameter as sent, read: ``name__ic=nan`` is filter ``name``, suffix
    ``ic``, values ``["nan"]``."""

    parameter: str
    filter: Filter
    suffix: str  # "" for the filter itself
    values: list[Any]

    def select(self, ctx: Any, matching: Matching) -> Any:
        if not self.suffix:
            return self.filter.select(ctx, self.values)
        test, negated = self.filter.test_of(self.suffix)
        chosen = self._chosen(ctx, matching, test)
        return matching.negate(chosen) if negated else chosen

    def _chosen(self, ctx: Any, matching: Matching, test: str) -> Any:
        if test == "exact":
            return self.filter.select(ctx, self.values)
        choices = self.filter.choices
        if choices is not None and test not in COMPARISONS:
            check = PYTHON_TESTS[test]
            picked = [c for c in choices(ctx) if any(check(c, value) for value in self.values)]
            return self.filter.select(ctx, picked)
        return matching.any_of(
            [matching.test(self.filter.compared, test, value) for value in self.values]
        )


@dataclass(frozen=True)
class Query:
    """A list request's filters, search text and ordering (field, descending), read."""

    selections: list[Selection]
    search: str | None = None
    ordering: list[tuple[str, bool]] = field(default_factory=list)


def parse_query(
    filters: Mapping[str, Filter],
    params: QueryParams,
    ordering: Collection[str] = (),
    reserved: frozenset[str] = LIST_PARAMETERS,
) -> Query:
    """The filters, search text and ordering of a query string; 400 for any other parameter.

    ``q`` and ``ordering`` are read once, the last value counting, as NetBox reads them.
    """
    selections = []
    for parameter in dict.fromkeys(params.keys()):
        if parameter in reserved or parameter in (SEARCH, ORDERING):
            continue
        chosen, suffix = _filter_of(filters, parameter)
        values = [chosen.parse(parameter, raw, suffix) for raw in params.getlist(parameter)]
        selections.append(Selection(parameter, chosen, suffix, values))
    search = params.get(SEARCH)
    return Query(
        selections,
        search if search and search.strip() else None,
        _ordering(params.get(ORDERING), ordering),
    )


def _filter_of(filters: Mapping[str, Filter], parameter: str) -> tuple[Filter, str]:
    if parameter in filters:
        return filters[parameter], ""
    name, _, suffix = parameter.rpartition("__")
    if name in filters:
        taken = filters[name].lookups.value
        if suffix in taken:
            return filters[name], suffix
        known = ", ".join(f"{name}__{s}" for s in taken) or "none"
        raise UnknownFilter.of(
            f"query.{parameter}", f"NetBox has no __{suffix} lookup on {name}; it has: {known}"
        )
    known = ", ".join(sorted(filters)) or "none"
    raise UnknownFilter.of(
        f"query.{parameter}",
        f"not a filter the NetBox dialect supports here; filters: {known}, with NetBox's "
        "lookup suffixes, and q",
    )


def _ordering(raw: str | None, known: Collection[str]) -> list[tuple[str, bool]]:
    terms = [term.strip() for term in (raw or "").split(",") if term.strip()]
    for term in terms:
        if term.removeprefix("-") not in known:
            fields = ", ".join(sorted(known)) or "none"
            raise BadFilterValue.of(
                f"query.{ORDERING}", f"cannot order by {term!r} here; fields: {fields}"
            )
    return [(term.removeprefix("-"), term.startswith("-")) for term in terms]
