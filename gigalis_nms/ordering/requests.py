"""What qualifications, quotes and order items ask for, in the TM Forum's shapes, and its
reading into one :class:`ItemAsk` against the catalogue and the inventory.

A request item names an offer and a product described by its places and characteristics::

    {"productOffering": {"id": "eline-1g"},
     "product": {
        "place": [{"role": "A", "id": "NTE1"},
                  {"role": "Z", "@type": "GeographicPoint",
                   "latitude": 47.47, "longitude": -0.55}],
        "productCharacteristic": [{"name": "protected", "value": true},
                                  {"name": "aVlan", "value": 101}]}}

A place is a site, by its code, or a WGS84 point (qualification only: it is answered with the
nearest PoP). The bandwidth is the offer's; a ``bandwidthMbps`` characteristic, when given,
must agree with it. Every error names the field as the client wrote it, e.g.
``productOrderItem[0].product.place[1].id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Session

from gigalis_nms.catalogue.models import (
    BandwidthOffer,
    Catalogue,
    DarkFibreIru,
    DarkFibreLease,
    EthernetOffer,
    HostingOffer,
    OfferBase,
    WavelengthOffer,
)
from gigalis_nms.db.listing import execute_core
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.enums import ServiceType
from gigalis_nms.inventory.tables import SITE

Role = Literal["A", "Z"]


class TmfModel(BaseModel):
    """A TMF body part: unknown keys are refused (a misspelt key must not be ignored), and
    ``@type``/``@baseType``/``@schemaLocation`` are accepted as TMF clients send them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type_: str | None = Field(None, alias="@type", max_length=100)
    base_type: str | None = Field(None, alias="@baseType", max_length=100)
    schema_location: str | None = Field(None, alias="@schemaLocation", max_length=500)


class PlaceRef(TmfModel):
    """An end of the product: a site by code (``id``), or a point (qualification only)."""

    role: Role
    id: str | None = Field(None, min_length=1, max_length=32, description="site code")
    href: str | None = Field(None, max_length=500)
    name: str | None = Field(None, max_length=200)
    latitude: float | None = Field(None, ge=-90, le=90, description="WGS84")
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS84")


CharacteristicName = Literal["bandwidthMbps", "protected", "aVlan", "zVlan"]
BOOLEAN_CHARACTERISTICS = frozenset({"protected"})


def expected_kind(name: str) -> str:
    """What a characteristic's value must be, as its refusal says it.

    >>> expected_kind("protected"), expected_kind("aVlan")
    ('true or false', 'a whole number')
    """
    return "true or false" if name in BOOLEAN_CHARACTERISTICS else "a whole number"


class Characteristic(TmfModel):
    """One ``{"name", "value"}`` pair. Values are strict JSON types: ``"yes"`` or ``"101"``
    would otherwise be read as true or 101, and a client's typo must not order a protected
    circuit it did not mean to."""

    name: CharacteristicName
    value: int | bool
    value_type: str | None = Field(None, alias="valueType", max_length=32)

    @field_validator("value", mode="before")
    @classmethod
    def _strict_value(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the int | bool union, so that a wrong type gets one reason naming what the
        # characteristic takes instead of one per member of the union.
        name = info.data.get("name")
        wants_bool = name in BOOLEAN_CHARACTERISTICS
        is_bool = isinstance(value, bool)
        is_whole = isinstance(value, int) and not is_bool
        if (wants_bool and is_bool) or (not wants_bool and is_whole):
            return value
        if name is None:  # the name was refused already: that one reason is enough
            return value if is_bool or is_whole else 0
        raise ValueError(f"{name} must be {expected_kind(name)}")


class ProductOfferingRef(TmfModel):
    id: str = Field(min_length=1, max_length=64)
    href: str | None = Field(None, max_length=500)
    name: str | None = Field(None, max_length=200)


class ProductValue(TmfModel):
    """The product an item acts on: its ``id`` is a circuit reference for modify and delete;
    places and characteristics describe a new one."""

    id: str | None = Field(None, min_length=1, max_length=16, description="circuit reference")
    href: str | None = Field(None, max_length=500)
    place: list[PlaceRef] = Field(default_factory=list, max_length=2)
    product_characteristic: list[Characteristic] = Field(
        default_factory=list, alias="productCharacteristic", max_length=8
    )


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class End:
    """One end as asked: a site (its id and code) or a point."""

    site_id: int | None = None
    site_code: str | None = None
    point: GeoPoint | None = None


@dataclass(frozen=True)
class ItemAsk:
    """An item's request read against the catalogue and the inventory."""

    offer: OfferBase
    service_type: ServiceType
    bandwidth_mbps: int | None
    a: End
    z: End | None  # None: hosting, one end
    protected: bool
    a_vlan: int | None
    z_vlan: int | None


def service_of(offer: OfferBase) -> ServiceType:
    """The inventory's service for an offer of the catalogue."""
    if isinstance(offer, DarkFibreLease | DarkFibreIru):
        return ServiceType.DARK_FIBRE
    if isinstance(offer, EthernetOffer):
        return ServiceType.ETHERNET_ELINE
    if isinstance(offer, WavelengthOffer):
        return ServiceType.WAVELENGTH
    if isinstance(offer, HostingOffer):
        return ServiceType.HOSTING
    raise AssertionError(f"offer kind {offer.kind} has no service")


def bandwidth_of(offer: OfferBase) -> int | None:
    return offer.bandwidth_mbps if isinstance(offer, BandwidthOffer) else None


def offer_named(catalogue: Catalogue, offer_id: str, field: str) -> OfferBase:
    offer = catalogue.offer(offer_id)
    if offer is None:
        known = ", ".join(o.id for o in catalogue.offers)
        raise InvalidInput.of(field, f"no offer {offer_id!r} in the catalogue (offers: {known})")
    return offer


def site_ids_by_code(session: Session, codes: set[str]) -> dict[str, int]:
    query = sa.select(SITE.c.code, SITE.c.id).where(SITE.c.code.in_(codes))
    return {row.code: row.id for row in execute_core(session, query)}


def _characteristics(
    product: ProductValue, field: str, problems: list[FieldProblem]
) -> dict[str, int | bool]:
    values: dict[str, int | bool] = {}
    for number, item in enumerate(product.product_characteristic):
        where = f"{field}.productCharacteristic[{number}]"
        if item.name in values:
            problems.append(FieldProblem(f"{where}.name", f"{item.name} is given twice"))
        values[item.name] = item.value
    return values


def _vlan(value: int | bool | None, field: str, problems: list[FieldProblem]) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if not 1 <= value <= 4094:
        problems.append(FieldProblem(field, f"VLAN {value}: a VLAN id is from 1 to 4094"))
        return None
    return value


def _end(
    place: PlaceRef | None,
    field: str,
    sites: dict[str, int],
    *,
    points_allowed: bool,
    problems: list[FieldProblem],
) -> End | None:
    if place is None:
        return None
    has_point = place.latitude is not None or place.longitude is not None
    if place.id is not None and has_point:
        problems.append(FieldProblem(field, "give a site id or a point, not both"))
        return None
    if has_point:
        if not points_allowed:
            problems.append(FieldProblem(f"{field}.id", "a site code is needed here"))
            return None
        if place.latitude is None or place.longitude is None:
            problems.append(FieldProblem(field, "a point needs both latitude and longitude"))
            return None
        return End(point=GeoPoint(place.latitude, place.longitude))
    if place.id is None:
        problems.append(FieldProblem(f"{field}.id", "the site's code is required"))
        return None
    if place.id not in sites:
        problems.append(FieldProblem(f"{field}.id", f"no site {place.id!r}"))
        return None
    return End(site_id=sites[place.id], site_code=place.id)


def _places(
    product: ProductValue, field: str, problems: list[FieldProblem]
) -> dict[Role, tuple[int, PlaceRef]]:
    by_role: dict[Role, tuple[int, PlaceRef]] = {}
    for number, place in enumerate(product.place):
        if place.role in by_role:
            problems.append(FieldProblem(f"{field}.place[{number}].role", f"{place.role} twice"))
        by_role[place.role] = (number, place)
    return by_role


def read_item(
    session: Session,
    catalogue: Catalogue,
    offering: ProductOfferingRef,
    product: ProductValue,
    field: str,
    *,
    points_allowed: bool,
) -> ItemAsk:
    """Read one item's offer, places and characteristics; InvalidInput listing every
    problem, each with its field under ``field`` (e.g. ``productOrderItem[0]``)."""
    problems: list[FieldProblem] = []
    offer = offer_named(catalogue, offering.id, f"{field}.productOffering.id")
    service = service_of(offer)
    product_field = f"{field}.product"
    values = _characteristics(product, product_field, problems)
    by_role = _places(product, product_field, problems)
    codes = {place.id for _, place in by_role.values() if place.id is not None}
    sites = site_ids_by_code(session, codes)

    ends: dict[Role, End | None] = {}
    for role in ("A", "Z"):
        number, place = by_role.get(role, (len(product.place), None))
        ends[role] = _end(
            place,
            f"{product_field}.place[{number}]",
            sites,
            points_allowed=points_allowed,
            problems=problems,
        )
    a_end, z_end = ends["A"], ends["Z"]
    if "A" not in by_role:
        problems.append(FieldProblem(f"{product_field}.place", "an A place is required"))
    if service is ServiceType.HOSTING and "Z" in by_role:
        problems.append(FieldProblem(f"{product_field}.place", "hosting has an A place only"))
    if service is not ServiceType.HOSTING and "Z" not in by_role:
        problems.append(FieldProblem(f"{product_field}.place", "a Z place is required"))
    if a_end is not None and a_end.point is not None and z_end is not None and z_end.point:
        problems.append(FieldProblem(f"{product_field}.place", "at most one end may be a point"))

    bandwidth = bandwidth_of(offer)
    asked = values.get("bandwidthMbps")
    if asked is not None and asked != bandwidth:
        problems.append(
            FieldProblem(
                f"{product_field}.productCharacteristic",
                f"bandwidthMbps {asked} is not offer {offer.id}'s ({bandwidth or 'none'}); "
                "choose the offer of that bandwidth",
            )
        )
    protected = bool(values.get("protected", False))
    if protected and service is not ServiceType.ETHERNET_ELINE:
        problems.append(
            FieldProblem(f"{product_field}.productCharacteristic", "only an E-Line is protected")
        )
    a_vlan = _vlan(values.get("aVlan"), f"{product_field}.productCharacteristic", problems)
    z_vlan = _vlan(values.get("zVlan"), f"{product_field}.productCharacteristic", problems)
    if problems:
        raise InvalidInput("; ".join(str(problem) for problem in problems), problems)
    assert a_end is not None
    return ItemAsk(offer, service, bandwidth, a_end, z_end, protected, a_vlan, z_vlan)
