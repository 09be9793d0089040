"""Sites needing THD under /api/v1/site-needs (staff tokens).

Staff read them (admin, NOC, viewer, finance); admins and the NOC create, change and delete
them. An operator's token is refused with 403, as for every staff-only resource: the
resource centre's internal view (contacts, notes) is not for operators, and its public view
is under /api/v1/public. Every write is audited by the session listener, and creating a site
or changing what the analysis reads recomputes its distances, cost and priority.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlmodel.main import SQLModelConfig

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import STAFF, WRITERS, DbSession, RoleRequirement, app_settings
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import (
    Page,
    PageParameters,
    filter_parameters,
    filters_from,
    page_response,
)
from gigalis_nms.db.types import RowId
from gigalis_nms.resource_centre import service
from gigalis_nms.resource_centre.communes import Commune, communes_of
from gigalis_nms.resource_centre.models import SiteNeedBase, SiteNeedRead, SiteNeedUpdate
from gigalis_nms.settings import Settings

router = APIRouter(tags=["resource centre"])
readers = [Depends(RoleRequirement(STAFF, "read sites needing THD"))]
writers = [Depends(RoleRequirement(WRITERS, "change sites needing THD"))]
PATH = "/site-needs"

SiteId = Annotated[RowId, Path(alias="id", description="the site's id")]


class SiteNeedBody(SiteNeedBase):
    """A new site needing THD. The dates are checked against the status, naming the field."""

    # A misspelt field must be refused, not dropped: the site would be stored without it.
    model_config = SQLModelConfig(extra="forbid")


class SiteNeedChange(SiteNeedUpdate):
    """Fields of a site to change; those left out are kept."""

    model_config = SQLModelConfig(extra="forbid")


async def reference_communes(
    settings: Annotated[Settings, Depends(app_settings)],
) -> dict[str, Commune]:
    return communes_of(settings)


Communes = Annotated[dict[str, Commune], Depends(reference_communes)]


@router.get(
    PATH,
    dependencies=readers,
    response_model=Page[SiteNeedRead],
    responses=error_responses(400, 401, 403, 422),
    openapi_extra={"parameters": filter_parameters(service.SITE_NEEDS)},
)
def list_site_needs(request: Request, session: DbSession, page: PageParameters) -> Response:
    """Sites needing THD, by id, with their analysis. Filters are exact; repeat one for any
    of several; an unknown parameter is refused."""
    filters = filters_from(request, service.SITE_NEEDS.filters)
    rows = service.list_sites(session, filters, limit=page.limit, offset=page.offset)
    return page_response(request, SiteNeedRead, page, rows)


@router.get(
    f"{PATH}/{{id}}",
    dependencies=readers,
    response_model=SiteNeedRead,
    responses=error_responses(401, 403, 404, 422),
)
def get_site_need(site_id: SiteId, session: DbSession) -> SiteNeedRead:
    """One site needing THD, with its analysis."""
    return SiteNeedRead.model_validate(service.get_site(session, site_id))


@router.post(
    PATH,
    dependencies=writers,
    response_model=SiteNeedRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 415, 422),
)
def create_site_need(
    body: SiteNeedBody, session: DbSession, communes: Communes, catalogue: ServiceCatalogue
) -> SiteNeedRead:
    """Add a site needing THD: its point in France (WGS84), its commune known, its
    identifiers unique; its distances, cost and priority are computed at once."""
    site = service.create_site(session, body, communes=communes, catalogue=catalogue)
    return SiteNeedRead.model_validate(site)


@router.patch(
    f"{PATH}/{{id}}",
    dependencies=writers,
    response_model=SiteNeedRead,
    responses=error_responses(401, 403, 404, 409, 415, 422),
)
def update_site_need(
    site_id: SiteId,
    body: SiteNeedChange,
    session: DbSession,
    communes: Communes,
    catalogue: ServiceCatalogue,
) -> SiteNeedRead:
    """Change only the fields sent; the dates are checked against the status once merged
    with the stored site. A new point, category, connectivity, need or status recomputes
    the analysis."""
    site = service.update_site(session, site_id, body, communes=communes, catalogue=catalogue)
    return SiteNeedRead.model_validate(site)


@router.delete(
    f"{PATH}/{{id}}",
    dependencies=writers,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
def delete_site_need(site_id: SiteId, session: DbSession) -> Response:
    """Delete a site needing THD; the audit log keeps what it was."""
    service.delete_site(session, site_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
