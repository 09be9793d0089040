"""The NetBox dialect's routes, under ``/netbox/api/``, so that unmodified NetBox clients
work against Gigalis: ``pynetbox.api("http://HOST:PORT/netbox", token=…)`` and nornir-netbox's
``NetBoxInventory2(nb_url="http://HOST:PORT/netbox", …)``.

Every response carries ``API-Version: 4.1``: pynetbox reads it from the API root and pages by
``limit``/``offset`` below 4.6. Lists answer ``{count, next, previous, results}`` with the
project's paging rules; ``?brief=1`` gives the brief form; ``q`` searches, ``ordering`` orders,
and filters take NetBox's lookup suffixes (filters.py, endpoints.py). Staff tokens read
(admin, noc, viewer, finance); admin and noc write; an operator token answers 403 on the whole
dialect, whose objects span every operator.

Each endpoint has list, get, OPTIONS (its choices, with the POST action only for a caller
who may create), and, where it is writable, create (one object or a list), PATCH of one
object or of a list (``[{"id": …, …}]``), and DELETE of one or of a list — each request one
transaction. A read-only endpoint answers 405 to writes, saying why.
"""

# No ``from __future__ import annotations``: the handlers made per endpoint need their
# annotations as real objects.

import platform
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gigalis_nms import __version__
from gigalis_nms.api.deps import STAFF, WRITERS, CurrentPrincipal, DbSession, RoleRequirement
from gigalis_nms.api.pagination import PageParameters, page_links
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import GigalisError
from gigalis_nms.inventory.models import Interface
from gigalis_nms.netbox.context import Context
from gigalis_nms.netbox.endpoints import ENDPOINTS, INTERFACES, Endpoint, Writes
from gigalis_nms.netbox.filters import BadFilterValue, parse_query
from gigalis_nms.netbox.trace import trace_interface
from gigalis_nms.netbox.writes import WRITES_BY_PATH, refuse

PREFIX = "/netbox/api"
API_VERSION = "4.1"
APPS = ("circuits", "dcim", "ipam", "tenancy")

ObjectId = Annotated[RowId, Path(alias="id", description="the object's id")]
AnyBody = Annotated[Any, Body()]


class ReadOnlyEndpoint(GigalisError):
    status_code = 405
    code = "method_not_allowed"


class ApiVersionHeader:
    """Adds ``API-Version`` to every response under the dialect's root, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"api-version", API_VERSION.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_version)


def context(request: Request, session: DbSession) -> Context:
    return Context(session, f"{request.base_url}{PREFIX.lstrip('/')}/")


RequestContext = Annotated[Context, Depends(context)]
BRIEF = TypeAdapter(bool)


def is_brief(request: Request) -> bool:
    raw = request.query_params.get("brief")
    if raw is None:
        return False
    try:
        return BRIEF.validate_strings(raw)
    except ValidationError:
        raise BadFilterValue.of("query.brief", f"true or false, not {raw!r}") from None


router = APIRouter(
    prefix=PREFIX,
    tags=["netbox"],
    dependencies=[Depends(RoleRequirement(STAFF, "use the NetBox dialect"))],
)
may_write = [Depends(RoleRequirement(WRITERS, "change objects through the NetBox dialect"))]


@router.get("/", summary="The NetBox API root", name="netbox_root")
def read_root(ctx: RequestContext) -> dict[str, str]:
    return {name: f"{ctx.base}{name}/" for name in (*APPS, "status")}


@router.get("/status/", summary="NetBox's status, for clients that ask", name="netbox_status")
def read_status() -> dict[str, Any]:
    return {
        "netbox-version": f"{API_VERSION}.0",
        "gigalis-version": __version__,
        "python-version": platform.python_version(),
        "django-version": None,
        "installed-apps": {},
        "plugins": {},
        "rq-workers-running": 0,
    }


def add_app_root(app: str) -> None:
    def read_app(ctx: RequestContext) -> dict[str, str]:
        return {e.name: f"{ctx.base}{e.path}/" for e in ENDPOINTS if e.app == app}

    router.add_api_route(f"/{app}/", read_app, methods=["GET"], name=f"netbox_{app}_root")


def _fresh(ctx: Context) -> Context:
    """A context for answering after a write, whose cached tables the write may have changed."""
    return Context(ctx.session, ctx.base)


def _items(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise refuse("body", "a list of objects, each with its id")
    return body


def _target(endpoint: Endpoint, ctx: Context, item: dict[str, Any]) -> Any:
    object_id = item.get("id")
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise refuse("id", "each object of a bulk request names its id")
    return endpoint.get(ctx, object_id)


def add_endpoint_routes(endpoint: Endpoint) -> None:
    path, name = endpoint.path, endpoint.name.replace("-", "_")
    writes = WRITES_BY_PATH.get(path)

    def list_objects(request: Request, ctx: RequestContext, page: PageParameters) -> Response:
        query = parse_query(endpoint.filters, request.query_params, endpoint.ordering)
        serialize = endpoint.brief if is_brief(request) else endpoint.full
        count, rows = endpoint.page(ctx, query, page.limit, page.offset)
        following, previous = page_links(request, page, count)
        results = [serialize(ctx, row) for row in rows]
        return JSONResponse(
            {"count": count, "next": following, "previous": previous, "results": results}
        )

    def get_object(object_id: ObjectId, request: Request, ctx: RequestContext) -> Response:
        serialize = endpoint.brief if is_brief(request) else endpoint.full
        return JSONResponse(serialize(ctx, endpoint.get(ctx, object_id)))

    def describe_endpoint(principal: CurrentPrincipal) -> Response:
        actions: dict[str, Any] = {}
        if writes is not None and principal.role in WRITERS:
            actions["POST"] = {
                field: {
                    "type": "choice",
                    "required": False,
                    "read_only": False,
                    "label": field.replace("_", " ").capitalize(),
                    "choices": [{"value": v, "display_name": label} for v, label in choices],
                }
                for field, choices in endpoint.choices.items()
            }
        return JSONResponse(
            {
                "name": f"{endpoint.label.capitalize()} List",
                "description": "",
                "renders": ["application/json"],
                "parses": ["application/json"],
                "actions": actions,
            }
        )

    common: dict[str, Any] = {"tags": ["netbox"]}
    router.add_api_route(
        f"/{path}/", list_objects, methods=["GET"], name=f"netbox_list_{name}", **common
    )
    router.add_api_route(
        f"/{path}/", describe_endpoint, methods=["OPTIONS"], name=f"netbox_options_{name}"
    )
    router.add_api_route(
        f"/{path}/{{id}}/", get_object, methods=["GET"], name=f"netbox_get_{name}", **common
    )
    if writes is None:
        add_read_only_routes(endpoint)
        return
    add_write_routes(endpoint, writes)


def add_read_only_routes(endpoint: Endpoint) -> None:
    def refuse_write() -> None:
        raise ReadOnlyEndpoint(f"{endpoint.path}/ is read-only: {endpoint.read_only}")

    name = endpoint.name.replace("-", "_")
    for route, methods, kind in (
        (f"/{endpoint.path}/", ["POST", "PATCH", "PUT", "DELETE"], "list"),
        (f"/{endpoint.path}/{{id}}/", ["PATCH", "PUT", "DELETE"], "object"),
    ):
        router.add_api_route(
            route,
            refuse_write,
            methods=methods,
            name=f"netbox_refuse_{name}_{kind}",
            include_in_schema=False,
        )


def add_write_routes(endpoint: Endpoint, writes: Writes) -> None:
    path, name = endpoint.path, endpoint.name.replace("-", "_")

    def create_objects(body: AnyBody, ctx: RequestContext) -> Response:
        made = [writes.create(ctx, item) for item in (body if isinstance(body, list) else [body])]
        answer = _fresh(ctx)
        results = [endpoint.full(answer, obj) for obj in made]
        content = results if isinstance(body, list) else results[0]
        return JSONResponse(content, status_code=status.HTTP_201_CREATED)

    def update_object(object_id: ObjectId, body: AnyBody, ctx: RequestContext) -> Response:
        changed = writes.update(ctx, endpoint.get(ctx, object_id), body)
        return JSONResponse(endpoint.full(_fresh(ctx), changed))

    def update_objects(body: AnyBody, ctx: RequestContext) -> Response:
        changed = [writes.update(ctx, _target(endpoint, ctx, item), item) for item in _items(body)]
        answer = _fresh(ctx)
        return JSONResponse([endpoint.full(answer, obj) for obj in changed])

    def delete_object(object_id: ObjectId, ctx: RequestContext) -> Response:
        writes.delete(ctx, endpoint.get(ctx, object_id))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    def delete_objects(body: AnyBody, ctx: RequestContext) -> Response:
        for obj in [_target(endpoint, ctx, item) for item in _items(body)]:
            writes.delete(ctx, obj)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    routes: list[tuple[str, Callable[..., Response], str, str]] = [
        (f"/{path}/", create_objects, "POST", "create"),
        (f"/{path}/", update_objects, "PATCH", "bulk_update"),
        (f"/{path}/", delete_objects, "DELETE", "bulk_delete"),
        (f"/{path}/{{id}}/", update_object, "PATCH", "update"),
        (f"/{path}/{{id}}/", delete_object, "DELETE", "delete"),
    ]
    for route, handler, method, verb in routes:
        router.add_api_route(
            route,
            handler,
            methods=[method],
            name=f"netbox_{verb}_{name}",
            dependencies=may_write,
            tags=["netbox"],
        )


def trace(object_id: ObjectId, ctx: RequestContext) -> Response:
    port: Interface = INTERFACES.get(ctx, object_id)
    return JSONResponse(trace_interface(ctx, port))


for _app in APPS:
    add_app_root(_app)
for _endpoint in ENDPOINTS:
    add_endpoint_routes(_endpoint)
router.add_api_route(
    "/dcim/interfaces/{id}/trace/", trace, methods=["GET"], name="netbox_trace_interface"
)
