"""The TMF620 catalogue over HTTP, on both databases (tokens live in the database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gigalis_nms.api.app import create_app
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.tmf620 import catalogue_prices
from gigalis_nms.settings import Settings
from tests.integration.conftest import Api

CATALOGUE = "/tmf-api/productCatalogManagement/v4"
SHIPPED = load_catalogue(REPOSITORY_CATALOGUE)


@pytest.mark.parametrize("who", ["operator_a", "viewer", "noc", "admin"])
def test_every_token_reads_the_offerings(api: Api, who: str) -> None:
    response = api.get(who, f"{CATALOGUE}/productOffering")

    assert response.status_code == 200
    offerings = response.json()
    assert isinstance(offerings, list)
    assert [offering["id"] for offering in offerings] == [offer.id for offer in SHIPPED.offers]
    assert response.headers["X-Total-Count"] == str(len(SHIPPED.offers))
    assert response.headers["X-Result-Count"] == str(len(SHIPPED.offers))


def test_no_token_no_catalogue(api: Api) -> None:
    assert api.get(None, f"{CATALOGUE}/productOffering").status_code == 401


def test_offerings_are_paged(api: Api) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/productOffering?limit=3&offset=2&fields=id")

    assert [offering["id"] for offering in response.json()] == [
        offer.id for offer in SHIPPED.offers[2:5]
    ]
    assert response.headers["X-Total-Count"] == str(len(SHIPPED.offers))
    assert response.headers["X-Result-Count"] == "3"


def test_one_offering(api: Api) -> None:
    response = api.get("operator_b", f"{CATALOGUE}/productOffering/eline-10g")

    assert response.status_code == 200
    offering = response.json()
    assert offering["@type"] == "ProductOffering"
    assert offering["serviceLevelAgreement"]["id"] == "premium"
    assert offering["href"] == f"{CATALOGUE}/productOffering/eline-10g"


def test_one_price_with_vat(api: Api) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/productOfferingPrice/eline-1g-monthly")

    assert response.status_code == 200
    price = response.json()
    assert price["priceType"] == "recurring"
    assert price["recurringChargePeriod"] == "month"
    assert price["price"]["dutyFreeAmount"] == {"unit": "EUR", "value": 600}
    assert price["price"]["taxIncludedAmount"] == {"unit": "EUR", "value": 720}


def test_every_price_is_listed_and_its_refs_resolve(api: Api) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/productOfferingPrice?limit=0")

    ids = {price["id"] for price in response.json()}
    assert len(ids) == len(catalogue_prices(SHIPPED))
    assert response.headers["X-Total-Count"] == str(len(ids))
    offering = api.get("operator_a", f"{CATALOGUE}/productOffering/dark-fibre-iru").json()
    for reference in offering["productOfferingPrice"]:
        assert reference["id"] in ids
        assert api.get("operator_a", reference["href"]).status_code == 200


@pytest.mark.parametrize("resource", ["productOffering", "productOfferingPrice"])
def test_an_unknown_id_answers_404(api: Api, resource: str) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/{resource}/no-such-thing")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["problems"][0]["field"] == "path.id"


@pytest.mark.parametrize("resource", ["productOffering", "productOfferingPrice"])
def test_an_unknown_parameter_answers_400(api: Api, resource: str) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/{resource}?lifecycle=Launched")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_parameter"
    assert error["problems"][0]["field"] == "query.lifecycle"


def test_a_bad_limit_answers_422(api: Api) -> None:
    response = api.get("operator_a", f"{CATALOGUE}/productOffering?limit=-1")

    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "query.limit"


def test_the_catalogue_file_is_a_setting(api: Api, settings: Settings, tmp_path: Path) -> None:
    text = REPOSITORY_CATALOGUE.read_text(encoding="utf-8")
    other = tmp_path / "catalogue.yaml"
    other.write_text(text.replace('version: "2026.1"', 'version: "test-1"'), encoding="utf-8")
    changed = settings.model_copy(update={"catalogue_file": other})

    with TestClient(create_app(changed, api.client.app.state.engine)) as client:
        response = client.get(
            f"{CATALOGUE}/productOffering/eline-1g",
            headers={"Authorization": f"Bearer {api.tokens['operator_a']}"},
        )

    assert response.json()["version"] == "test-1"
