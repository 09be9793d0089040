"""What serialising one request's objects needs, read once per request: the base URL, and
the small tables nested objects point into (sites, organisations, devices, platforms) and
how backbone links ride cables.

Each table is read whole the first time it is needed: the Gigalis network has tens of sites
and devices, so one query beats one per nested object. A network of many thousands would
want these read by the ids a page needs instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gigalis_nms.inventory.enums import CableOwnership, OrganisationKind
from gigalis_nms.inventory.models import (
    BackboneLink,
    Device,
    FibreCable,
    FibreStrand,
    Interface,
    Organisation,
    Site,
    StrandHolding,
)
from gigalis_nms.netbox.choices import PROVIDER_KINDS, unique_slugs
from gigalis_nms.netbox.models import DeviceType, Manufacturer, Platform


@dataclass(frozen=True)
class CableEnd:
    """Where an interface meets a cable: the cable, which end (A or B), and the far side."""

    cable_id: int
    end: str  # "A" or "B", as NetBox names a cable's ends
    peer_id: int | None  # the interface at the cable's other end, if the link is one cable
    far_id: int  # the interface at the link's other end
    link: BackboneLink


@dataclass(frozen=True)
class LinkRoute:
    link: BackboneLink
    cable_ids: list[int]  # in route order, from the link's A end


@dataclass
class Context:
    session: Session
    base: str  # the API root, ending in "/": http://host:port/netbox/api/
    _extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str, object_id: int) -> str:
        return f"{self.base}{path}/{object_id}/"

    @cached_property
    def sites(self) -> dict[int, Site]:
        return {s.id: s for s in self.session.exec(select(Site)) if s.id is not None}

    @cached_property
    def organisations(self) -> dict[int, Organisation]:
        return {o.id: o for o in self.session.exec(select(Organisation)) if o.id is not None}

    @cached_property
    def devices(self) -> dict[int, Device]:
        return {d.id: d for d in self.session.exec(select(Device)) if d.id is not None}

    @cached_property
    def manufacturers(self) -> dict[int, Manufacturer]:
        rows = self.session.exec(select(Manufacturer))
        return {m.id: m for m in rows if m.id is not None}

    @cached_property
    def device_types(self) -> dict[int, DeviceType]:
        return {t.id: t for t in self.session.exec(select(DeviceType)) if t.id is not None}

    @cached_property
    def platforms(self) -> dict[str, Platform]:
        """By slug, which is what a device's platform string names."""
        return {p.slug: p for p in self.session.exec(select(Platform))}

    @cached_property
    def tenant_slugs(self) -> dict[int, str]:
        """Operators, the dialect's tenants."""
        return unique_slugs(
            (i, o.name)
            for i, o in self.organisations.items()
            if o.kind is OrganisationKind.OPERATOR
        )

    @cached_property
    def provider_slugs(self) -> dict[int, str]:
        """Every organisation that is not an operator: members (Gigalis itself among them),
        fibre owners and suppliers."""
        return unique_slugs(
            (i, o.name) for i, o in self.organisations.items() if o.kind in PROVIDER_KINDS
        )

    @cached_property
    def circuit_provider_id(self) -> int | None:
        """Who provides Gigalis's circuits: the owner of the cables Gigalis built (the lowest
        id if several own some), or None in an inventory without such cables."""
        return self.session.exec(
            select(FibreCable.owner_id)
            .where(col(FibreCable.ownership) == CableOwnership.OWN)
            .order_by(col(FibreCable.owner_id))
            .limit(1)
        ).first()

    def interfaces(self, ids: set[int]) -> dict[int, Interface]:
        known: dict[int, Interface] = self._extra.setdefault("interfaces", {})
        missing = ids - known.keys()
        if missing:
            rows = self.session.exec(select(Interface).where(col(Interface.id).in_(missing)))
            known.update({row.id: row for row in rows if row.id is not None})
        return {i: known[i] for i in ids if i in known}

    @cached_property
    def link_routes(self) -> dict[int, LinkRoute]:
        """Each backbone link with the cables its strands ride, in route order."""
        links = {link.id: link for link in self.session.exec(select(BackboneLink))}
        ridden = self.session.connection().execute(
            sa.select(
                StrandHolding.backbone_link_id,  # type: ignore[call-overload]
                StrandHolding.sequence,
                FibreStrand.cable_id,
            )
            .join(FibreStrand, col(FibreStrand.id) == col(StrandHolding.strand_id))
            .where(col(StrandHolding.backbone_link_id).is_not(None))
            .order_by(col(StrandHolding.backbone_link_id), col(StrandHolding.sequence))
        )
        cables: dict[int, list[int]] = defaultdict(list)
        for link_id, _sequence, cable_id in ridden:
            if cable_id not in cables[link_id]:
                cables[link_id].append(cable_id)
        return {
            link_id: LinkRoute(link, cables.get(link_id, []))
            for link_id, link in links.items()
            if link_id is not None
        }

    @cached_property
    def cable_ends(self) -> dict[int, CableEnd]:
        """By interface id: the cable each backbone link's end interface terminates.

        A link's A interface terminates the first cable of its route and its Z interface the
        last; cables in between meet splices or patch panels, which Gigalis does not record,
        so they terminate no interface.
        """
        routes = list(self.link_routes.values())
        ports = self.interfaces(
            {i for r in routes for i in (r.link.a_interface_id, r.link.z_interface_id)}
        )
        cables = self.cables_by_id({c for r in routes for c in r.cable_ids})
        ends: dict[int, CableEnd] = {}
        for route in routes:
            if not route.cable_ids:
                continue
            a_id, z_id = route.link.a_interface_id, route.link.z_interface_id
            single = len(route.cable_ids) == 1
            for port_id, far_id, cable_id in (
                (a_id, z_id, route.cable_ids[0]),
                (z_id, a_id, route.cable_ids[-1]),
            ):
                cable, port = cables.get(cable_id), ports.get(port_id)
                if cable is None or port is None:
                    continue
                site_id = self.devices[port.device_id].site_id
                end = "A" if site_id == cable.a_site_id else "B"
                peer = far_id if single else None
                ends[port_id] = CableEnd(cable_id, end, peer, far_id, route.link)
        return ends

    def cables_by_id(self, ids: set[int]) -> dict[int, FibreCable]:
        known: dict[int, FibreCable] = self._extra.setdefault("cables", {})
        missing = ids - known.keys()
        if missing:
            rows = self.session.exec(select(FibreCable).where(col(FibreCable.id).in_(missing)))
            known.update({row.id: row for row in rows if row.id is not None})
        return {i: known[i] for i in ids if i in known}

    def cable_terminations(self, cable_id: int) -> tuple[list[int], list[int]]:
        """The interfaces at the A and B ends of a cable."""
        a_ends = [i for i, e in self.cable_ends.items() if e.cable_id == cable_id and e.end == "A"]
        b_ends = [i for i, e in self.cable_ends.items() if e.cable_id == cable_id and e.end == "B"]
        return sorted(a_ends), sorted(b_ends)
