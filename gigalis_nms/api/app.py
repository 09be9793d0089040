"""The FastAPI application.

``create_app`` only assembles: migrating the database and loading the network are done by
``gigalis serve`` before it, so that tests and workers can build the app over any engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from gigalis_nms import __version__
from gigalis_nms.api import (
    audit,
    billing,
    billing_reports,
    catalogue,
    health,
    holdings,
    hub,
    incidents,
    map_page,
    metrics,
    ordering,
    provisioning,
    public,
    qualification,
    site_needs,
    site_needs_report,
    sla,
    strands,
)
from gigalis_nms.api.errors import install_error_handlers
from gigalis_nms.api.inventory import RESOURCES, add_resource_routes
from gigalis_nms.api.wellformed import refuse_malformed_input
from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.db import make_engine
from gigalis_nms.monitoring.exporter import GigalisCollector
from gigalis_nms.netbox import views as netbox
from gigalis_nms.settings import Settings

DESCRIPTION = """\
The network inventory of Gigalis, the public fibre backbone of the Pays de la Loire:
organisations, sites, devices, interfaces, fibre cables and their strands, backbone links,
circuits and every resource a circuit holds; and, under `/tmf-api/`, the wholesale ordering
API in the TM Forum's shapes: catalogue (TMF620), qualification (TMF679), quote (TMF648),
product order (TMF622) with notifications.

Authenticate with `Authorization: Bearer <token>` (`Token <token>` is accepted too); tokens
are made with `gigalis token create`. Lists answer `{count, next, previous, results}`;
`limit=0` asks for the largest page. Bodies are JSON (any other type answers 415); text may
not contain NUL characters. Ids run from 1 to 2147483647; an id outside that range, in the
path, the query or the body, answers 422 naming it. Every error answers
`{"error": {"status", "code", "message", "problems": [{"field", "reason"}]}}`.
"""

TAGS = [
    {"name": "organisations", "description": "Members, operators, fibre owners, suppliers."},
    {"name": "sites", "description": "PoPs, NROs, shelters, hosting rooms, customer sites."},
    {"name": "devices", "description": "Routers and switches."},
    {"name": "interfaces", "description": "Ports of devices."},
    {"name": "cables", "description": "Fibre cables and their strands."},
    {"name": "links", "description": "Backbone links and the bandwidth held on them."},
    {"name": "circuits", "description": "Leased services and what they hold."},
    {
        "name": "provisioning",
        "description": "Designs, and jobs that configure circuits on routers (staff tokens).",
    },
    {"name": "audit", "description": "Who changed what (admin and noc tokens)."},
    {
        "name": "catalogue",
        "description": "Offers and prices, read-only, as TMF620 (every token, operators too).",
    },
    {
        "name": "qualification",
        "description": "Feasibility (TMF679), with capacity held until an expiry, and quotes "
        "(TMF648); operators for themselves.",
    },
    {
        "name": "ordering",
        "description": "Product orders (TMF622), their cancellation, and notifications to "
        "the operator's callback (hub); operators see only their own.",
    },
    {
        "name": "incidents",
        "description": "Incidents with the outages they caused and their causes, and maintenance "
        "windows with the circuits they affect; operators see only their own circuits.",
    },
    {
        "name": "sla",
        "description": "Monthly SLA per circuit, operator and offer, and results stored for "
        "billing; operators see only their own.",
    },
    {
        "name": "resource centre",
        "description": "Sites needing very-high-speed access: import, analysis, coverage "
        "(staff tokens).",
    },
    {
        "name": "public",
        "description": "Public read-only data, no token: network sites, cable routes, services "
        "per commune, sites needing THD, outlines; and the map at /map.",
    },
    {"name": "service", "description": "Health of the service itself, and its metrics."},
    {
        "name": "netbox",
        "description": "The NetBox 4.1 REST dialect under /netbox/api/, for unmodified NetBox "
        "clients (pynetbox, nornir-netbox); staff tokens.",
    },
]


V1 = "/api/v1"


def include_v1(app: FastAPI) -> None:
    inventory = APIRouter()
    for resource in RESOURCES:
        add_resource_routes(inventory, resource)
    for router in (inventory, holdings.router, strands.router, provisioning.router, audit.router):
        app.include_router(router, prefix=V1)
    app.include_router(incidents.router, prefix=V1)
    app.include_router(sla.router, prefix=V1)
    app.include_router(billing.router, prefix=V1)
    app.include_router(billing_reports.router, prefix=V1)
    app.include_router(site_needs_report.router, prefix=V1)  # before site_needs: fixed paths
    app.include_router(site_needs.router, prefix=V1)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The API over ``engine`` (by default one made from the settings, and disposed with the
    app)."""
    owned = engine is None
    database = engine or make_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            database.dispose()

    app = FastAPI(
        title="Gigalis NMS",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # Before any route's own dependencies: a malformed request is refused as such.
        dependencies=[Depends(refuse_malformed_input)],
    )
    app.state.settings = settings
    app.state.engine = database
    install_error_handlers(app)
    app.state.metrics = metrics_registry(settings, database)
    app.include_router(health.router)
    app.include_router(metrics.router)
    include_v1(app)
    # TMF APIs have their own root, not /api/v1.
    for tmf in (catalogue.router, qualification.router, ordering.router, hub.router):
        app.include_router(tmf)
    # The resource centre's public view and map: no token.
    app.include_router(public.router)
    app.include_router(map_page.router)
    # The NetBox dialect, for unmodified pynetbox and nornir-netbox (gigalis_nms.netbox).
    app.include_router(netbox.router)
    app.add_middleware(netbox.ApiVersionHeader)
    return app


def metrics_registry(settings: Settings, engine: Engine) -> CollectorRegistry:
    """The app's own registry (not the process-wide default): each app reads its own
    database, and tests build several apps in one process."""
    registry = CollectorRegistry(auto_describe=False)
    offers = cached_catalogue(catalogue_path(settings))
    registry.register(GigalisCollector(engine, offers, poll_seconds=settings.poll_seconds))
    return registry
