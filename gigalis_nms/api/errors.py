"""One error body for every error the API answers, whoever raised it.

Every error, from the project's own :class:`GigalisError` family, from FastAPI's request
validation, or from routing (unknown path, method not allowed), is answered as::

    {"error": {"status": 422, "code": "invalid",
               "message": "latitude: Input should be less than or equal to 90",
               "problems": [{"field": "latitude",
                             "reason": "Input should be less than or equal to 90"}]}}

How a problem names its field, one rule: a field of the JSON body is named by its dotted path
inside the body, as the client wrote it (``latitude``, ``contacts.0.email``); a value sent
anywhere else is prefixed with where it was sent (``query.limit``, ``path.id``,
``header.authorization``); a body that is missing or is not JSON is ``body``. Under
``/tmf-api/`` list positions are written in brackets, as TM Forum clients and the ordering
services write them (``productOrderItem[0].product.place[1].id``), whoever raised the error;
the inventory API keeps the dotted form its clients already read. Errors about no field in
particular (an unknown route, a missing token) have an empty ``problems`` list.
``message`` is the problems joined by ``; ``, or a sentence when there is none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from gigalis_nms.db.integrity import violation_of
from gigalis_nms.errors import FieldProblem, GigalisError

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid",
}
VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")
TMF_PATHS = "/tmf-api/"
LIST_POSITION = re.compile(r"\.(\d+)(?=[.\[]|$)")


class Problem(BaseModel):
    field: str = Field(description="dotted path in the body, or query.NAME, path.NAME…")
    reason: str


class ErrorDetail(BaseModel):
    status: int = Field(description="the HTTP status, repeated for clients that lose it")
    code: str = Field(description="stable machine-readable code: invalid, conflict, not_found…")
    message: str
    problems: list[Problem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """What every error response carries."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {status: {"model": ErrorBody, "description": HTTP_CODES[status]} for status in statuses}


def error_response(
    status: int,
    code: str,
    message: str,
    problems: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(
            status=status,
            code=code,
            message=message,
            problems=[Problem(field=p.field, reason=p.reason) for p in problems],
        )
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def field_of(location: Sequence[str | int], error_type: str = "") -> str:
    """The field a validation error concerns, by the module's rule.

    >>> field_of(("body", "contacts", 0, "email")), field_of(("query", "limit"))
    ('contacts.0.email', 'query.limit')
    >>> field_of(("body", 17), "json_invalid"), field_of(("body",))
    ('body', 'body')
    """
    where, *path = location
    if where == "body":
        return "body" if error_type == "json_invalid" or not path else ".".join(map(str, path))
    return ".".join(map(str, [where, *path]))


def bracketed(field: str) -> str:
    """``field`` with its list positions in brackets, the TM Forum way.

    >>> bracketed("productOrderItem.0.product.place.1.id")
    'productOrderItem[0].product.place[1].id'
    >>> bracketed("route.1.0"), bracketed("productOrderItem[2].id"), bracketed("query.limit")
    ('route[1][0]', 'productOrderItem[2].id', 'query.limit')
    """
    return LIST_POSITION.sub(r"[\1]", field)


def _fields_for(request: Request, problems: list[FieldProblem]) -> list[FieldProblem]:
    """The problems with their fields written as the route's clients read them."""
    if not request.url.path.startswith(TMF_PATHS):
        return problems
    return [FieldProblem(bracketed(p.field), p.reason, p.location) for p in problems]


def reason_of(message: str) -> str:
    for prefix in VALUE_ERROR_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _message(problems: Sequence[FieldProblem], fallback: str) -> str:
    return "; ".join(f"{p.field}: {p.reason}" for p in problems) or fallback


async def on_gigalis_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, GigalisError)
    problems = _fields_for(request, [FieldProblem(p.field, p.reason) for p in error.problems])
    # A 401 says how to authenticate (RFC 9110); clients retry with a token.
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return error_response(
        error.status_code, error.code, _message(problems, error.message), problems, headers
    )


def json_error_reason(document: str, position: int, error: str) -> str:
    """Where a JSON body stops being JSON, as an editor counts it.

    >>> json_error_reason('{\\n  "code": x}', 12, "Expecting value")
    'invalid JSON at line 2, column 11: Expecting value'
    """
    line = document.count("\n", 0, position) + 1
    column = position - document.rfind("\n", 0, position)
    return f"invalid JSON at line {line}, column {column}: {error}"


def _problem(item: Mapping[str, Any], body: Any) -> FieldProblem:
    location, error_type = item["loc"], item.get("type", "")
    reason = reason_of(item["msg"])
    if error_type == "json_invalid" and isinstance(body, str) and len(location) > 1:
        reason = json_error_reason(body, int(location[1]), item.get("ctx", {}).get("error", ""))
    return FieldProblem(field_of(location, error_type), reason)


async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = _fields_for(request, [_problem(item, error.body) for item in error.errors()])
    return error_response(422, "invalid", _message(problems, "invalid request"), problems)


async def on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    status = error.status_code
    if status == 404:
        message = f"nothing at {request.url.path}"
    elif status == 405:
        # The Allow header, from the router, names the methods of the first route on the path
        # only (GET where GET and POST are both served): a shortcoming of the framework.
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(error.detail)
    return error_response(
        status, HTTP_CODES.get(status, "http_error"), message, headers=error.headers
    )


async def on_integrity_error(_request: Request, error: Exception) -> JSONResponse:
    # Service functions translate what they write; this catches a refusal they did not expect
    # (at commit, for instance) so that it still reads as a conflict, not a server error.
    assert isinstance(error, IntegrityError)
    violation = violation_of(error)
    logger.warning("request refused by the database: %s", violation)
    name = violation.columns[-1] if violation.columns else violation.table or "body"
    problem = FieldProblem(name, f"refused by the database rule {violation.constraint or '?'}")
    return error_response(409, "conflict", _message([problem], ""), [problem])


async def on_database_down(_request: Request, error: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", error)
    return error_response(503, "unavailable", "the database is unavailable; try again later")


async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal", "internal error; it was logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GigalisError, on_gigalis_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(Exception, on_unexpected)
