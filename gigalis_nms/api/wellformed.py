"""What every request must be before any route reads it: a body in JSON, and nothing in it or
in the query string that one of the databases cannot store.

Checked once, by a dependency of the whole application, so that no route can forget it.
PostgreSQL refuses a NUL character in text, and NaN or Infinity in a JSON column, with a
driver error, while SQLite stores them; refused here, both databases answer the same 422,
naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from gigalis_nms.api.errors import field_of
from gigalis_nms.errors import FieldProblem, InvalidInput, UnsupportedMediaType

NUL = "\x00"
NUL_REASON = "may not contain the NUL character (U+0000)"
NOT_FINITE_REASON = "must be a finite number (JSON has no NaN or Infinity)"

Path = tuple[str | int, ...]


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON, as FastAPI reads it.

    >>> is_json("application/json; charset=utf-8"), is_json("application/merge-patch+json")
    (True, True)
    >>> is_json("text/plain"), is_json(None)
    (False, False)
    """
    media_type = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def unstorable(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Where a decoded JSON document holds what a database cannot store, and why.

    >>> list(unstorable({"name": "ok", "contacts": [{"role": "n\\x00c"}], "route": [[1e999]]}))
    [(('contacts', 0, 'role'), 'may not contain the NUL character (U+0000)'), \
(('route', 0, 0), 'must be a finite number (JSON has no NaN or Infinity)')]
    """
    if isinstance(value, str):
        if NUL in value:
            yield path, NUL_REASON
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, NOT_FINITE_REASON
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*path, printable(key)), NUL_REASON
            yield from unstorable(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable(item, (*path, index))


def printable(name: str) -> str:
    return name.replace(NUL, "\\u0000")


async def refuse_malformed_input(request: Request) -> None:
    """415 for a body that is not JSON; 422 naming each field of the query string or of the
    body that holds what a database cannot store."""
    problems = [
        FieldProblem(f"query.{printable(name)}", NUL_REASON)
        for name, value in request.query_params.multi_items()
        if NUL in name or NUL in value
    ]
    if await _reads_a_body(request):
        # FastAPI has decoded the body already and Starlette keeps it: this is no second parse.
        document = await request.json()
        problems += [
            FieldProblem(field_of(("body", *path)), reason) for path, reason in unstorable(document)
        ]
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)


async def _reads_a_body(request: Request) -> bool:
    """Whether the route reads a body and one was sent in JSON; 415 if it was sent otherwise."""
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None or not await request.body():
        return False  # no body to read, or none sent: then FastAPI says that one is missing
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        raise UnsupportedMediaType.of(
            "header.content-type",
            f"the body is read as JSON only, not {content_type or 'without a type'}; "
            "send application/json",
        )
    return True
