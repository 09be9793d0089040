"""The offer catalogue: the shipped file, the errors a bad file gets, and its TMF620 shape."""

from __future__ import annotations

import doctest
from decimal import Decimal
from pathlib import Path

import pytest

from gigalis_nms.catalogue import tmf620
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue, DarkFibreLease, EthernetOffer
from gigalis_nms.errors import InvalidInput

SHIPPED = REPOSITORY_CATALOGUE.read_text(encoding="utf-8")

SMALL = """\
version: "test"
valid_from: 2026-01-01
vat_rate: 0.20
sla_classes:
  - id: standard
    name: Standard
    hours: business
    gtr_hours: 8
    availability_percent: 99.5
    penalty:
      percent_per_started_hour: 5
      monthly_cap_percent: 50
offers:
  - id: eline-1g
    kind: ethernet
    name: E-Line 1G
    sla_class: standard
    acceptance: automatic
    commitment_months: 36
    early_termination_percent: 100
    bandwidth_mbps: 1000
    one_time_fee: 1200.00
    monthly_fee: 600.00
  - id: fibre
    kind: dark_fibre_lease
    name: Dark fibre
    sla_class: standard
    acceptance: noc
    commitment_months: 36
    early_termination_percent: 100
    one_time_fee: 1200.00
    bands:
      - {from_km: 0, to_km: 10, monthly_per_km: 95.00}
      - {from_km: 10, monthly_per_km: 70.00}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        load_catalogue(write(tmp_path, text))
    return [str(problem) for problem in refused.value.problems]


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)

    kinds = {offer.kind for offer in catalogue.offers}
    assert kinds == {"dark_fibre_lease", "dark_fibre_iru", "ethernet", "wavelength", "hosting"}
    speeds = {o.bandwidth_mbps for o in catalogue.offers if isinstance(o, EthernetOffer)}
    assert speeds == {100, 1000, 10_000, 100_000}
    assert {sla.id for sla in catalogue.sla_classes} == {"standard", "premium"}


def test_a_small_catalogue_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, SMALL))

    fibre = catalogue.offers[1]
    assert isinstance(fibre, DarkFibreLease)
    assert fibre.bands[1].to_km is None
    assert catalogue.offers[0].one_time_fee == Decimal("1200.00")


def test_a_negative_price_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    text = SMALL.replace("monthly_fee: 600.00", "monthly_fee: -600.00")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:23: offers.0.monthly_fee: a price may not be negative"
    ]


def test_a_negative_price_per_km_is_refused_at_its_band(tmp_path: Path) -> None:
    text = SMALL.replace("monthly_per_km: 70.00", "monthly_per_km: -1")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:34: offers.1.bands.1.monthly_per_km: a price may not be negative"
    ]


def test_an_unknown_sla_class_is_refused(tmp_path: Path) -> None:
    text = SMALL.replace(
        "sla_class: standard\n    acceptance: noc", "sla_class: gold\n    acceptance: noc"
    )

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:27: offers.1.sla_class: unknown SLA class 'gold' (known: standard)"
    ]


def test_overlapping_bands_are_refused(tmp_path: Path) -> None:
    text = SMALL.replace("{from_km: 10, monthly", "{from_km: 8, monthly")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:32: offers.1.bands: band 1 starts at 8 km, inside band 0"
    ]


def test_a_band_without_end_must_be_the_last(tmp_path: Path) -> None:
    text = SMALL.replace("{from_km: 0, to_km: 10, ", "{from_km: 0, ")

    (problem,) = problems_of(tmp_path, text)
    assert problem.endswith("band 0 has no upper limit, so it must be the last")


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    text = SMALL.replace(
        "    monthly_fee: 600.00\n", "    monthly_fee: 600.00\n    montly_fee: 1\n"
    )

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:24: offers.0.montly_fee: Extra inputs are not permitted"
    ]


def test_a_repeated_offer_id_is_refused_at_each_use(tmp_path: Path) -> None:
    text = SMALL.replace("id: fibre", "id: eline-1g")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:14: offers.0.id: offer id 'eline-1g' is given more than once",
        "catalogue.yaml:24: offers.1.id: offer id 'eline-1g' is given more than once",
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        SMALL.replace("monthly_fee: 600.00", "monthly_fee: -600.00")
        .replace("sla_class: standard\n    acceptance: noc", "sla_class: gold\n    acceptance: noc")
        .replace("{from_km: 10, monthly", "{from_km: 8, monthly")
        .replace("bandwidth_mbps: 1000", "bandwidth_mbps: 0")
        .replace("    gtr_hours: 8\n", "    gtr_hours: 8\n    colour: blue\n")
    )

    problems = problems_of(tmp_path, text)

    assert problems == [
        "catalogue.yaml:9: sla_classes.0.colour: Extra inputs are not permitted",
        "catalogue.yaml:22: offers.0.bandwidth_mbps: Input should be greater than 0",
        "catalogue.yaml:24: offers.0.monthly_fee: a price may not be negative",
        "catalogue.yaml:28: offers.1.sla_class: unknown SLA class 'gold' (known: standard)",
        "catalogue.yaml:33: offers.1.bands: band 1 starts at 8 km, inside band 0",
    ]


def test_a_missing_field_is_named_at_its_object(tmp_path: Path) -> None:
    text = SMALL.replace("    monthly_fee: 600.00\n", "")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:14: offers.0.monthly_fee: Field required"
    ]


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, SMALL + "  - [unclosed\n")

    assert problem.startswith("catalogue.yaml:")
    assert "invalid YAML" in problem


def test_the_catalogue_checks_sla_classes_when_built_in_code() -> None:
    document = load_catalogue(REPOSITORY_CATALOGUE).model_dump()
    document["offers"][0]["sla_class"] = "gold"

    with pytest.raises(ValueError, match="unknown SLA class 'gold'"):
        Catalogue.model_validate(document)


# --- TMF620 ---------------------------------------------------------------------------------


def test_vat_is_added_and_rounded_half_up_to_the_cent() -> None:
    price = tmf620.tmf_price(Decimal("10.0625"), Decimal("0.20"))  # 12.075 with VAT

    assert price["dutyFreeAmount"] == {"unit": "EUR", "value": Decimal("10.06")}
    assert price["taxIncludedAmount"] == {"unit": "EUR", "value": Decimal("12.08")}
    assert tmf620.cents(Decimal("2.675")) == Decimal("2.68")  # 2.67 as a float would round


def test_an_ethernet_offering_has_the_tmf_shape() -> None:
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    offer = catalogue.offer("eline-1g")
    assert offer is not None

    document = tmf620.product_offering(offer, catalogue)

    assert document["@type"] == "ProductOffering"
    assert document["href"] == "/tmf-api/productCatalogManagement/v4/productOffering/eline-1g"
    assert document["lifecycleStatus"] == "Launched"
    assert document["isBundle"] is False
    assert document["version"] == catalogue.version
    assert document["validFor"] == {"startDateTime": "2026-01-01T00:00:00+01:00"}
    (bandwidth,) = document["prodSpecCharValueUse"]
    assert bandwidth["name"] == "bandwidth"
    assert bandwidth["productSpecCharacteristicValue"][0]["value"] == 1000
    assert [ref["id"] for ref in document["productOfferingPrice"]] == [
        "eline-1g-fas",
        "eline-1g-monthly",
    ]


def test_prices_have_the_tmf_shape() -> None:
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    prices = {price["id"]: price for price in tmf620.product_offering_prices(catalogue)}

    monthly = prices["eline-1g-monthly"]
    assert monthly["@type"] == "ProductOfferingPrice"
    assert monthly["priceType"] == "recurring"
    assert monthly["recurringChargePeriod"] == "month"
    assert monthly["price"]["dutyFreeAmount"] == {"unit": "EUR", "value": Decimal("600.00")}
    assert monthly["price"]["taxIncludedAmount"] == {"unit": "EUR", "value": Decimal("720.00")}

    fas = prices["eline-1g-fas"]
    assert fas["priceType"] == "oneTime"
    assert "recurringChargePeriod" not in fas

    maintenance = prices["dark-fibre-iru-maintenance"]
    assert maintenance["recurringChargePeriod"] == "year"
    assert maintenance["unitOfMeasure"] == {"amount": 1, "units": "km"}

    far = prices["dark-fibre-lease-from-50km-monthly"]
    (distance,) = far["prodSpecCharValueUse"]
    assert distance["productSpecCharacteristicValue"][0]["valueFrom"] == 50
    assert "valueTo" not in distance["productSpecCharacteristicValue"][0]
    assert len(prices) == len(tmf620.catalogue_prices(catalogue))  # ids are unique


def test_an_unknown_offer_kind_is_named_at_its_line(tmp_path: Path) -> None:
    text = SMALL.replace("kind: ethernet", "kind: etherne")

    assert problems_of(tmp_path, text) == [
        "catalogue.yaml:15: offers.0.kind: must be one of dark_fibre_lease, dark_fibre_iru, "
        "ethernet, wavelength, hosting"
    ]


def test_docstring_examples_run() -> None:
    result = doctest.testmod(tmf620)
    assert result.attempted > 0
    assert result.failed == 0
