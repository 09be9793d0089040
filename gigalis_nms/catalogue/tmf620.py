"""Offers as TM Forum TMF620 ``ProductOffering`` and ``ProductOfferingPrice`` documents.

Pure functions from the catalogue to JSON-ready dicts. Amounts stay ``Decimal`` here,
rounded half-up to the cent; the API writes them as JSON numbers. Each price states its
amount both without and with VAT, as TMF prices do:

>>> from decimal import Decimal
>>> tmf_price(Decimal("350"), Decimal("0.20"))["taxIncludedAmount"]
{'unit': 'EUR', 'value': Decimal('420.00')}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from gigalis_nms.catalogue.models import (
    CENT,
    BandwidthOffer,
    Catalogue,
    DarkFibreIru,
    DarkFibreLease,
    DistanceBand,
    HostingOffer,
    OfferBase,
)

BASE_PATH = "/tmf-api/productCatalogManagement/v4"
CURRENCY = "EUR"
PARIS = ZoneInfo("Europe/Paris")

PriceType = Literal["oneTime", "recurring"]
ChargePeriod = Literal["month", "year"]


@dataclass(frozen=True)
class OfferPrice:
    """One price of an offer: a fee, a monthly or yearly charge, possibly per km of a band."""

    id: str
    offer: OfferBase
    name: str
    price_type: PriceType
    period: ChargePeriod | None
    amount: Decimal  # EUR excluding VAT
    band: DistanceBand | None = None  # for routes whose length falls in this band
    per_km: bool = False  # the amount is per km of route


def offer_prices(offer: OfferBase) -> list[OfferPrice]:
    """Every price of ``offer``, the one-time fee (FAS) first."""
    prices = [
        OfferPrice(
            f"{offer.id}-fas",
            offer,
            "Frais d'accès au service",
            "oneTime",
            None,
            offer.one_time_fee,
        )
    ]
    if isinstance(offer, DarkFibreLease):
        prices += [
            OfferPrice(
                f"{offer.id}-{band.label}-monthly",
                offer,
                f"Location mensuelle par km ({band.label})",
                "recurring",
                "month",
                band.monthly_per_km,
                band,
                per_km=True,
            )
            for band in offer.bands
        ]
    elif isinstance(offer, DarkFibreIru):
        prices += [
            OfferPrice(
                f"{offer.id}-{band.label}",
                offer,
                f"IRU {offer.duration_years} ans par km ({band.label})",
                "oneTime",
                None,
                band.one_time_per_km,
                band,
                per_km=True,
            )
            for band in offer.bands
        ]
        prices.append(
            OfferPrice(
                f"{offer.id}-maintenance",
                offer,
                "Maintenance annuelle par km",
                "recurring",
                "year",
                offer.annual_maintenance_per_km,
                per_km=True,
            )
        )
    elif isinstance(offer, BandwidthOffer | HostingOffer):
        prices.append(
            OfferPrice(
                f"{offer.id}-monthly",
                offer,
                "Redevance mensuelle",
                "recurring",
                "month",
                offer.monthly_fee,
            )
        )
    return prices


def catalogue_prices(catalogue: Catalogue) -> list[OfferPrice]:
    return [price for offer in catalogue.offers for price in offer_prices(offer)]


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to the cent, as French invoices round.

    >>> cents(Decimal("0.125")), cents(Decimal("0.124"))
    (Decimal('0.13'), Decimal('0.12'))
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def tmf_money(amount: Decimal) -> dict[str, Any]:
    return {"unit": CURRENCY, "value": cents(amount)}


def tmf_price(duty_free: Decimal, vat_rate: Decimal) -> dict[str, Any]:
    """A TMF ``Price``: the amount without VAT and with it, each rounded to the cent."""
    return {
        "dutyFreeAmount": tmf_money(duty_free),
        "taxIncludedAmount": tmf_money(duty_free * (1 + vat_rate)),
        "taxRate": vat_rate * 100,
    }


def valid_for(catalogue: Catalogue) -> dict[str, str]:
    """The catalogue holds from midnight, Paris time, on its ``valid_from`` day."""
    return {"startDateTime": paris_midnight(catalogue.valid_from).isoformat()}


def paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)


def offering_href(offer_id: str) -> str:
    return f"{BASE_PATH}/productOffering/{offer_id}"


def price_href(price_id: str) -> str:
    return f"{BASE_PATH}/productOfferingPrice/{price_id}"


def band_value(band: DistanceBand) -> dict[str, Any]:
    value: dict[str, Any] = {
        "valueType": "number",
        "unitOfMeasure": "km",
        "valueFrom": band.from_km,
        "rangeInterval": "closedOpen",
    }
    if band.to_km is not None:
        value["valueTo"] = band.to_km
    return value


def characteristic(name: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    """A TMF ``ProductSpecificationCharacteristicValueUse``."""
    return {
        "name": name,
        "valueType": "number",
        "minCardinality": 1,
        "maxCardinality": 1,
        "productSpecCharacteristicValue": values,
    }


def fixed(value: Decimal | int, unit: str) -> dict[str, Any]:
    return {"valueType": "number", "value": value, "unitOfMeasure": unit, "isDefault": True}


def offer_characteristics(offer: OfferBase) -> list[dict[str, Any]]:
    """What the offer fixes or prices by: bandwidth, route length bands, rack space."""
    if isinstance(offer, DarkFibreLease | DarkFibreIru):
        return [characteristic("distance", [band_value(band) for band in offer.bands])]
    if isinstance(offer, BandwidthOffer):
        return [characteristic("bandwidth", [fixed(offer.bandwidth_mbps, "Mbps")])]
    if isinstance(offer, HostingOffer):
        return [
            characteristic("rackUnits", [fixed(offer.rack_units, "U")]),
            characteristic("power", [fixed(offer.power_kw, "kW")]),
        ]
    return []


def product_offering_price(price: OfferPrice, catalogue: Catalogue) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": price.id,
        "href": price_href(price.id),
        "name": price.name,
        "description": f"{price.offer.name}: {price.name}",
        "version": catalogue.version,
        "validFor": valid_for(catalogue),
        "lifecycleStatus": "Launched",
        "isBundle": False,
        "priceType": price.price_type,
        "price": tmf_price(price.amount, catalogue.vat_rate),
        "@type": "ProductOfferingPrice",
    }
    if price.period:
        document["recurringChargePeriod"] = price.period
        document["recurringChargePeriodLength"] = 1
    if price.per_km:
        document["unitOfMeasure"] = {"amount": 1, "units": "km"}
    if price.band is not None:
        document["prodSpecCharValueUse"] = [characteristic("distance", [band_value(price.band)])]
    return document


def product_offering(offer: OfferBase, catalogue: Catalogue) -> dict[str, Any]:
    sla = catalogue.sla(offer.sla_class)
    terms = [
        {
            "name": "commitment",
            "description": (
                f"Minimum commitment; leaving earlier costs {offer.early_termination_percent} % "
                "of the monthly fees still due until its end."
            ),
            "duration": {"amount": offer.commitment_months, "units": "month"},
        }
    ]
    if isinstance(offer, DarkFibreIru):
        terms.append(
            {
                "name": "iru",
                "description": "Indefeasible right of use",
                "duration": {"amount": offer.duration_years, "units": "year"},
            }
        )
    return {
        "id": offer.id,
        "href": offering_href(offer.id),
        "name": offer.name,
        "description": offer.description,
        "version": catalogue.version,
        "validFor": valid_for(catalogue),
        "lifecycleStatus": "Launched",
        "isBundle": False,
        "isSellable": True,
        "category": [{"id": offer.kind, "name": offer.kind}],
        "serviceLevelAgreement": {
            "id": sla.id,
            "name": f"{sla.name}: GTR {sla.gtr_hours} h ({sla.hours}), "
            f"availability {sla.availability_percent} %",
        },
        "productOfferingTerm": terms,
        "prodSpecCharValueUse": offer_characteristics(offer),
        "productOfferingPrice": [
            {
                "id": price.id,
                "href": price_href(price.id),
                "name": price.name,
                "@referredType": "ProductOfferingPrice",
            }
            for price in offer_prices(offer)
        ],
        "@type": "ProductOffering",
    }


def product_offerings(catalogue: Catalogue) -> list[dict[str, Any]]:
    return [product_offering(offer, catalogue) for offer in catalogue.offers]


def product_offering_prices(catalogue: Catalogue) -> list[dict[str, Any]]:
    return [product_offering_price(price, catalogue) for price in catalogue_prices(catalogue)]
