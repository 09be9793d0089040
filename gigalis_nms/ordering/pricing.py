"""The price of what an item asks, from the catalogue: a one-time amount and a monthly one.

- E-Lines, wavelengths, hosting: the offer's FAS once, its monthly fee each month.
- Dark fibre lease: the FAS once; each month, the rate per km of the band the route's length
  falls in, times that length (the band gives the rate for every km: it is not tiered).
- Dark fibre IRU: the FAS plus the band's rate per km times the length, once; each month a
  twelfth of the annual maintenance per km times the length.

The length is the shortest route over active fibre cables between the two sites, by cable
length (:func:`gigalis_nms.inventory.paths.shortest_cable_route`). A point end is priced from
its nearest PoP: the last mile from the point to that PoP is not Gigalis fibre and costs
nothing here (the operator builds or rents it). Amounts are EUR excluding VAT, ``Decimal``,
rounded half-up to the cent at each line.

>>> from gigalis_nms.catalogue.models import LeaseBand
>>> offer = DarkFibreLease(id="df", kind="dark_fibre_lease", name="DF", sla_class="s",
...     acceptance="noc", commitment_months=36, early_termination_percent=100,
...     one_time_fee=Decimal("1200"), bands=[
...         LeaseBand(from_km=0, to_km=10, monthly_per_km=Decimal("95")),
...         LeaseBand(from_km=10, monthly_per_km=Decimal("70"))])
>>> offer_price(offer, 12_345)
ItemPrice(one_time=Decimal('1200.00'), recurring=Decimal('864.15'), distance_m=12345)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from gigalis_nms.catalogue.models import (
    Band,
    BandwidthOffer,
    Catalogue,
    DarkFibreIru,
    DarkFibreLease,
    HostingOffer,
    OfferBase,
)
from gigalis_nms.catalogue.tmf620 import cents, tmf_price
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.paths import shortest_cable_route
from gigalis_nms.ordering.places import nearest_pop, site_point
from gigalis_nms.ordering.requests import End, ItemAsk

METRES_PER_KM = Decimal(1000)
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class ItemPrice:
    """What an item costs: once, and per month, EUR excluding VAT, to the cent; for dark
    fibre, the route length priced."""

    one_time: Decimal
    recurring: Decimal  # per month
    distance_m: int | None = None


def band_for(bands: list[Band], distance_km: Decimal) -> Band:
    """The band holding ``distance_km``; the catalogue's bands cover every distance from 0.

    >>> from gigalis_nms.catalogue.models import DistanceBand
    >>> bands = [DistanceBand(from_km=0, to_km=10), DistanceBand(from_km=10)]
    >>> band_for(bands, Decimal(10)).label
    'from-10km'
    """
    return next(band for band in bands if band.holds(distance_km))


def offer_price(offer: OfferBase, distance_m: int | None = None) -> ItemPrice:
    """The price of ``offer``; dark fibre needs the route length ``distance_m``."""
    if isinstance(offer, DarkFibreLease | DarkFibreIru):
        if distance_m is None:
            raise ValueError(f"offer {offer.id} is priced by distance; give the route length")
        return _dark_fibre_price(offer, distance_m)
    if isinstance(offer, BandwidthOffer | HostingOffer):
        return ItemPrice(cents(offer.one_time_fee), cents(offer.monthly_fee))
    raise AssertionError(f"offer kind {offer.kind} has no price rule")


def _dark_fibre_price(offer: DarkFibreLease | DarkFibreIru, distance_m: int) -> ItemPrice:
    km = Decimal(distance_m) / METRES_PER_KM
    if isinstance(offer, DarkFibreLease):
        lease = band_for(offer.bands, km)
        return ItemPrice(cents(offer.one_time_fee), cents(lease.monthly_per_km * km), distance_m)
    iru = band_for(offer.bands, km)
    one_time = cents(offer.one_time_fee) + cents(iru.one_time_per_km * km)
    maintenance = offer.annual_maintenance_per_km * km / MONTHS_PER_YEAR
    return ItemPrice(one_time, cents(maintenance), distance_m)


def price_item(
    session: Session, catalogue: Catalogue, ask: ItemAsk, *, field: str = "product"
) -> ItemPrice:
    """The price of ``ask`` under ``catalogue``. Dark fibre between sites no active cable
    route joins cannot be priced: InvalidInput naming ``<field>.place``."""
    offer = catalogue.offer(ask.offer.id) or ask.offer
    if not isinstance(offer, DarkFibreLease | DarkFibreIru):
        return offer_price(offer)
    return offer_price(offer, route_length_m(session, ask, field=field))


def route_length_m(session: Session, ask: ItemAsk, *, field: str = "product") -> int:
    """The shortest active fibre route between the ask's ends, in metres; a point end is
    taken at its nearest PoP."""
    assert ask.z is not None, "dark fibre has two ends"
    a_code, z_code = _site_code(session, ask.a), _site_code(session, ask.z)
    try:
        return shortest_cable_route(session, a_code, z_code).length_m
    except NotFound:
        raise InvalidInput.of(
            f"{field}.place", f"no active fibre cable route joins {a_code} and {z_code}"
        ) from None


def _site_code(session: Session, end: End) -> str:
    if end.point is not None:
        return nearest_pop(session, end.point.latitude, end.point.longitude).code
    if end.site_code is not None:
        return end.site_code
    assert end.site_id is not None, "an end is a site or a point"
    return site_point(session, end.site_id).code


def tmf_prices(price: ItemPrice, vat_rate: Decimal) -> list[dict[str, Any]]:
    """The TMF price entries of ``price``: the one-time amount, then the monthly one.

    >>> entries = tmf_prices(ItemPrice(Decimal("900"), Decimal("350")), Decimal("0.20"))
    >>> [(e["priceType"], e["price"]["taxIncludedAmount"]["value"]) for e in entries]
    [('oneTime', Decimal('1080.00')), ('recurring', Decimal('420.00'))]
    """
    return [
        {"priceType": "oneTime", "name": "one-time", "price": tmf_price(price.one_time, vat_rate)},
        {
            "priceType": "recurring",
            "name": "monthly",
            "recurringChargePeriod": "month",
            "price": tmf_price(price.recurring, vat_rate),
        },
    ]


def total_prices(prices: list[ItemPrice]) -> ItemPrice:
    """The sum of several items' prices (a quote's total); no distance."""
    one_time = sum((price.one_time for price in prices), Decimal("0.00"))
    recurring = sum((price.recurring for price in prices), Decimal("0.00"))
    return ItemPrice(one_time, recurring)
