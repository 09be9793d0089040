"""Circuit design: what a reserved Ethernet E-Line needs before it can be provisioned.

:func:`design_circuit` gives each end a port (and VLAN) when it was ordered without one (see
:mod:`gigalis_nms.provisioning.ports`), computes the working path between the two routers
over active backbone links with enough free bandwidth (and, for a protected circuit, a
protection path sharing no fibre cable with it; see :mod:`gigalis_nms.provisioning.paths`),
holds the circuit's bandwidth on every link of both, allocates a VXLAN network identifier,
writes the hops and moves the circuit to ``designed`` — all in the caller's transaction,
inside a savepoint, so that a refusal leaves nothing written and the session usable.

A circuit recorded as ``designed`` without a design (the inventory describes it so, with a
path held by hand) is designed like a reserved one, and bandwidth held by hand outside a
design is released first: the design holds it afresh on the path it computes.
:func:`undesign_circuit` takes a reserved or designed circuit back to ``reserved``.

Ports given to the ends by hand are checked first (see
:func:`gigalis_nms.provisioning.ports.check_given_end`): a circuit that could not carry
traffic on them is refused at design, not at provisioning.

Errors name the field and the reason. What the network lacks *now* (bandwidth, free ports,
VNIs) is a :class:`Conflict`: it may be there tomorrow. What cannot be done on this network
(no backbone links join the ends, no cable-disjoint second path exists) is
:class:`InvalidInput`.

Both ends on one router: the paths are empty and no bandwidth is held, but the circuit still
gets a VNI (the column is required, and the templates then render every E-Line alike).

Concurrent designs cannot oversubscribe a link: the database refuses the excess (see
:mod:`gigalis_nms.inventory.holdings`). A design that loses such a race computes its path
again, on what the winner left, up to :data:`DESIGN_ATTEMPTS` times. Locks are taken in one
order (the circuit, its end ports, its links by id, then the VNI), so that two designs wait
for each other at most one way and never deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gigalis_nms.db.integrity import violation_of
from gigalis_nms.db.listing import execute_core
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import Conflict, InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.holdings import hold_bandwidth_on_links
from gigalis_nms.inventory.models import BandwidthHolding, Circuit, CircuitUpdate
from gigalis_nms.inventory.tables import DEVICE, INTERFACE, LINK, SITE
from gigalis_nms.provisioning.backbone import backbone_edges
from gigalis_nms.provisioning.models import (
    FIRST_VNI,
    LAST_VNI,
    CircuitDesign,
    CircuitHop,
    PathMetric,
    PathRole,
)
from gigalis_nms.provisioning.paths import (
    BackboneEdge,
    Route,
    protected_pair,
    shortest_route,
)
from gigalis_nms.provisioning.ports import check_given_end, choose_end_port

logger = logging.getLogger(__name__)

# A design that lost a race for bandwidth or a VLAN is computed again this many times in all.
DESIGN_ATTEMPTS = 3
# A VNI taken by a concurrent design between reading and writing is tried again this many
# times; each try reads the smallest free one afresh.
VNI_ATTEMPTS = 20
# The VLANs asked for the A and Z ends (None: port-based).
EndVlans = tuple[int | None, int | None]
# What can be undesigned: further on, the circuit is (being) configured on the routers, and
# only deprovisioning takes it off them.
UNDESIGNABLE = frozenset({CircuitStatus.RESERVED, CircuitStatus.DESIGNED})


class DesignEnd(BaseModel):
    """Where a designed circuit hands off at one end."""

    site: str
    device: str | None
    interface: str | None
    vlan: int | None  # None: the end is port-based


class PathView(BaseModel):
    """One designed path, from the circuit's A end."""

    role: PathRole
    links: list[str]  # backbone link codes, in order
    devices: list[str]  # router hostnames, in order, one more than the links
    cables: list[str]  # fibre cables ridden, sorted
    length_m: int
    igp_metric: int


class DesignView(BaseModel):
    """A circuit's design as the command line and the API show it. Lengths and metrics are
    those of the links now, which may have changed since the design was made."""

    ref: str
    vni: int
    metric: PathMetric
    bandwidth_mbps: int | None
    designed_at: datetime
    designed_by: str
    a: DesignEnd
    z: DesignEnd
    working: PathView
    protect: PathView | None


class _LostRace(Exception):
    """The database refused a holding that was free when the design was computed."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.message)
        self.conflict = conflict


def _id(obj: object) -> int:
    value = getattr(obj, "id", None)
    assert value is not None, "flushed objects have an id"
    return int(value)


# --- Design -------------------------------------------------------------------------------


def design_circuit(
    session: Session,
    circuit: Circuit,
    *,
    actor: str,
    metric: PathMetric = PathMetric.IGP,
    wanted_vlans: EndVlans | None = None,
) -> CircuitDesign:
    """Design a reserved Ethernet E-Line (or a designed one that has no design): its end
    ports, its path(s), the bandwidth held on each link, its VNI; the circuit becomes
    ``designed``. ``actor`` is recorded as the designer. Nothing is written when it fails.

    ``wanted_vlans`` (A end, Z end) are the VLANs asked for ends ordered without a port (an
    order cannot name ports): a VLAN-based end gets that VLAN on the port chosen, or the
    lowest free one there; None at an end makes it port-based. Without it, an end without a
    port takes the circuit's own VLAN, as recorded in the inventory."""
    _lock(session, circuit)
    _check_designable(session, circuit)
    for end in ("a", "z"):
        check_given_end(session, circuit, end)
    for attempt in range(1, DESIGN_ATTEMPTS + 1):
        try:
            with session.begin_nested():
                design = _design_once(session, circuit, actor, metric, wanted_vlans)
        except _LostRace as lost:
            if attempt == DESIGN_ATTEMPTS:
                raise lost.conflict from None
            logger.info(
                "circuit %s lost a race (%s); designing again", circuit.ref, lost.conflict.message
            )
            continue
        return design
    raise AssertionError("the last attempt returns or raises")


def _lock(session: Session, circuit: Circuit) -> None:
    """Read the circuit afresh and keep concurrent designs of it waiting until this
    transaction ends (PostgreSQL; SQLite serializes write transactions anyway)."""
    session.flush()
    session.refresh(circuit, with_for_update={"key_share": True})


def _check_designable(session: Session, circuit: Circuit) -> None:
    if circuit.service_type is not ServiceType.ETHERNET_ELINE:
        raise InvalidInput.of(
            "service_type",
            f"circuit {circuit.ref} is {circuit.service_type}; only an ethernet_eline is "
            "designed over the backbone",
        )
    if circuit.status is CircuitStatus.DESIGNED and has_design(session, circuit):
        raise InvalidInput.of(
            "status", f"circuit {circuit.ref} is designed already; undesign it to design it again"
        )
    if circuit.status not in UNDESIGNABLE:
        raise InvalidInput.of(
            "status",
            f"circuit {circuit.ref} is {circuit.status}; only a reserved circuit is designed",
        )
    # The inventory's shape rules already require both for an E-Line; checked for the types.
    if circuit.bandwidth_mbps is None:
        raise InvalidInput.of("bandwidth_mbps", f"required to design circuit {circuit.ref}")
    if circuit.z_site_id is None:
        raise InvalidInput.of("z_site_id", f"required to design circuit {circuit.ref}")


def _design_once(
    session: Session,
    circuit: Circuit,
    actor: str,
    metric: PathMetric,
    wanted_vlans: EndVlans | None,
) -> CircuitDesign:
    _clear_leftovers(session, circuit)
    _assign_end_ports(session, circuit, wanted_vlans)
    a_device, z_device = _end_device(session, circuit, "a"), _end_device(session, circuit, "z")

    edges = backbone_edges(session)
    working, protect = _routes(circuit, edges, a_device, z_device, metric)
    routes = [working] if protect is None else [working, protect]
    _hold_bandwidth(session, circuit, routes)

    design = _new_design(session, circuit, actor, metric)
    _write_hops(session, circuit, PathRole.WORKING, working)
    if protect is not None:
        _write_hops(session, circuit, PathRole.PROTECT, protect)
    service.update_object(
        session, service.CIRCUITS, _id(circuit), CircuitUpdate(status=CircuitStatus.DESIGNED)
    )
    logger.info(
        "circuit %s designed by %s: VNI %s, working path %s%s",
        circuit.ref,
        actor,
        design.vni,
        list(working.codes),
        f", protection path {list(protect.codes)}" if protect else "",
    )
    return design


def has_design(session: Session, circuit: Circuit) -> bool:
    """Whether the circuit has a design row (a circuit marked designed by hand may not)."""
    query = sa.select(table_of(CircuitDesign).c.id).where(
        table_of(CircuitDesign).c.circuit_id == circuit.id
    )
    return execute_core(session, query).first() is not None


def _clear_leftovers(session: Session, circuit: Circuit) -> None:
    """A design left from before (the circuit was moved back to reserved by hand) is replaced,
    and bandwidth held by hand outside any design (a path recorded in the inventory's files)
    is released: the design holds bandwidth afresh on the path it computes."""
    _delete_design(session, circuit)
    released = _release_bandwidth(session, circuit)
    if released:
        logger.info(
            "circuit %s: bandwidth held outside a design on %s released; designing afresh",
            circuit.ref,
            released,
        )


def _assign_end_ports(session: Session, circuit: Circuit, wanted_vlans: EndVlans | None) -> None:
    """Give a port to each end ordered without one, through the inventory's own update (which
    checks the port's site and holds the VLAN)."""
    own_vlan = circuit.a_vlan if circuit.a_vlan is not None else circuit.z_vlan
    wanted = dict(zip(("a", "z"), wanted_vlans or (own_vlan, own_vlan), strict=True))
    ports = (circuit.a_interface_id, circuit.z_interface_id)
    taken = {port for port in ports if port is not None}
    changes: dict[str, int] = {}
    chosen: list[str] = []
    for end in ("a", "z"):
        if getattr(circuit, f"{end}_interface_id") is not None:
            continue
        port = choose_end_port(session, circuit, end, vlan=wanted[end], taken=taken)
        taken.add(port.interface_id)
        changes[f"{end}_interface_id"] = port.interface_id
        if port.vlan is not None:
            changes[f"{end}_vlan"] = port.vlan
        tag = f" VLAN {port.vlan}" if port.vlan is not None else ""
        chosen.append(f"{end.upper()} end on {port.hostname} {port.name}{tag}")
    if not changes:
        return
    try:
        service.update_object(
            session, service.CIRCUITS, _id(circuit), CircuitUpdate.model_validate(changes)
        )
    except Conflict as refused:  # a VLAN taken between reading and holding it
        raise _LostRace(refused) from None
    logger.info("circuit %s: %s", circuit.ref, ", ".join(chosen))


def _end_device(session: Session, circuit: Circuit, end: str) -> str:
    query = (
        sa.select(DEVICE.c.hostname)
        .join(INTERFACE, INTERFACE.c.device_id == DEVICE.c.id)
        .where(INTERFACE.c.id == getattr(circuit, f"{end}_interface_id"))
    )
    hostname: str = execute_core(session, query).scalar_one()
    return hostname


def _routes(
    circuit: Circuit, edges: list[BackboneEdge], a: str, z: str, metric: PathMetric
) -> tuple[Route, Route | None]:
    mbps = circuit.bandwidth_mbps or 0
    working = shortest_route(edges, a, z, metric, min_free_mbps=mbps)
    if working is None:
        raise _no_working_path(edges, a, z, mbps, metric)
    if not circuit.protected:
        return working, None
    if not working.links:
        raise InvalidInput.of(
            "protected", f"both ends are on {a}: there is no backbone path to protect"
        )
    pair = protected_pair(edges, a, z, metric, min_free_mbps=mbps)
    if pair is None:
        raise _no_protection(edges, a, z, mbps, metric)
    return pair


def _short_links(routes: Iterable[Route], mbps: int) -> str:
    short = {link.code: link for route in routes for link in route.short_of(mbps)}
    return "; ".join(
        f"link {code} has only {link.free_mbps} Mb/s free" for code, link in sorted(short.items())
    )


def _no_working_path(
    edges: list[BackboneEdge], a: str, z: str, mbps: int, metric: PathMetric
) -> Exception:
    """Why no path has room: the links short of room on the path there would be without
    them, or, when there is not even that, that no active links join the ends."""
    unbounded = shortest_route(edges, a, z, metric)
    if unbounded is None:
        return InvalidInput.of("path", f"no active backbone links join {a} to {z}")
    return Conflict.of(
        "bandwidth_mbps",
        f"no path from {a} to {z} with {mbps} Mb/s spare: {_short_links([unbounded], mbps)}",
    )


def _no_protection(
    edges: list[BackboneEdge], a: str, z: str, mbps: int, metric: PathMetric
) -> Exception:
    unbounded = protected_pair(edges, a, z, metric)
    if unbounded is None:
        shortest = shortest_route(edges, a, z, metric)
        cables = ", ".join(shortest.cables) if shortest and shortest.cables else "no cable"
        return InvalidInput.of(
            "protected",
            f"no two paths from {a} to {z} share no fibre cable (the shortest rides {cables}); "
            "the circuit cannot be protected on this network",
        )
    return Conflict.of(
        "protected",
        f"no two cable-disjoint paths from {a} to {z} with {mbps} Mb/s spare: "
        f"{_short_links(unbounded, mbps)}",
    )


def _hold_bandwidth(session: Session, circuit: Circuit, routes: Sequence[Route]) -> None:
    # By link id, whatever the path's direction: designs lock links in one order.
    links = sorted({link.link_id for route in routes for link in route.links})
    if not links:
        return
    try:
        hold_bandwidth_on_links(session, circuit, links)
    except Conflict as refused:  # taken by a concurrent design since the path was read
        raise _LostRace(refused) from None


def _new_design(
    session: Session, circuit: Circuit, actor: str, metric: PathMetric
) -> CircuitDesign:
    """The design row with the smallest free VNI; a VNI taken meanwhile by a concurrent
    design (the unique constraint refuses it) is replaced by the next free one."""
    for _ in range(VNI_ATTEMPTS):
        vni = smallest_free_vni(session)
        if vni is None:
            raise Conflict.of("vni", f"every VNI from {FIRST_VNI} to {LAST_VNI} is taken")
        design = CircuitDesign(circuit_id=_id(circuit), vni=vni, metric=metric, designed_by=actor)
        try:
            with session.begin_nested():
                session.add(design)
        except IntegrityError as error:
            if "vni" not in violation_of(error).columns:
                raise
            logger.info("circuit %s: VNI %s was taken meanwhile", circuit.ref, vni)
            continue
        return design
    raise Conflict.of("vni", "concurrent designs took every VNI tried; design again")


def smallest_free_vni(session: Session) -> int | None:
    """The smallest VNI from FIRST_VNI that no design has; None when all are taken."""
    vni = table_of(CircuitDesign).c.vni
    first_taken = sa.select(sa.exists().where(vni == FIRST_VNI))
    if not execute_core(session, first_taken).scalar_one():
        return FIRST_VNI
    taken, following = table_of(CircuitDesign).alias("taken"), table_of(CircuitDesign).alias()
    gap = sa.select(sa.func.min(taken.c.vni + 1)).where(
        taken.c.vni >= FIRST_VNI,
        ~sa.exists().where(following.c.vni == taken.c.vni + 1),
    )
    found: int = execute_core(session, gap).scalar_one()
    return found if found <= LAST_VNI else None


def _write_hops(session: Session, circuit: Circuit, role: PathRole, route: Route) -> None:
    for sequence, link in enumerate(route.links):
        session.add(
            CircuitHop(
                circuit_id=_id(circuit), path=role, sequence=sequence, backbone_link_id=link.link_id
            )
        )
    session.flush()


# --- Release ------------------------------------------------------------------------------


def undesign_circuit(session: Session, circuit: Circuit) -> None:
    """Take a reserved or designed circuit back to ``reserved``: its design, hops and VNI go,
    and so does every bandwidth holding (its design's, and any held by hand). The ends keep
    their ports and VLANs. InvalidInput naming ``status`` for a circuit further on, which is
    (being) configured on the routers: deprovisioning takes it off them. Undesigning a
    reserved circuit that holds nothing does nothing. Nothing is written when it fails."""
    _lock(session, circuit)
    if circuit.status is CircuitStatus.TERMINATED:
        raise InvalidInput.of("status", f"circuit {circuit.ref} is terminated and holds nothing")
    if circuit.status not in UNDESIGNABLE:
        raise InvalidInput.of(
            "status",
            f"circuit {circuit.ref} is {circuit.status}: it is configured on the routers, so "
            "deprovision it instead",
        )
    with session.begin_nested():
        had_design = _delete_design(session, circuit)
        released = _release_bandwidth(session, circuit)
        was = circuit.status
        if was is CircuitStatus.DESIGNED:
            update = CircuitUpdate(status=CircuitStatus.RESERVED)
            service.update_object(session, service.CIRCUITS, _id(circuit), update)
    if had_design or released or was is not CircuitStatus.RESERVED:
        logger.info(
            "circuit %s undesigned (was %s, %s); bandwidth held outside a design released on %s",
            circuit.ref,
            was,
            "its design deleted" if had_design else "it had no design",
            released or "no link",
        )


def release_design(session: Session, circuit: Circuit) -> None:
    """Undo a design: its hops, its VNI and the bandwidth it holds on its paths' links. The
    ends keep their ports and VLANs (they go with the ends, or with termination). A designed
    circuit goes back to reserved; a circuit further on keeps its status, the caller
    (deprovisioning) deciding it. Releasing a circuit without a design does nothing."""
    with session.begin_nested():
        if not _delete_design(session, circuit):
            return
        if circuit.status is CircuitStatus.DESIGNED:
            update = CircuitUpdate(status=CircuitStatus.RESERVED)
            service.update_object(session, service.CIRCUITS, _id(circuit), update)
    logger.info("circuit %s: design released", circuit.ref)


def _release_bandwidth(session: Session, circuit: Circuit) -> list[str]:
    """Release every bandwidth holding of the circuit (never its end VLANs), through the ORM
    so that the audit log records each row; the codes of the links, sorted."""
    holdings = session.exec(
        select(BandwidthHolding).where(col(BandwidthHolding.circuit_id) == circuit.id)
    ).all()
    if not holdings:
        return []
    links = [holding.backbone_link_id for holding in holdings]
    query = sa.select(LINK.c.code).where(LINK.c.id.in_(links)).order_by(LINK.c.code)
    codes = list(execute_core(session, query).scalars())
    for holding in holdings:
        session.delete(holding)
    session.flush()
    return codes


def _delete_design(session: Session, circuit: Circuit) -> bool:
    """Delete the circuit's design, hops and the bandwidth held on the hops' links, through
    the ORM so that the audit log records each row; whether there was anything."""
    design = session.exec(
        select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit.id)
    ).first()
    hops = session.exec(select(CircuitHop).where(col(CircuitHop.circuit_id) == circuit.id)).all()
    if design is None and not hops:
        return False
    links = {hop.backbone_link_id for hop in hops}
    holdings = session.exec(
        select(BandwidthHolding).where(
            col(BandwidthHolding.circuit_id) == circuit.id,
            col(BandwidthHolding.backbone_link_id).in_(links),
        )
    ).all()
    for row in [*holdings, *hops, *([design] if design else [])]:
        session.delete(row)
    session.flush()
    return True


# --- Reading a design ---------------------------------------------------------------------


def design_of(session: Session, circuit: Circuit) -> DesignView:
    """The circuit's design; NotFound naming ``design`` when it has none."""
    design = session.exec(
        select(CircuitDesign).where(col(CircuitDesign.circuit_id) == circuit.id)
    ).first()
    if design is None:
        raise NotFound.of("design", f"circuit {circuit.ref} has no design")
    hops = session.exec(
        select(CircuitHop)
        .where(col(CircuitHop.circuit_id) == circuit.id)
        .order_by(col(CircuitHop.path), col(CircuitHop.sequence))
    ).all()
    edges = {
        edge.link_id: edge
        for edge in backbone_edges(
            session, link_ids={hop.backbone_link_id for hop in hops}, active_only=False
        )
    }
    a, z = _end_view(session, circuit, "a"), _end_view(session, circuit, "z")

    def path(role: PathRole) -> list[BackboneEdge]:
        return [edges[hop.backbone_link_id] for hop in hops if hop.path is role]

    protect = path(PathRole.PROTECT)
    return DesignView(
        ref=circuit.ref,
        vni=design.vni,
        metric=design.metric,
        bandwidth_mbps=circuit.bandwidth_mbps,
        designed_at=design.designed_at,
        designed_by=design.designed_by,
        a=a,
        z=z,
        working=_path_view(PathRole.WORKING, path(PathRole.WORKING), a.device),
        protect=_path_view(PathRole.PROTECT, protect, a.device) if protect else None,
    )


def _end_view(session: Session, circuit: Circuit, end: str) -> DesignEnd:
    site_id, port_id = getattr(circuit, f"{end}_site_id"), getattr(circuit, f"{end}_interface_id")
    site = execute_core(session, sa.select(SITE.c.code).where(SITE.c.id == site_id)).scalar_one()
    port = execute_core(
        session,
        sa.select(DEVICE.c.hostname, INTERFACE.c.name)
        .join(INTERFACE, INTERFACE.c.device_id == DEVICE.c.id)
        .where(INTERFACE.c.id == port_id),
    ).first()
    return DesignEnd(
        site=site,
        device=port.hostname if port else None,
        interface=port.name if port else None,
        vlan=getattr(circuit, f"{end}_vlan"),
    )


def _path_view(role: PathRole, links: list[BackboneEdge], start: str | None) -> PathView:
    """The path's routers in order, walking its links from ``start`` (the A end's router)."""
    devices: list[str] = []
    for link in links:
        here = devices[-1] if devices else (start or link.a_device)
        if not devices:
            devices.append(here)
        devices.append(link.z_device if here == link.a_device else link.a_device)
    if not devices and start:
        devices = [start]
    route = Route(tuple(devices), tuple(links))
    return PathView(
        role=role,
        links=list(route.codes),
        devices=devices,
        cables=list(route.cables),
        length_m=route.length_m,
        igp_metric=route.igp_metric,
    )


# --- Printing a design --------------------------------------------------------------------


def describe_design(view: DesignView) -> str:
    """The design as lines of text, for the command line.

    >>> path = PathView(role=PathRole.WORKING, links=["BL-NTE1-CHO1"],
    ...     devices=["nte1-cr1", "cho1-cr1"], cables=["C-NTE1-CHO1"], length_m=61_500,
    ...     igp_metric=71)
    >>> print(describe_design(DesignView(ref="GIG-ETH-000042", vni=10000,
    ...     metric=PathMetric.IGP, bandwidth_mbps=1000,
    ...     designed_at=datetime(2026, 12, 4, 9, 30), designed_by="cli:alice",
    ...     a=DesignEnd(site="NTE1", device="nte1-cr1", interface="eth12", vlan=100),
    ...     z=DesignEnd(site="CHO1", device="cho1-cr1", interface="eth13", vlan=None),
    ...     working=path, protect=None)))
    GIG-ETH-000042: VNI 10000, 1000 Mb/s, shortest by IGP metric
    designed 2026-12-04 09:30 by cli:alice
    A end    NTE1 nte1-cr1 eth12, VLAN 100
    Z end    CHO1 cho1-cr1 eth13, port-based
    working  nte1-cr1 =BL-NTE1-CHO1=> cho1-cr1
             1 link, 61.5 km, IGP 71, cables C-NTE1-CHO1
    protect  none
    """
    by = "IGP metric" if view.metric is PathMetric.IGP else "fibre route length"
    lines = [
        f"{view.ref}: VNI {view.vni}, {view.bandwidth_mbps} Mb/s, shortest by {by}",
        f"designed {view.designed_at:%Y-%m-%d %H:%M} by {view.designed_by}",
        f"A end    {_describe_end(view.a)}",
        f"Z end    {_describe_end(view.z)}",
        *_describe_path("working", view.working),
        *(_describe_path("protect", view.protect) if view.protect else ["protect  none"]),
    ]
    return "\n".join(lines)


def _describe_end(end: DesignEnd) -> str:
    vlan = f"VLAN {end.vlan}" if end.vlan is not None else "port-based"
    return f"{end.site} {end.device or '?'} {end.interface or '?'}, {vlan}"


def _describe_path(label: str, path: PathView) -> list[str]:
    if not path.links:
        return [f"{label:<8} {' '.join(path.devices)} (both ends on one router)"]
    chain = path.devices[0] + "".join(
        f" ={link}=> {device}" for link, device in zip(path.links, path.devices[1:], strict=True)
    )
    count = f"{len(path.links)} link{'s' if len(path.links) > 1 else ''}"
    cables = ", ".join(path.cables) or "none"
    summary = f"{count}, {path.length_m / 1000:.1f} km, IGP {path.igp_metric}, cables {cables}"
    return [f"{label:<8} {chain}", f"{'':<8} {summary}"]
