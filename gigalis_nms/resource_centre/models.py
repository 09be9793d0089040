"""The table of sites needing very-high-speed (THD) access, and its API model families.

A *site needing THD* is a place the region wants on fibre — a collège, a hospital, a town
hall, a business park — that Gigalis keeps for its members and the public: what it is, where
it stands (WGS84, as every coordinate is stored; distances are computed in Lambert-93), how
it is connected today, what it needs, and how far its connection has gone (identified →
studied → planned → connected, each step dated).

Identifiers are unique when given, so that imports from several sources merge on them: the
UAI of a school, the FINESS of a health establishment, the SIRET of any establishment.

The analysis columns (nearest PoP and cable route, distances, estimated cost, priority) are
computed by :mod:`gigalis_nms.resource_centre.analysis`, never imported or written through
the API; ``analysed_at`` says when.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, model_validator
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow
from gigalis_nms.inventory import validators as check
from gigalis_nms.inventory.models import Contact
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.ordering.models import MONEY
from gigalis_nms.resource_centre import identifiers

Uai = Annotated[str, AfterValidator(identifiers.check_uai)]
Finess = Annotated[str, AfterValidator(identifiers.check_finess)]
Siret = Annotated[str, AfterValidator(identifiers.check_siret)]
Postcode = Annotated[str, AfterValidator(identifiers.check_postcode)]
InseeCode = Annotated[str, AfterValidator(check.check_insee_code)]


class SiteCategory(StrEnum):
    SCHOOL = "school"  # écoles, collèges, lycées (UAI)
    HIGHER_EDUCATION = "higher_education"  # universities, grandes écoles, research (UAI)
    HOSPITAL = "hospital"  # hospitals and clinics (FINESS)
    HEALTH_CENTRE = "health_centre"  # maisons de santé, EHPAD, medical centres (FINESS)
    TOWN_HALL = "town_hall"  # mairies
    ADMINISTRATION = "administration"  # other public offices: prefectures, departments…
    BUSINESS_PARK = "business_park"  # zones d'activités
    BUSINESS = "business"  # a single company
    CULTURE_SPORT = "culture_sport"  # libraries, museums, sports halls
    OTHER = "other"


class Connectivity(StrEnum):
    """How a site is connected today, from worst to best for a site needing THD."""

    UNKNOWN = "unknown"
    NONE = "none"
    SATELLITE = "satellite"
    RADIO = "radio"  # THD radio, fixed 4G/5G
    DSL = "dsl"  # ADSL, VDSL2 on copper
    CABLE = "cable"  # coaxial (DOCSIS)
    FTTH = "ftth"  # residential fibre, best effort
    FTTE = "ftte"  # business offer on the FTTH network, with a GTR
    FTTO = "ftto"  # dedicated fibre: the site needs nothing more


class NeedStatus(StrEnum):
    """How far a site's connection has gone, in order; each step has its date."""

    IDENTIFIED = "identified"  # listed as needing THD
    STUDIED = "studied"  # a connection study is done (route, cost)
    PLANNED = "planned"  # works are decided and scheduled
    CONNECTED = "connected"  # on the network


NEED_STEPS = list(NeedStatus)
# The date column of each status.
STATUS_DATE = {status: f"{status.value}_on" for status in NeedStatus}


class ConnectFrom(StrEnum):
    """Where the cheapest connection of a site starts."""

    CABLE = "cable"  # a splice joint on the nearest cable route
    POP = "pop"  # the nearest PoP itself


class LocatedBy(StrEnum):
    """Where a site's point comes from: GraceTHD's geolocation quality, simplified."""

    SOURCE = "source"  # the imported file or the API gave the point
    COMMUNE = "commune"  # the file gave none: the commune's centre stands in (less precise)


class SiteNeedBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    category: SiteCategory = Field(sa_column=enum_column(SiteCategory, nullable=False))
    uai: Uai | None = Field(default=None, max_length=8, unique=True)
    finess: Finess | None = Field(default=None, max_length=9, unique=True)
    siret: Siret | None = Field(default=None, max_length=14, unique=True)
    address: str | None = Field(default=None, max_length=300)
    postcode: Postcode | None = Field(default=None, max_length=5)
    commune_insee: InseeCode | None = Field(
        default=None, max_length=5, index=True, description="INSEE code of the commune"
    )
    latitude: float = Field(ge=-90, le=90, description="WGS84 degrees north")
    longitude: float = Field(ge=-180, le=180, description="WGS84 degrees east")
    located_by: LocatedBy = Field(
        default=LocatedBy.SOURCE,
        sa_column=enum_column(LocatedBy, default=LocatedBy.SOURCE, nullable=False),
        description="source: the point was given; commune: the commune's centre stands in",
    )
    connectivity: Connectivity = Field(
        default=Connectivity.UNKNOWN,
        sa_column=enum_column(Connectivity, default=Connectivity.UNKNOWN, nullable=False),
    )
    needed_mbps: int | None = Field(default=None, gt=0, le=1_000_000)
    status: NeedStatus = Field(
        default=NeedStatus.IDENTIFIED,
        sa_column=enum_column(NeedStatus, default=NeedStatus.IDENTIFIED, nullable=False),
    )
    identified_on: date | None = None
    studied_on: date | None = None
    planned_on: date | None = None
    connected_on: date | None = None
    source: str | None = Field(default=None, max_length=200, description="where it came from")
    # Internal: never in the public view.
    contacts: list[Contact] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str | None = Field(default=None, max_length=2000)


class SiteNeed(SiteNeedBase, table=True):
    __tablename__ = "site_need"

    id: int | None = Field(default=None, primary_key=True)
    departement: str | None = Field(
        default=None, max_length=3, index=True, description="from the commune's INSEE code"
    )
    # --- analysis, computed -----------------------------------------------------------------
    nearest_pop_id: int | None = Field(default=None, foreign_key="site.id", ondelete="SET NULL")
    pop_distance_m: int | None = Field(default=None, ge=0)
    nearest_cable_id: int | None = Field(
        default=None, foreign_key="fibre_cable.id", ondelete="SET NULL"
    )
    cable_distance_m: int | None = Field(default=None, ge=0)
    connect_from: ConnectFrom | None = Field(
        default=None, sa_column=enum_column(ConnectFrom, nullable=True)
    )
    connection_cost: Decimal | None = Field(
        default=None, sa_type=MONEY, description="EUR excluding VAT, estimated"
    )
    priority: int | None = Field(default=None, ge=0, le=100)
    analysed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def paris_today() -> date:
    """Today's date in Europe/Paris, where the steps of a connection are dated."""
    return datetime.now(PARIS).date()


def status_date_problem(
    values: dict[str, Any], today: date | None = None
) -> tuple[str, str] | None:
    """``(field, reason)`` when a site's status and dates disagree: a step's date may not be
    after a later step's nor after ``today`` (by default today in Paris: a step is dated when
    it is reached), and a date may not be given for a step not reached yet."""
    today = today or paris_today()
    status = values.get("status") or NeedStatus.IDENTIFIED
    reached = NEED_STEPS.index(NeedStatus(status))
    previous: tuple[str, date] | None = None
    for index, step in enumerate(NEED_STEPS):
        field = STATUS_DATE[step]
        day = values.get(field)
        if day is None:
            continue
        if index > reached:
            return field, f"the site is {status}: it has not reached {step.value} yet"
        if day > today:
            return field, f"{day} is in the future (today is {today} in Paris)"
        if previous and day < previous[1]:
            return field, f"{day} is before {previous[0]} ({previous[1]})"
        previous = (field, day)
    return None


class SiteNeedCreate(SiteNeedBase):
    @model_validator(mode="after")
    def _dates_follow_status(self) -> SiteNeedCreate:
        problem = status_date_problem(self.model_dump())
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self


class SiteNeedUpdate(SQLModel):
    """A change to a site: only the fields sent change; the dates are checked against the
    status once merged with the stored site."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: SiteCategory | None = None
    uai: Uai | None = None
    finess: Finess | None = None
    siret: Siret | None = None
    address: str | None = Field(default=None, max_length=300)
    postcode: Postcode | None = None
    commune_insee: InseeCode | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    connectivity: Connectivity | None = None
    needed_mbps: int | None = Field(default=None, gt=0, le=1_000_000)
    status: NeedStatus | None = None
    identified_on: date | None = None
    studied_on: date | None = None
    planned_on: date | None = None
    connected_on: date | None = None
    source: str | None = Field(default=None, max_length=200)
    contacts: list[Contact] | None = None
    notes: str | None = Field(default=None, max_length=2000)


class SiteNeedRead(SiteNeedBase):
    """A site as staff read it: everything, analysis included (never public: see
    :mod:`gigalis_nms.resource_centre.public` for what the public view shows)."""

    id: int
    departement: str | None
    nearest_pop_id: int | None
    pop_distance_m: int | None
    nearest_cable_id: int | None
    cable_distance_m: int | None
    connect_from: ConnectFrom | None
    connection_cost: Decimal | None
    priority: int | None
    analysed_at: datetime | None
    created_at: datetime
    updated_at: datetime
