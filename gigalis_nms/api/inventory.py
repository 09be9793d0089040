"""The inventory's REST resources, declared as data and built by one router factory.

Each :class:`Resource` names its path, the service's entity spec and who may read and write
it; :func:`add_resource_routes` gives it the five routes every resource has (list, get, create,
update, delete), each guarded by the dependencies of :mod:`gigalis_nms.api.deps`.
"""

# No ``from __future__ import annotations`` here: the generic handlers' annotations must be
# real objects, made from each resource's models when its router is built.

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict
from sqlmodel import SQLModel

from gigalis_nms.api.deps import (
    EVERYONE,
    STAFF,
    WRITERS,
    DbSession,
    RoleRequirement,
    Tenant,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import (
    Page,
    PageParameters,
    filter_parameters,
    filters_from,
    page_response,
)
from gigalis_nms.auth.models import Role
from gigalis_nms.db.types import RowId
from gigalis_nms.inventory import service
from gigalis_nms.inventory.service import EntitySpec

Handler = TypeVar("Handler", bound=Callable[..., Any])
ObjectId = Annotated[RowId, Path(alias="id", description="the object's id")]


@dataclass(frozen=True)
class Resource:
    path: str  # plural, as in the URL: "sites"
    singular: str  # for operation names: "site"
    spec: EntitySpec
    readers: frozenset[Role]
    description: str
    writers: frozenset[Role] = WRITERS


RESOURCES = (
    Resource(
        "organisations",
        "organisation",
        service.ORGANISATIONS,
        EVERYONE,
        "Members, operators, fibre owners and suppliers, with their contacts. An operator "
        "token reads only its own organisation.",
    ),
    Resource(
        "sites",
        "site",
        service.SITES,
        EVERYONE,
        "Points of presence, NROs, shelters and customer sites, in WGS84. Public network "
        "information: every token reads them.",
    ),
    Resource("devices", "device", service.DEVICES, STAFF, "Routers and switches at sites."),
    Resource("interfaces", "interface", service.INTERFACES, STAFF, "Ports of devices."),
    Resource(
        "cables",
        "cable",
        service.CABLES,
        STAFF,
        "Fibre cables between two sites, owned, on IRU or leased; their strands are made "
        "with them.",
    ),
    Resource(
        "links",
        "link",
        service.LINKS,
        STAFF,
        "Backbone links between two router ports, with the bandwidth circuits hold on them.",
    ),
    Resource(
        "circuits",
        "circuit",
        service.CIRCUITS,
        EVERYONE,
        "Services leased to operators and what they hold. An operator token reads only its "
        "own circuits; another operator's answer 404.",
    ),
)


@cache
def strict(model: type[SQLModel]) -> type[SQLModel]:
    """The same body model, refusing unknown fields: a misspelt field in a PATCH must not
    answer 200 having changed nothing."""
    config = ConfigDict(extra="forbid")
    namespace = {"model_config": config, "__module__": model.__module__, "__doc__": model.__doc__}
    made: type[SQLModel] = type(model.__name__, (model,), namespace)
    return made


def with_body(handler: Handler, model: type[BaseModel]) -> Handler:
    """Give a generic handler its resource's body model, known only when the router is built."""
    handler.__annotations__["body"] = model
    return handler


def add_resource_routes(router: APIRouter, resource: Resource) -> None:
    """Add the five routes of ``resource`` to ``router``.

    Added straight to the versioned router rather than through a router of their own: FastAPI
    analyses a route again at every ``include_router``, which made building the app slow.
    """
    spec, noun, nouns = resource.spec, resource.singular, resource.path
    tags: list[str | Enum] = [nouns]
    readers = [Depends(RoleRequirement(resource.readers, f"read {nouns}"))]
    writers = [Depends(RoleRequirement(resource.writers, f"change {nouns}"))]

    def list_objects(
        request: Request, session: DbSession, tenant: Tenant, page: PageParameters
    ) -> Response:
        filters = filters_from(request, spec.filters)
        rows = service.list_objects(
            session, spec, filters, limit=page.limit, offset=page.offset, tenant=tenant
        )
        return page_response(request, spec.public, page, rows)

    def get_object(object_id: ObjectId, session: DbSession, tenant: Tenant) -> Any:
        obj = service.get_object(session, spec, object_id, tenant=tenant)
        return spec.public.model_validate(obj)

    def create_object(body: SQLModel, session: DbSession) -> Any:
        obj = service.create_object(session, spec, body)
        return spec.public.model_validate(obj)

    def update_object(object_id: ObjectId, body: SQLModel, session: DbSession) -> Any:
        obj = service.update_object(session, spec, object_id, body)
        return spec.public.model_validate(obj)

    def delete_object(object_id: ObjectId, session: DbSession) -> Response:
        service.delete_object(session, spec, object_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.add_api_route(
        f"/{nouns}",
        list_objects,
        dependencies=readers,
        tags=tags,
        methods=["GET"],
        name=f"list_{nouns}",
        summary=f"List {nouns}",
        description=f"{resource.description} Filters are exact; repeat one for any of several.",
        response_model=Page[spec.public],  # type: ignore[name-defined]
        responses=error_responses(400, 401, 403, 422),
        openapi_extra={"parameters": filter_parameters(spec)},
    )
    router.add_api_route(
        f"/{nouns}/{{id}}",
        get_object,
        dependencies=readers,
        tags=tags,
        methods=["GET"],
        name=f"get_{noun}",
        summary=f"Get one {spec.label}",
        response_model=spec.public,
        responses=error_responses(401, 403, 404, 422),
    )
    router.add_api_route(
        f"/{nouns}",
        with_body(create_object, strict(spec.create)),
        dependencies=writers,
        tags=tags,
        methods=["POST"],
        name=f"create_{noun}",
        summary=f"Create a {spec.label}",
        response_model=spec.public,
        status_code=status.HTTP_201_CREATED,
        responses=error_responses(401, 403, 409, 415, 422),
    )
    router.add_api_route(
        f"/{nouns}/{{id}}",
        with_body(update_object, strict(spec.update)),
        dependencies=writers,
        tags=tags,
        methods=["PATCH"],
        name=f"update_{noun}",
        summary=f"Change some fields of a {spec.label}",
        description="Only the fields sent are changed.",
        response_model=spec.public,
        responses=error_responses(401, 403, 404, 409, 415, 422),
    )
    router.add_api_route(
        f"/{nouns}/{{id}}",
        delete_object,
        dependencies=writers,
        tags=tags,
        methods=["DELETE"],
        name=f"delete_{noun}",
        summary=f"Delete a {spec.label}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 404, 409, 422),
    )
