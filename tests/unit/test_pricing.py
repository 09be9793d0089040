"""Prices from the catalogue, to the cent, against figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue, OfferBase
from gigalis_nms.ordering.pricing import ItemPrice, offer_price, tmf_prices, total_prices


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


def offer(catalogue: Catalogue, offer_id: str) -> OfferBase:
    found = catalogue.offer(offer_id)
    assert found is not None
    return found


def test_an_eline_costs_its_fas_once_and_its_fee_monthly(catalogue: Catalogue) -> None:
    assert offer_price(offer(catalogue, "eline-1g")) == ItemPrice(
        Decimal("1200.00"), Decimal("600.00")
    )
    assert offer_price(offer(catalogue, "hosting-rack")) == ItemPrice(
        Decimal("800.00"), Decimal("650.00")
    )


@pytest.mark.parametrize(
    ("metres", "monthly"),
    [
        (9_999, "949.91"),  # first band: 9.999 km × 95.00 = 949.905 → half-up 949.91
        (10_000, "700.00"),  # 10 km opens the second band: 10 × 70.00
        (23_456, "1641.92"),  # 23.456 × 70.00
        (50_000, "2500.00"),  # third band: 50 × 50.00
    ],
)
def test_a_dark_fibre_lease_is_priced_per_km_by_the_band_of_its_length(
    catalogue: Catalogue, metres: int, monthly: str
) -> None:
    price = offer_price(offer(catalogue, "dark-fibre-lease"), metres)
    assert price == ItemPrice(Decimal("1200.00"), Decimal(monthly), metres)


def test_an_iru_is_paid_per_km_once_and_maintained_monthly(catalogue: Catalogue) -> None:
    # 12.345 km in the second band: 1500.00 + 12.345 × 1800.00 = 23 721.00 once;
    # 12.345 × 45.00 / 12 = 46.29375 → 46.29 a month.
    price = offer_price(offer(catalogue, "dark-fibre-iru"), 12_345)
    assert price == ItemPrice(Decimal("23721.00"), Decimal("46.29"), 12_345)


def test_rounding_is_half_up_not_to_even(catalogue: Catalogue) -> None:
    # 0.3 km: 45.00 × 0.3 / 12 = 1.125, which half-even would make 1.12.
    price = offer_price(offer(catalogue, "dark-fibre-iru"), 300)
    assert price.recurring == Decimal("1.13")
    assert price.one_time == Decimal("2220.00")  # 1500.00 + 0.3 × 2400.00


def test_dark_fibre_needs_a_length(catalogue: Catalogue) -> None:
    with pytest.raises(ValueError, match="route length"):
        offer_price(offer(catalogue, "dark-fibre-lease"))


def test_tmf_prices_state_both_amounts_with_and_without_vat() -> None:
    entries = tmf_prices(ItemPrice(Decimal("1200.00"), Decimal("840.00")), Decimal("0.20"))
    assert [entry["priceType"] for entry in entries] == ["oneTime", "recurring"]
    assert entries[1]["recurringChargePeriod"] == "month"
    assert entries[1]["price"]["dutyFreeAmount"] == {"unit": "EUR", "value": Decimal("840.00")}
    assert entries[1]["price"]["taxIncludedAmount"] == {"unit": "EUR", "value": Decimal("1008.00")}
    assert entries[0]["price"]["taxIncludedAmount"]["value"] == Decimal("1440.00")


def test_a_total_adds_the_items() -> None:
    total = total_prices(
        [
            ItemPrice(Decimal("1.10"), Decimal("2.20"), 5),
            ItemPrice(Decimal("3.30"), Decimal("4.40")),
        ]
    )
    assert total == ItemPrice(Decimal("4.40"), Decimal("6.60"))
