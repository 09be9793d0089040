"""The filters each dialect endpoint understands, by NetBox's names.

Filters are exact and a repeated parameter means any of its values, as in NetBox. A parameter
that is not a filter here answers 400 naming it, and so does a value a filter cannot read:
NetBox ignores an unknown filter and returns everything, which turns a typo into a wrong
answer. Filters on a table become SQL conditions; filters on objects made in Python (enum
objects, circuit terminations) are predicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from gigalis_nms.db.listing import UnknownFilter
from gigalis_nms.errors import InvalidInput

# Parameters every list reads besides its filters.
LIST_PARAMETERS = frozenset({"limit", "offset", "brief"})


class BadFilterValue(InvalidInput):
    """A filter's value it cannot read: 400, as NetBox answers a malformed filter."""

    status_code = 400
    code = "bad_filter"


@dataclass(frozen=True)
class Filter:
    """How one filter's text values are read, and what they select: ``select(context,
    values)`` gives a SQL condition for a table, or a predicate for objects made in Python."""

    value_type: Any
    select: Callable[[Any, list[Any]], Any]
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.value_type))

    def parse(self, name: str, raw: str) -> Any:
        try:
            return self.adapter.validate_strings(raw)
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise BadFilterValue.of(f"query.{name}", f"{reason}: {raw!r}") from None


def parse_query(
    filters: Mapping[str, Filter], params: QueryParams, reserved: frozenset[str] = LIST_PARAMETERS
) -> dict[str, list[Any]]:
    """The typed values of the filters of a query string; 400 for any other parameter."""
    names = [name for name in dict.fromkeys(params.keys()) if name not in reserved]
    unknown = [name for name in names if name not in filters]
    if unknown:
        known = ", ".join(sorted(filters)) or "none"
        raise UnknownFilter.of(
            f"query.{unknown[0]}",
            f"not a filter the NetBox dialect supports here; filters: {known}",
        )
    return {name: [filters[name].parse(name, v) for v in params.getlist(name)] for name in names}
