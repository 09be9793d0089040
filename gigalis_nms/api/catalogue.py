"""The offer catalogue, read-only, as TMF620 Product Catalog Management.

TMF lists answer a bare JSON array, with the total in ``X-Total-Count`` and the size of this
page in ``X-Result-Count``; ``limit`` and ``offset`` page them as on every other list.
``fields`` (TMF attribute selection) is accepted and ignored: the full documents are small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gigalis_nms.api.deps import EVERYONE, RoleRequirement, app_settings
from gigalis_nms.api.errors import error_responses
from gigalis_nms.api.pagination import PageParameters, PageRequest, filters_from
from gigalis_nms.catalogue import tmf620
from gigalis_nms.catalogue.loader import cached_catalogue, catalogue_path
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.errors import NotFound
from gigalis_nms.settings import Settings

router = APIRouter(
    prefix=tmf620.BASE_PATH,
    tags=["catalogue"],
    dependencies=[Depends(RoleRequirement(EVERYONE, "read the catalogue"))],
    responses=error_responses(401, 403),
)
IGNORED_PARAMETERS = ("fields",)
CatalogueId = Annotated[
    str, Path(alias="id", max_length=100, description="the id in the catalogue")
]


def service_catalogue(settings: Annotated[Settings, Depends(app_settings)]) -> Catalogue:
    return cached_catalogue(catalogue_path(settings))


ServiceCatalogue = Annotated[Catalogue, Depends(service_catalogue)]


def tmf_list(request: Request, page: PageRequest, documents: Sequence[Any]) -> JSONResponse:
    filters_from(request, {}, ignored=IGNORED_PARAMETERS)  # an unknown parameter is a 400
    window = documents[page.offset : page.offset + page.limit]
    headers = {"X-Total-Count": str(len(documents)), "X-Result-Count": str(len(window))}
    return JSONResponse(jsonable_encoder(window), headers=headers)


def tmf_one(documents: Sequence[dict[str, Any]], wanted: str, what: str) -> JSONResponse:
    for document in documents:
        if document["id"] == wanted:
            return JSONResponse(jsonable_encoder(document))
    raise NotFound.of("path.id", f"no {what} {wanted!r}")


@router.get("/productOffering", responses=error_responses(400, 422))
def list_product_offerings(
    request: Request, catalogue: ServiceCatalogue, page: PageParameters
) -> JSONResponse:
    """The offers: dark fibre, Ethernet E-Line, wavelengths, hosting, with their terms, SLA
    and references to their prices."""
    return tmf_list(request, page, tmf620.product_offerings(catalogue))


@router.get("/productOffering/{id}", responses=error_responses(404, 422))
def get_product_offering(offer_id: CatalogueId, catalogue: ServiceCatalogue) -> JSONResponse:
    """One offer."""
    return tmf_one(tmf620.product_offerings(catalogue), offer_id, "product offering")


@router.get("/productOfferingPrice", responses=error_responses(400, 422))
def list_product_offering_prices(
    request: Request, catalogue: ServiceCatalogue, page: PageParameters
) -> JSONResponse:
    """Every price of every offer, in EUR without and with VAT (20 %)."""
    return tmf_list(request, page, tmf620.product_offering_prices(catalogue))


@router.get("/productOfferingPrice/{id}", responses=error_responses(404, 422))
def get_product_offering_price(price_id: CatalogueId, catalogue: ServiceCatalogue) -> JSONResponse:
    """One price."""
    return tmf_one(tmf620.product_offering_prices(catalogue), price_id, "product offering price")
