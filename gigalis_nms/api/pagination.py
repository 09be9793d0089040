"""Pages of results, as NetBox shapes them: ``{count, next, previous, results}``.

``limit`` defaults to 100; ``limit=0`` asks for the largest page the server gives
(``GIGALIS_PAGE_MAX``) and a larger limit is cut down to it. ``next`` and ``previous`` are
absolute URLs that keep every filter of the request. An offset past the end answers an empty
page, not an error.

A page is serialized once, straight from the database rows to JSON bytes by pydantic's Rust
core, and returned as a ready Response: FastAPI would otherwise validate every row a second
time against the route's ``response_model``, which stays declared for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, TypeAdapter

from gigalis_nms.api.deps import app_settings
from gigalis_nms.db.listing import Filter, Listing, PageOfRows, parse_filters
from gigalis_nms.db.types import INTEGER_MAX
from gigalis_nms.settings import Settings

T = TypeVar("T")

DEFAULT_LIMIT = 100
PAGE_PARAMETERS = frozenset({"limit", "offset"})


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int


async def page_request(
    settings: Annotated[Settings, Depends(app_settings)],
    # Bounded as ids are: both databases take any 32-bit offset, SQLite nothing past 64 bits.
    limit: Annotated[
        int,
        Query(
            ge=0,
            le=INTEGER_MAX,
            description="page size; 0 for the largest page the server gives",
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=INTEGER_MAX, description="how many results to skip")] = 0,
) -> PageRequest:
    largest = settings.page_max
    return PageRequest(limit=largest if limit == 0 else min(limit, largest), offset=offset)


PageParameters = Annotated[PageRequest, Depends(page_request)]


def filters_from(
    request: Request, filters: Mapping[str, Filter], ignored: Sequence[str] = ()
) -> dict[str, list[Any]]:
    """The typed ``filters`` of a list request; an unknown parameter is a 400."""
    params = request.query_params
    skipped = PAGE_PARAMETERS.union(ignored)
    raw = {name: params.getlist(name) for name in params if name not in skipped}
    return parse_filters(filters, raw, prefix="query.")


def filter_parameters(listing: Listing) -> list[dict[str, Any]]:
    """The OpenAPI description of a listing's filters, which routes read themselves."""
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": item.description,
            "schema": item.adapter.json_schema(),
        }
        for name, item in listing.filters.items()
    ]


def page_links(request: Request, page: PageRequest, count: int) -> tuple[str | None, str | None]:
    url = request.url
    following = None
    if page.offset + page.limit < count:
        following = str(url.include_query_params(limit=page.limit, offset=page.offset + page.limit))
    previous = None
    if page.offset > 0:
        before = max(0, min(page.offset, count) - page.limit)
        previous_url = url.include_query_params(limit=page.limit, offset=before)
        previous = str(previous_url.remove_query_params("offset") if before == 0 else previous_url)
    return following, previous


def page_of(items: Sequence[BaseModel], page: PageRequest) -> PageOfRows:
    """One page of a short list already read whole, such as what one circuit holds."""
    window = items[page.offset : page.offset + page.limit]
    return PageOfRows(len(items), [item.model_dump() for item in window])


@cache
def page_adapter(model: type[BaseModel]) -> TypeAdapter[Page[Any]]:
    return TypeAdapter(Page[model])  # type: ignore[valid-type]


def page_response(
    request: Request, model: type[BaseModel], page: PageRequest, rows: PageOfRows
) -> Response:
    """The JSON page of ``rows``, each validated once as ``model``."""
    following, previous = page_links(request, page, rows.count)
    adapter = page_adapter(model)
    content = adapter.validate_python(
        {"count": rows.count, "next": following, "previous": previous, "results": rows.rows}
    )
    return Response(adapter.dump_json(content), media_type="application/json")
