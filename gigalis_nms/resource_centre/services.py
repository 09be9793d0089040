"""Which services the network offers where: at each network site, and in each commune.

The rule, as the public API and the map state it:

- ``ethernet_eline`` and ``wavelength``: an active PoP with at least one active router stands
  there (both are lit on Gigalis' own routers);
- ``dark_fibre``: an active fibre cable between two network sites (PoP, NRO, shelter or
  hosting room; never a customer site) ends at an active one there: strands can be handed
  over at that end;
- ``hosting``: an active hosting room stands there;
- ``on_study``: none of the above in the commune, but its centre lies within
  :data:`STUDY_RADIUS_KM` of an active PoP (straight line, Lambert-93): a connection can be
  studied on request.

Planned, decommissioning or retired sites and cables offer nothing yet, or any more.
Distances are straight lines between points in Lambert-93, never route lengths.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import DeviceStatus, LifecycleStatus, SiteKind
from gigalis_nms.inventory.tables import CABLE, DEVICE, SITE
from gigalis_nms.resource_centre.communes import Commune
from gigalis_nms.resource_centre.geo import to_lambert93
from gigalis_nms.resource_centre.models import NeedStatus, SiteNeed

STUDY_RADIUS_KM = 10.0
# Sites of the network; customer sites are the operators' customers' and never public.
NETWORK_KINDS = (SiteKind.POP, SiteKind.NRO, SiteKind.SHELTER, SiteKind.HOSTING_ROOM)


class Service(StrEnum):
    """A kind of service available somewhere, in the rule's order."""

    ETHERNET_ELINE = "ethernet_eline"
    WAVELENGTH = "wavelength"
    DARK_FIBRE = "dark_fibre"
    HOSTING = "hosting"
    ON_STUDY = "on_study"


SERVICE_ORDER = list(Service)


@dataclass(frozen=True)
class NetworkSite:
    """A network site as the public sees it, with the services available there."""

    id: int
    code: str
    name: str
    kind: SiteKind
    status: LifecycleStatus
    insee_code: str
    longitude: float
    latitude: float
    services: tuple[Service, ...]
    x: float  # Lambert-93 metres
    y: float

    @property
    def is_active_pop(self) -> bool:
        return self.kind is SiteKind.POP and self.status is LifecycleStatus.ACTIVE


def in_order(services: Collection[Service]) -> tuple[Service, ...]:
    return tuple(service for service in SERVICE_ORDER if service in services)


def services_at(
    kind: SiteKind, status: LifecycleStatus, *, has_active_router: bool, cable_ends: bool
) -> tuple[Service, ...]:
    """The services a site offers by the module's rule.

    >>> services_at(SiteKind.POP, LifecycleStatus.ACTIVE, has_active_router=True,
    ...             cable_ends=True)
    (<Service.ETHERNET_ELINE: 'ethernet_eline'>, <Service.WAVELENGTH: 'wavelength'>, \
<Service.DARK_FIBRE: 'dark_fibre'>)
    >>> services_at(SiteKind.POP, LifecycleStatus.PLANNED, has_active_router=True,
    ...             cable_ends=True)
    ()
    """
    if status is not LifecycleStatus.ACTIVE:
        return ()
    offered: set[Service] = set()
    if kind is SiteKind.POP and has_active_router:
        offered |= {Service.ETHERNET_ELINE, Service.WAVELENGTH}
    if cable_ends:
        offered.add(Service.DARK_FIBRE)
    if kind is SiteKind.HOSTING_ROOM:
        offered.add(Service.HOSTING)
    return in_order(offered)


def network_sites(session: Session) -> list[NetworkSite]:
    """Every network site not retired, by code, with its services."""
    routed = {
        row.site_id
        for row in execute_core(
            session, sa.select(DEVICE.c.site_id).where(DEVICE.c.status == DeviceStatus.ACTIVE)
        )
    }
    # A cable to a customer site is that customer's access, not the network's: strands can
    # be handed over only where a cable joins two network sites.
    network = sa.select(SITE.c.id).where(SITE.c.kind.in_(NETWORK_KINDS))
    active_cables = sa.select(CABLE.c.a_site_id, CABLE.c.z_site_id).where(
        CABLE.c.status == LifecycleStatus.ACTIVE,
        CABLE.c.a_site_id.in_(network),
        CABLE.c.z_site_id.in_(network),
    )
    cable_ends = {end for row in execute_core(session, active_cables) for end in row}
    query = (
        sa.select(SITE)
        .where(SITE.c.kind.in_(NETWORK_KINDS), SITE.c.status != LifecycleStatus.RETIRED)
        .order_by(SITE.c.code)
    )
    sites = []
    for row in execute_core(session, query):
        kind, status = SiteKind(row.kind), LifecycleStatus(row.status)
        x, y = to_lambert93(row.longitude, row.latitude)
        offered = services_at(
            kind, status, has_active_router=row.id in routed, cable_ends=row.id in cable_ends
        )
        sites.append(
            NetworkSite(
                row.id,
                row.code,
                row.name,
                kind,
                status,
                row.insee_code,
                row.longitude,
                row.latitude,
                offered,
                x,
                y,
            )
        )
    return sites


@dataclass(frozen=True)
class NearestPop:
    code: str
    name: str
    distance_km: float  # from the commune's centre, straight line, unrounded


@dataclass(frozen=True)
class CommuneServices:
    commune: Commune
    sites: list[NetworkSite]  # the active network sites standing in the commune
    nearest_pop: NearestPop | None  # None without an active PoP, or without a centre
    services: tuple[Service, ...]
    needs_by_status: dict[NeedStatus, int] = field(default_factory=dict)


def needs_by_commune(session: Session) -> dict[str, dict[NeedStatus, int]]:
    """How many sites needing THD each commune counts, by status."""
    need = table_of(SiteNeed)
    query = sa.select(need.c.commune_insee, need.c.status, sa.func.count().label("sites")).group_by(
        need.c.commune_insee, need.c.status
    )
    counts: dict[str, dict[NeedStatus, int]] = defaultdict(dict)
    for row in execute_core(session, query):
        if row.commune_insee is not None:
            counts[row.commune_insee][NeedStatus(row.status)] = row.sites
    return counts


def commune_services(
    session: Session, communes: Mapping[str, Commune]
) -> dict[str, CommuneServices]:
    """The services of every commune of ``communes``, by INSEE code."""
    sites = network_sites(session)
    active = [site for site in sites if site.status is LifecycleStatus.ACTIVE]
    pops = [site for site in active if site.is_active_pop]
    by_commune: dict[str, list[NetworkSite]] = defaultdict(list)
    for site in active:
        by_commune[site.insee_code].append(site)
    needs = needs_by_commune(session)

    result = {}
    for insee, commune in sorted(communes.items()):
        here = by_commune.get(insee, [])
        nearest = nearest_pop(commune, pops)
        offered = in_order({service for site in here for service in site.services})
        if not offered and nearest is not None and nearest.distance_km <= STUDY_RADIUS_KM:
            offered = (Service.ON_STUDY,)
        found = needs.get(insee, {})
        counts = {status: found.get(status, 0) for status in NeedStatus}
        result[insee] = CommuneServices(commune, here, nearest, offered, counts)
    return result


def nearest_pop(commune: Commune, pops: Collection[NetworkSite]) -> NearestPop | None:
    """The active PoP nearest to the commune's centre; ties go to the first code. None
    when there is no active PoP, or the reference gives the commune no centre."""
    if not pops or commune.longitude is None or commune.latitude is None:
        return None
    x, y = to_lambert93(commune.longitude, commune.latitude)
    best = min(pops, key=lambda pop: (math.hypot(pop.x - x, pop.y - y), pop.code))
    return NearestPop(best.code, best.name, math.hypot(best.x - x, best.y - y) / 1000)
