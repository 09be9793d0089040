"""Coverage of the sites needing THD, and recomputing their analysis, under
/api/v1/site-needs (staff tokens; recomputing is the NOC's and the admins').

Included before the sites' own routes (:mod:`gigalis_nms.api.site_needs`), so that
``/site-needs/coverage`` is never read as a site's id.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gigalis_nms.api.catalogue import ServiceCatalogue
from gigalis_nms.api.deps import STAFF, WRITERS, DbSession, RoleRequirement, app_settings
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import filters_from
from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.analysis import analyse_sites
from gigalis_nms.resource_centre.communes import DEPARTEMENT_NAMES, communes_of
from gigalis_nms.resource_centre.coverage import (
    DEFAULT_WITHIN_M,
    MAX_WITHIN_M,
    AnalysisOverview,
    CoverageAxis,
    CoverageReport,
    analysis_overview,
    as_csv,
    coverage_report,
)
from gigalis_nms.resource_centre.models import NeedStatus, SiteCategory
from gigalis_nms.settings import Settings

router = APIRouter(
    prefix="/site-needs",
    tags=["resource centre"],
    responses=error_responses(400, 401, 403, 422),
)
readers = (Depends(RoleRequirement(STAFF, "read the coverage of sites needing THD")),)
analysts = (Depends(RoleRequirement(WRITERS, "recompute the analysis of sites needing THD")),)


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class AnalysisResult(AnalysisOverview):
    analysed: int  # sites whose analysis columns were just written


WithinQuery = Annotated[
    int,
    Query(ge=0, le=MAX_WITHIN_M, description="metres from the network counted as near"),
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}
COVERAGE_PARAMETERS = ("within", "by", "departement", "status", "category", "format")


@router.get(
    "/coverage", dependencies=readers, response_model=CoverageReport, responses=CSV_RESPONSE
)
def read_coverage(
    request: Request,
    *,
    session: DbSession,
    settings: Annotated[Settings, Depends(app_settings)],
    within: WithinQuery = DEFAULT_WITHIN_M,
    by: Annotated[
        CoverageAxis, Query(description="rows per commune or per département")
    ] = CoverageAxis.DEPARTEMENT,
    departement: Annotated[
        str | None, Query(description="only this département: 44, 49, 53, 72 or 85")
    ] = None,
    status: Annotated[
        list[NeedStatus] | None, Query(description="only sites of these statuses")
    ] = None,
    category: Annotated[
        list[SiteCategory] | None, Query(description="only sites of these categories")
    ] = None,
    output: Annotated[
        ReportFormat, Query(alias="format", description="json, or csv for a spreadsheet")
    ] = ReportFormat.JSON,
) -> CoverageReport | Response:
    """Sites needing THD by status, how many lie within `within` metres of the network
    (the nearer of their nearest PoP and cable, as last analysed) and their share, and the
    population of the communes with an active PoP, per commune or département, with totals."""
    filters_from(request, {}, ignored=COVERAGE_PARAMETERS)
    if departement is not None and departement not in DEPARTEMENT_NAMES:
        known = ", ".join(DEPARTEMENT_NAMES)
        raise InvalidInput.of("query.departement", f"not a département of the region ({known})")
    found = coverage_report(
        session,
        communes_of(settings),
        by=by,
        within_m=within,
        departement=departement,
        statuses=status or (),
        categories=category or (),
    )
    if output is ReportFormat.CSV:
        scope = f"-{departement}" if departement else ""
        return Response(
            as_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="gigalis-coverage-by-{by.value}{scope}.csv"'
                )
            },
        )
    return found


@router.post("/analyse", dependencies=analysts, response_model=AnalysisResult)
def analyse_all_sites(
    request: Request,
    *,
    session: DbSession,
    catalogue: ServiceCatalogue,
    within: WithinQuery = DEFAULT_WITHIN_M,
) -> AnalysisResult:
    """Recompute every site's nearest PoP and cable route, distances, estimated connection
    cost and priority against the active network; answer the figures of the whole."""
    filters_from(request, {}, ignored=("within",))
    summary = analyse_sites(session, catalogue)
    overview = analysis_overview(session, within)
    return AnalysisResult(analysed=summary.analysed, **overview.model_dump())
