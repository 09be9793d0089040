"""Feasibility (TMF679 productOfferingQualification) and quotes (TMF648 quote).

Operators qualify and quote for their own organisation, the NOC (admin and noc tokens) for
the operator it names in ``relatedParty``; viewers read only. A qualification is answered at
once (201, state done); a quote is priced at once (201, state approved). Reading another
operator's answers 404, as if it did not exist. Lists are JSON arrays, newest first, with the
total in ``X-Total-Count`` and the page size in ``X-Result-Count``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gigalis_nms.api.catalogue import IGNORED_PARAMETERS, ServiceCatalogue
from gigalis_nms.api.deps import (
    BUYERS,
    EVERYONE,
    CurrentPrincipal,
    DbSession,
    RoleRequirement,
    Tenant,
    app_settings,
)
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import PageParameters, filters_from
from gigalis_nms.db.types import RowId, utcnow
from gigalis_nms.ordering import feasibility, quotes
from gigalis_nms.ordering.parties import customer_of
from gigalis_nms.settings import Settings

router = APIRouter(
    tags=["qualification"],
    dependencies=[Depends(RoleRequirement(EVERYONE, "qualify or quote"))],
    responses=error_responses(401, 403),
)
QUALIFICATIONS = f"{feasibility.BASE_PATH}/productOfferingQualification"
QUOTES = f"{quotes.BASE_PATH}/quote"

AppSettings = Annotated[Settings, Depends(app_settings)]
DocumentId = Annotated[RowId, Path(alias="id", description="the id the POST answered")]


def created(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(document),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": document["href"]},
    )


def document_list(
    request: Request,
    page: PageParameters,
    read: Callable[..., tuple[int, list[Any]]],
    represent: Callable[[Any], dict[str, Any]],
    **scope: Any,
) -> JSONResponse:
    filters_from(request, {}, ignored=IGNORED_PARAMETERS)  # an unknown parameter is a 400
    total, rows = read(limit=page.limit, offset=page.offset, **scope)
    headers = {"X-Total-Count": str(total), "X-Result-Count": str(len(rows))}
    return JSONResponse(jsonable_encoder([represent(row) for row in rows]), headers=headers)


# --- Qualification ------------------------------------------------------------------------


buyers = [Depends(RoleRequirement(BUYERS, "qualify or quote"))]


@router.post(
    QUALIFICATIONS, status_code=201, dependencies=buyers, responses=error_responses(415, 422)
)
def create_qualification(
    body: feasibility.QualificationBody,
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    catalogue: ServiceCatalogue,
    settings: AppSettings,
) -> JSONResponse:
    """Whether an offer can be delivered between two places (a site by code, or a WGS84
    point answered with its nearest PoP): qualified, unqualified or alternate, with the
    reasons and the alternatives; ``holdCapacity`` holds what is qualified until
    ``expirationDate``."""
    operator_id = customer_of(session, body.related_party, tenant=tenant, field="relatedParty")
    qualification = feasibility.qualify(
        session,
        catalogue,
        body,
        operator_id=operator_id,
        actor=principal.actor,
        now=utcnow(),
        hold_minutes=settings.qualification_hold_minutes,
    )
    return created(qualification.answer)


@router.get(QUALIFICATIONS, responses=error_responses(400, 422))
def list_qualifications(
    request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> JSONResponse:
    """The qualifications the caller may see, newest first, as they were answered."""
    return document_list(
        request,
        page,
        lambda **kwargs: feasibility.list_qualifications(session, tenant=tenant, **kwargs),
        lambda qualification: qualification.answer,
    )


@router.get(f"{QUALIFICATIONS}/{{id}}", responses=error_responses(404, 422))
def get_qualification(
    qualification_id: DocumentId, session: DbSession, tenant: Tenant
) -> JSONResponse:
    """One qualification, as it was answered."""
    qualification = feasibility.get_qualification(session, qualification_id, tenant=tenant)
    return JSONResponse(jsonable_encoder(qualification.answer))


# --- Quote --------------------------------------------------------------------------------


@router.post(QUOTES, status_code=201, dependencies=buyers, responses=error_responses(415, 422))
def create_quote(
    body: quotes.QuoteBody,
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    tenant: Tenant,
    catalogue: ServiceCatalogue,
    settings: AppSettings,
) -> JSONResponse:
    """The catalogue's price for one offer between two sites (one-time and monthly, without
    and with VAT), valid for ``settings.quote_valid_days``."""
    operator_id = customer_of(session, body.related_party, tenant=tenant, field="relatedParty")
    quote = quotes.create_quote(
        session,
        catalogue,
        body,
        operator_id=operator_id,
        actor=principal.actor,
        now=utcnow(),
        valid_days=settings.quote_valid_days,
    )
    return created(quotes.quote_resource(quote))


@router.get(QUOTES, responses=error_responses(400, 422))
def list_quotes(
    request: Request, session: DbSession, tenant: Tenant, page: PageParameters
) -> JSONResponse:
    """The quotes the caller may see, newest first."""
    return document_list(
        request,
        page,
        lambda **kwargs: quotes.list_quotes(session, tenant=tenant, **kwargs),
        quotes.quote_resource,
    )


@router.get(f"{QUOTES}/{{id}}", responses=error_responses(404, 422))
def get_quote(quote_id: DocumentId, session: DbSession, tenant: Tenant) -> JSONResponse:
    """One quote."""
    return JSONResponse(
        jsonable_encoder(quotes.quote_resource(quotes.get_quote(session, quote_id, tenant=tenant)))
    )
