"""The offer catalogue as typed data: SLA classes, offers, their prices and terms.

Money is ``Decimal`` in EUR excluding VAT. The checks that need the whole catalogue (an
offer's SLA class exists, offer ids are unique) are made by :class:`Catalogue`; the loader
also makes them per offer, through the validation context, so that a file with several
mistakes has every one of them reported at once.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

CENT = Decimal("0.01")


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("a price may not be negative")
    return value


Price = Annotated[Decimal, Field(max_digits=12, decimal_places=2), AfterValidator(_not_negative)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class Strict(BaseModel):
    """A catalogue object: an unknown key is refused, a typo never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceHours(StrEnum):
    BUSINESS = "business"  # Monday to Friday 8:00–18:00 Europe/Paris, holidays excluded
    ALWAYS = "24x7"


class Acceptance(StrEnum):
    AUTOMATIC = "automatic"  # provisioning starts once the order is feasible
    NOC = "noc"  # a NOC engineer accepts the order first


class PenaltySchedule(Strict):
    percent_per_started_hour: Percent = Field(
        description="of the monthly fee, per started hour beyond the GTR"
    )
    monthly_cap_percent: Percent = Field(description="of the monthly fee, at most per month")


class SlaClass(Strict):
    id: Identifier
    name: str
    hours: ServiceHours
    gtr_hours: int = Field(gt=0, le=720, description="guaranteed time to restore service")
    availability_percent: Annotated[Decimal, Field(gt=0, le=100)]
    penalty: PenaltySchedule


class OfferBase(Strict):
    """What every offer states, whatever it sells."""

    id: Identifier
    kind: str  # each kind of offer narrows it to its own name
    name: str = Field(min_length=1)
    description: str = ""
    sla_class: str
    acceptance: Acceptance
    commitment_months: int = Field(ge=0, le=360)
    early_termination_percent: Percent = Field(
        description="of the monthly fees still due until the end of the commitment"
    )
    one_time_fee: Price = Field(description="FAS, frais d'accès au service")

    @field_validator("sla_class")
    @classmethod
    def _known_sla_class(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("sla_classes")
        if known is not None and value not in known:
            raise ValueError(unknown_sla_reason(value, known))
        return value

    @field_validator("id")
    @classmethod
    def _unique_id(cls, value: str, info: ValidationInfo) -> str:
        if value in (info.context or {}).get("duplicate_offer_ids", ()):
            raise ValueError(f"offer id {value!r} is given more than once")
        return value


class DistanceBand(Strict):
    """Distances from ``from_km`` (inclusive) to ``to_km`` (exclusive; None: no limit)."""

    from_km: Annotated[Decimal, Field(ge=0)]
    to_km: Annotated[Decimal, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> DistanceBand:
        if self.to_km is not None and self.to_km <= self.from_km:
            raise ValueError(f"to_km ({self.to_km}) must be above from_km ({self.from_km})")
        return self

    def holds(self, distance_km: Decimal) -> bool:
        return self.from_km <= distance_km and (self.to_km is None or distance_km < self.to_km)

    @property
    def label(self) -> str:
        """``0-10km``, ``from-50km``: part of price ids, so safe in a URL path."""
        if self.to_km is None:
            return f"from-{self.from_km.normalize():f}km"
        return f"{self.from_km.normalize():f}-{self.to_km.normalize():f}km"


class LeaseBand(DistanceBand):
    monthly_per_km: Price


class IruBand(DistanceBand):
    one_time_per_km: Price


Band = TypeVar("Band", bound=DistanceBand)


def band_order_problem(bands: list[Any]) -> str | None:
    """Why ``bands`` do not cover distances from 0 in ascending, adjacent bands, if they
    do not: a gap would leave a distance without a price, an overlap give it two."""
    if not bands:
        return "at least one band is needed"
    if bands[0].from_km != 0:
        return f"the first band must start at 0 km, not {bands[0].from_km}"
    for number, (previous, band) in enumerate(pairwise(bands), start=1):
        if previous.to_km is None:
            return f"band {number - 1} has no upper limit, so it must be the last"
        if band.from_km < previous.to_km:
            return f"band {number} starts at {band.from_km} km, inside band {number - 1}"
        if band.from_km > previous.to_km:
            return (
                f"band {number} starts at {band.from_km} km, leaving a gap after {previous.to_km}"
            )
    return None


def _ordered_bands(bands: list[Band]) -> list[Band]:
    problem = band_order_problem(bands)
    if problem:
        raise ValueError(problem)
    return bands


class DarkFibreLease(OfferBase):
    """A pair of strands rented by the month, priced per km by distance band."""

    kind: Literal["dark_fibre_lease"]
    bands: Annotated[list[LeaseBand], AfterValidator(_ordered_bands)]


class DarkFibreIru(OfferBase):
    """An indefeasible right of use of a pair: paid per km at signature, maintained yearly."""

    kind: Literal["dark_fibre_iru"]
    duration_years: int = Field(gt=0, le=50)
    annual_maintenance_per_km: Price
    bands: Annotated[list[IruBand], AfterValidator(_ordered_bands)]


class BandwidthOffer(OfferBase):
    bandwidth_mbps: int = Field(gt=0, description="committed bandwidth, Mb/s")
    monthly_fee: Price


class EthernetOffer(BandwidthOffer):
    """An Ethernet E-Line (EPL/EVPL) between two sites."""

    kind: Literal["ethernet"]


class WavelengthOffer(BandwidthOffer):
    """A DWDM channel end to end."""

    kind: Literal["wavelength"]


class HostingOffer(OfferBase):
    """A rack or part of one in a PoP."""

    kind: Literal["hosting"]
    rack_units: int = Field(gt=0, le=60)
    power_kw: Annotated[Decimal, Field(gt=0)]
    monthly_fee: Price


class ConnectionBand(DistanceBand):
    per_metre: Price


class SiteConnection(Strict):
    """The rates Gigalis estimates the cost of bringing fibre to a site with: a new cable
    laid from a splice joint on an existing cable, or from a PoP, to the site.

    The crow-flies distance times ``route_factor`` gives the length of civil works; the band
    holding that whole length gives the rate of every metre (as the dark-fibre bands do).
    Used by the resource centre only: never a product, so never in TMF620.
    """

    route_factor: Annotated[Decimal, Field(ge=1, le=5)] = Field(
        description="civil-works route length per metre of straight line"
    )
    cable_splice_fee: Price = Field(description="a joint opened on an existing cable")
    pop_termination_fee: Price = Field(description="the new cable's termination at a PoP")
    site_termination_fee: Price = Field(description="the termination in the site itself")
    bands: Annotated[list[ConnectionBand], AfterValidator(_ordered_bands)]


Offer = Annotated[
    DarkFibreLease | DarkFibreIru | EthernetOffer | WavelengthOffer | HostingOffer,
    Field(discriminator="kind"),
]
OFFER_KINDS = ("dark_fibre_lease", "dark_fibre_iru", "ethernet", "wavelength", "hosting")
# The kind of offer a circuit of each inventory service type is sold under when it was never
# ordered (the inventory files' circuits): dark fibre as a lease.
SERVICE_KINDS = {
    "ethernet_eline": "ethernet",
    "wavelength": "wavelength",
    "dark_fibre": "dark_fibre_lease",
    "hosting": "hosting",
}


def unknown_sla_reason(value: str, known: Any) -> str:
    return f"unknown SLA class {value!r} (known: {', '.join(sorted(known)) or 'none'})"


class Catalogue(Strict):
    version: str = Field(min_length=1)
    valid_from: date
    vat_rate: Annotated[Decimal, Field(ge=0, lt=1, description="0.20 for 20 %")]
    sla_classes: list[SlaClass] = Field(min_length=1)
    offers: list[Offer] = Field(min_length=1)
    # Optional so that a catalogue of offers only (a test's, an operator's copy) still loads;
    # without it the resource centre leaves connection costs unestimated.
    site_connection: SiteConnection | None = None

    @field_validator("sla_classes")
    @classmethod
    def _unique_sla_ids(cls, classes: list[SlaClass]) -> list[SlaClass]:
        twice = [name for name, count in Counter(c.id for c in classes).items() if count > 1]
        if twice:
            raise ValueError(f"SLA class id {twice[0]!r} is given more than once")
        return classes

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        known = {sla.id for sla in self.sla_classes}
        seen: set[str] = set()
        for offer in self.offers:
            if offer.sla_class not in known:
                raise ValueError(f"offer {offer.id}: {unknown_sla_reason(offer.sla_class, known)}")
            if offer.id in seen:
                raise ValueError(f"offer id {offer.id!r} is given more than once")
            seen.add(offer.id)
        return self

    def offer(self, offer_id: str) -> OfferBase | None:
        return next((offer for offer in self.offers if offer.id == offer_id), None)

    def offer_for_circuit(self, service_type: str, bandwidth_mbps: int | None) -> OfferBase | str:
        """The offer a never-ordered circuit is sold under, or why none is: for E-Lines and
        wavelengths the one of its bandwidth, for dark fibre the lease, for hosting the first
        hosting offer."""
        kind = SERVICE_KINDS[service_type]
        offers = [offer for offer in self.offers if offer.kind == kind]
        if kind in ("ethernet", "wavelength"):
            if bandwidth_mbps is None:
                return f"no bandwidth recorded, so no {kind} offer matches"
            offers = [
                offer
                for offer in offers
                if isinstance(offer, BandwidthOffer) and offer.bandwidth_mbps == bandwidth_mbps
            ]
            if not offers:
                return f"no {kind} offer of {bandwidth_mbps} Mb/s in the catalogue"
        if not offers:
            return f"no {kind} offer in the catalogue"
        return offers[0]

    def sla(self, sla_id: str) -> SlaClass:
        return next(sla for sla in self.sla_classes if sla.id == sla_id)
