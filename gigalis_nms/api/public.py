"""The public read-only view under /api/v1/public/, with no token: PoPs, simplified cable
routes, services per commune, sites needing THD and approximate boundaries — never a price,
an operator's name on a circuit, or a contact.

Every route here is a :class:`PublicRoute`, which holds the rules of the whole view once:
GET and HEAD only (anything else answers 405), an unknown query parameter answers 400
naming it, as does a single-valued one (``limit``, ``offset``) given twice, and every
answer, errors included, carries ``Access-Control-Allow-Origin: *`` so that members' own
sites can read it from their pages; :class:`UnknownPublicPath` answers any other path
under the prefix with a 404 that carries it too. Successful answers may be cached
(``Cache-Control: public, max-age``): :data:`DATA_MAX_AGE` for the network and the sites,
:data:`OUTLINE_MAX_AGE` for the outlines, which change only with the reference file.

Collections answer as the rest of the API pages them (``limit``, ``offset``; ``count``,
``next``, ``previous``); GeoJSON collections carry those members beside ``features``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from gigalis_nms.api.deps import DbSession, app_settings
from gigalis_nms.api.errors import error_response, error_responses
from gigalis_nms.api.pagination import PageParameters, PageRequest, page_links
from gigalis_nms.db.listing import UnknownFilter, execute_core
from gigalis_nms.db.types import RowId
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import SITE
from gigalis_nms.resource_centre.boundaries import outlines_of
from gigalis_nms.resource_centre.communes import communes_of
from gigalis_nms.resource_centre.models import NeedStatus, SiteCategory
from gigalis_nms.resource_centre.public import (
    CableProperties,
    CommuneOutlineProperties,
    CommuneView,
    DepartementOutlineProperties,
    Feature,
    FeatureCollection,
    NeedSiteProperties,
    PopProperties,
    cable_features,
    commune_outline_feature,
    commune_view,
    departement_of,
    departement_outline_feature,
    need_columns,
    need_feature,
    pop_feature,
)
from gigalis_nms.resource_centre.services import (
    STUDY_RADIUS_KM,
    Service,
    commune_services,
    network_sites,
)
from gigalis_nms.settings import Settings

PREFIX = "/api/v1/public"
READ_ONLY = frozenset({"GET", "HEAD"})
DATA_MAX_AGE = 300  # seconds: the network and the sites change a few times a day at most
OUTLINE_MAX_AGE = 86_400  # a day: outlines change only when the service restarts on new files
GEOJSON = "application/geo+json"

DEPARTEMENT_CODE = re.compile(r"(\d{2,3}|2[AB])")
INSEE_CODE = re.compile(r"[0-9][0-9AB][0-9]{3}")


def check_departement(value: str) -> str:
    """A département code; the reason a client reads says what one looks like, not a pattern.

    >>> check_departement("2A")
    '2A'
    >>> check_departement("Vendée")
    Traceback (most recent call last):
    ...
    ValueError: a département code: 44, 49…, 2A, 971
    """
    if not DEPARTEMENT_CODE.fullmatch(value):
        raise ValueError("a département code: 44, 49…, 2A, 971")
    return value


def check_insee(value: str) -> str:
    """A commune's INSEE code.

    >>> check_insee("4410")
    Traceback (most recent call last):
    ...
    ValueError: a commune's INSEE code, five characters: 44109, 2A004
    """
    if not INSEE_CODE.fullmatch(value):
        raise ValueError("a commune's INSEE code, five characters: 44109, 2A004")
    return value


DepartementCode = Annotated[
    str,
    AfterValidator(check_departement),
    WithJsonSchema({"type": "string", "pattern": DEPARTEMENT_CODE.pattern}),
]
InseeCode = Annotated[
    str,
    AfterValidator(check_insee),
    WithJsonSchema({"type": "string", "pattern": INSEE_CODE.pattern}),
]


class PublicRoute(APIRoute):
    """A route of the public view: read-only, open to other origins, strict on parameters."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        send = _open_to_all(send)
        method = scope["method"]
        if method not in READ_ONLY:
            refusal = error_response(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {scope['path']}: the public API is read-only",
                headers={"Allow": "GET, HEAD"},
            )
            await refusal(scope, receive, send)
            return
        error = parameter_error(self.dependant, [name for name, _ in _query_items(scope)])
        if error:
            refusal = error_response(error.status_code, error.code, error.message, error.problems)
            await refusal(scope, receive, send)
            return
        if method == "HEAD":  # the GET, answered without its body
            scope, send = {**scope, "method": "GET"}, _without_body(send)
        await super().handle(scope, receive, send)


class RepeatedParameter(InvalidInput):
    """A parameter that takes one value, given several times: which one was meant?"""

    status_code = 400
    code = "repeated_parameter"


def parameter_error(dependant: Dependant, names: Sequence[str]) -> InvalidInput | None:
    """The first parameter of the query string the route does not read (400), else the first
    that takes one value but was given several times (400, not the last one silently)."""
    known = query_parameters(dependant)
    unknown = sorted(set(names) - known)
    if unknown:
        return UnknownFilter.of(
            f"query.{unknown[0]}",
            f"not a filter here; filters: {', '.join(sorted(known)) or 'none'}",
        )
    several = several_allowed(dependant)
    times = Counter(names)
    repeated = sorted(name for name, count in times.items() if count > 1 and name not in several)
    if repeated:
        name = repeated[0]
        return RepeatedParameter.of(
            f"query.{name}",
            f"given {times[name]} times; it takes one value (only filters repeat, "
            "for any of several)",
        )
    return None


def several_allowed(dependant: Dependant) -> set[str]:
    """The query parameters that take a list: filters, repeated for any of several values."""
    names = {
        parameter.alias
        for parameter in dependant.query_params
        if any(get_origin(option) is list for option in _options(parameter.field_info.annotation))
    }
    for dependency in dependant.dependencies:
        names |= several_allowed(dependency)
    return names


def _options(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (``list[str] | None``), or the annotation alone."""
    if isinstance(annotation, UnionType) or get_origin(annotation) is Union:
        return get_args(annotation)
    return (annotation,)


class UnknownPublicPath(APIRoute):
    """Every other path under the prefix: 404 with the view's headers, whatever the method.

    It matches only partially, as a route does whose method differs, and is added last:
    the router answers with the first partial match, so a known path asked with another
    method still meets its own route's 405.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        return (Match.PARTIAL if match is Match.FULL else match), child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = error_response(404, "not_found", f"nothing at {scope['path']}")
        await refusal(scope, receive, _open_to_all(send))


def query_parameters(dependant: Dependant) -> set[str]:
    """The query parameters a route reads, its dependencies' (paging) included."""
    names = {parameter.alias for parameter in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= query_parameters(dependency)
    return names


def _query_items(scope: Scope) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl  # noqa: PLC0415 - only here

    return parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


Sender = Callable[[Message], Coroutine[Any, Any, None]]


def _open_to_all(send: Send) -> Sender:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Access-Control-Allow-Origin"] = "*"
            headers["X-Content-Type-Options"] = "nosniff"
            if message["status"] >= 400 and "cache-control" not in headers:
                headers["Cache-Control"] = "no-store"
        await send(message)

    return sending


def _without_body(send: Send) -> Sender:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return sending


router = APIRouter(
    prefix=PREFIX,
    tags=["public"],
    route_class=PublicRoute,
    responses=error_responses(400, 405, 422),
)

CurrentSettings = Annotated[Settings, Depends(app_settings)]


Departements = Annotated[
    list[DepartementCode] | None, Query(description="département number, e.g. 44")
]
Communes = Annotated[list[InseeCode] | None, Query(description="INSEE code of a commune")]
Services = Annotated[
    list[Service] | None, Query(description="available service; repeat for any of several")
]


def answer(
    model: BaseModel, max_age: int = DATA_MAX_AGE, media_type: str = "application/json"
) -> Response:
    return Response(
        model.model_dump_json(),
        media_type=media_type,
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


def feature_page(
    request: Request, page: PageRequest, features: Sequence[Feature[Any]], count: int
) -> FeatureCollection[Any]:
    """A FeatureCollection of one page; ``features`` is that page, ``count`` the total."""
    following, previous = page_links(request, page, count)
    return FeatureCollection[Any](
        count=count, next=following, previous=previous, features=list(features)
    )


def window(items: Sequence[Any], page: PageRequest) -> Sequence[Any]:
    return items[page.offset : page.offset + page.limit]


# --- index --------------------------------------------------------------------------------


class Endpoint(BaseModel):
    path: str
    url: str
    description: str
    parameters: list[str]


class PublicIndex(BaseModel):
    description: str
    licence: str
    services: dict[Service, str] = Field(description="what each kind of service means here")
    endpoints: list[Endpoint]


SERVICE_RULE = {
    Service.ETHERNET_ELINE: "an active PoP with an active router stands in the commune",
    Service.WAVELENGTH: "an active PoP with an active router stands in the commune",
    Service.DARK_FIBRE: "an active fibre cable between two network sites ends at an active "
    "one in the commune",
    Service.HOSTING: "an active hosting room stands in the commune",
    Service.ON_STUDY: f"none of the above, but an active PoP lies within {STUDY_RADIUS_KM:g} "
    "km of the commune's centre: a connection can be studied",
}


@router.get("/", response_model=PublicIndex)
def get_index(request: Request) -> Response:
    """The endpoints of the public view, with their parameters."""
    base = str(request.base_url).rstrip("/")
    endpoints = [
        Endpoint(
            path=route.path,
            url=base + route.path,
            description=(route.description or "").split("\n\n")[0].replace("\n", " "),
            parameters=sorted(query_parameters(route.dependant)),
        )
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema and route.path != f"{PREFIX}/"
    ]
    index = PublicIndex(
        description="Public data of the Gigalis fibre backbone of the Pays de la Loire: "
        "network sites, cable routes, services per commune, sites needing very-high-speed "
        "access. Read-only, no token. Coordinates are WGS84 (GeoJSON); commune and "
        "département outlines are approximate unless their precision says otherwise.",
        licence="Licence Ouverte / Etalab 2.0",
        services=SERVICE_RULE,
        endpoints=endpoints,
    )
    return answer(index)


# --- network ------------------------------------------------------------------------------


@router.get("/pops", response_model=FeatureCollection[PopProperties])
def list_pops(
    *,
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    page: PageParameters,
    departement: Departements = None,
    commune: Communes = None,
    service: Services = None,
    kind: Annotated[list[SiteKind] | None, Query()] = None,
    status: Annotated[list[LifecycleStatus] | None, Query()] = None,
) -> Response:
    """Network sites (PoPs, NROs, shelters, hosting rooms) not retired, by code, with the
    services available at each."""
    communes = communes_of(settings)
    features = [
        pop_feature(site, communes)
        for site in network_sites(session)
        if (commune is None or site.insee_code in commune)
        and (departement is None or departement_of(site.insee_code, communes) in departement)
        and (service is None or set(service) & set(site.services))
        and (kind is None or site.kind in kind)
        and (status is None or site.status in status)
    ]
    collection = feature_page(request, page, window(features, page), len(features))
    return answer(collection, media_type=GEOJSON)


@router.get("/pops/{code}", response_model=Feature[PopProperties])
def get_pop(
    session: DbSession,
    settings: CurrentSettings,
    code: Annotated[str, Path(description="the site's code", max_length=32)],
) -> Response:
    """One network site."""
    for site in network_sites(session):
        if site.code == code:
            return answer(pop_feature(site, communes_of(settings)), media_type=GEOJSON)
    raise NotFound.of("path.code", f"no public network site with code {code!r}")


@router.get("/cables", response_model=FeatureCollection[CableProperties])
def list_cables(
    *,
    request: Request,
    session: DbSession,
    page: PageParameters,
    status: Annotated[list[LifecycleStatus] | None, Query()] = None,
    site: Annotated[list[str] | None, Query(description="a site's code at either end")] = None,
) -> Response:
    """Fibre cable routes not retired, by code, simplified: code, status, length."""
    features = [
        feature
        for feature in cable_features(session)
        if (status is None or feature.properties.status in status)
        and (site is None or set(site) & set(feature.properties.ends))
    ]
    collection = feature_page(request, page, window(features, page), len(features))
    return answer(collection, media_type=GEOJSON)


@router.get("/cables/{code}", response_model=Feature[CableProperties])
def get_cable(
    session: DbSession,
    code: Annotated[str, Path(description="the cable's code", max_length=64)],
) -> Response:
    """One cable route, simplified."""
    for feature in cable_features(session):
        if feature.id == code:
            return answer(feature, media_type=GEOJSON)
    raise NotFound.of("path.code", f"no public cable with code {code!r}")


# --- services per commune -----------------------------------------------------------------


class CommunePage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[CommuneView]


@router.get("/communes", response_model=CommunePage)
def list_communes(
    *,
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    page: PageParameters,
    departement: Departements = None,
    insee: Communes = None,
    service: Services = None,
) -> Response:
    """Services available per commune: the network sites in it, the nearest PoP and its
    distance, the kinds of service (see the index for the rule), and the sites needing THD
    by status; by INSEE code."""
    found = [
        commune_view(item)
        for item in commune_services(session, communes_of(settings)).values()
        if (departement is None or item.commune.departement in departement)
        and (insee is None or item.commune.insee in insee)
        and (service is None or set(service) & set(item.services))
    ]
    following, previous = page_links(request, page, len(found))
    return answer(
        CommunePage(
            count=len(found), next=following, previous=previous, results=list(window(found, page))
        )
    )


@router.get("/communes/{insee}", response_model=CommuneView)
def get_commune(
    session: DbSession,
    settings: CurrentSettings,
    insee: Annotated[InseeCode, Path(description="the commune's INSEE code")],
) -> Response:
    """Services available in one commune."""
    communes = communes_of(settings)
    if insee not in communes:
        raise NotFound.of("path.insee", f"no commune {insee} in the reference")
    found = commune_services(session, {insee: communes[insee]})[insee]
    return answer(commune_view(found))


# --- sites needing THD --------------------------------------------------------------------


def _pop_codes(session: Session) -> dict[int, str]:
    query = sa.select(SITE.c.id, SITE.c.code)
    return {row.id: row.code for row in execute_core(session, query)}


@router.get("/sites", response_model=FeatureCollection[NeedSiteProperties])
def list_sites(
    *,
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    page: PageParameters,
    status: Annotated[list[NeedStatus] | None, Query()] = None,
    category: Annotated[list[SiteCategory] | None, Query()] = None,
    departement: Departements = None,
    commune: Communes = None,
) -> Response:
    """Sites needing THD, by id: what they are, their public identifiers, where, how far
    their connection has gone and their distance to the network."""
    columns = need_columns()
    by_name = {column.key: column for column in columns}
    conditions = [
        by_name[name].in_(values)
        for name, values in (
            ("status", status),
            ("category", category),
            ("departement", departement),
            ("commune_insee", commune),
        )
        if values is not None
    ]
    query = sa.select(*columns).where(*conditions)
    count = execute_core(
        session, sa.select(sa.func.count()).select_from(query.subquery())
    ).scalar_one()
    rows = execute_core(
        session, query.order_by(by_name["id"]).limit(page.limit).offset(page.offset)
    ).all()
    communes, pops = communes_of(settings), _pop_codes(session)
    features = [need_feature(row, communes, pops) for row in rows]
    return answer(feature_page(request, page, features, count), media_type=GEOJSON)


@router.get("/sites/{site_id}", response_model=Feature[NeedSiteProperties])
def get_site(
    session: DbSession,
    settings: CurrentSettings,
    site_id: Annotated[RowId, Path(description="the site's id")],
) -> Response:
    """One site needing THD."""
    columns = need_columns()
    query = sa.select(*columns).where(columns[0] == site_id)  # columns[0] is the id
    row = execute_core(session, query).one_or_none()
    if row is None:
        raise NotFound.of("path.site_id", f"no site needing THD with id {site_id}")
    feature = need_feature(row, communes_of(settings), _pop_codes(session))
    return answer(feature, media_type=GEOJSON)


# --- boundaries ---------------------------------------------------------------------------


@router.get("/boundaries/communes", response_model=FeatureCollection[CommuneOutlineProperties])
def list_commune_outlines(
    *,
    request: Request,
    settings: CurrentSettings,
    page: PageParameters,
    departement: Departements = None,
    insee: Communes = None,
) -> Response:
    """Outlines of the communes, by INSEE code; approximate unless ``precision`` says
    official (see ``source``)."""
    outlines = outlines_of(settings)
    chosen = [
        outline
        for code, outline in sorted(outlines.communes.items())
        if (departement is None or outline.departement in departement)
        and (insee is None or code in insee)
    ]
    features = [commune_outline_feature(outline, outlines) for outline in window(chosen, page)]
    collection = feature_page(request, page, features, len(chosen))
    return answer(collection, OUTLINE_MAX_AGE, GEOJSON)


@router.get(
    "/boundaries/departements",
    response_model=FeatureCollection[DepartementOutlineProperties],
)
def list_departement_outlines(
    *,
    request: Request,
    settings: CurrentSettings,
    page: PageParameters,
    departement: Departements = None,
) -> Response:
    """Outlines of the départements, the union of their communes'; approximate unless
    ``precision`` says official."""
    outlines = outlines_of(settings)
    chosen = [
        outline
        for code, outline in sorted(outlines.departements.items())
        if departement is None or code in departement
    ]
    features = [departement_outline_feature(outline, outlines) for outline in window(chosen, page)]
    collection = feature_page(request, page, features, len(chosen))
    return answer(collection, OUTLINE_MAX_AGE, GEOJSON)


# Last: see UnknownPublicPath.
router.add_api_route(
    "/{path:path}",
    lambda: None,
    methods=[],  # every method: the route answers 404 to all
    include_in_schema=False,
    operation_id="public_unknown_path",  # FastAPI names a route after its methods otherwise
    route_class_override=UnknownPublicPath,
)
