"""``GET /metrics``: the Prometheus exposition of :mod:`gigalis_nms.monitoring.exporter`.

Staff tokens only (admin, noc, viewer): the circuit info series name each circuit's
operator, commercial information an operator must not read of another. Prometheus sends the
token with ``authorization: {type: Bearer, credentials_file: …}`` in its scrape config.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gigalis_nms.api.deps import STAFF, RoleRequirement
from gigalis_nms.api.errors import error_responses

router = APIRouter(
    tags=["service"],
    dependencies=[Depends(RoleRequirement(STAFF, "read the metrics"))],
    responses=error_responses(401, 403),
)


@router.get("/metrics", response_class=Response)
def read_metrics(request: Request) -> Response:
    """Backbone links' capacity and held bandwidth, one info series per circuit, orders,
    jobs and notifications by state, in the Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
