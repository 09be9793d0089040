"""Import of published topologies (Internet Topology Zoo GraphML and GML) into sites and cables.

Two steps, kept apart so each can be tested alone:

1. :func:`parse_topology` reads a file into a typed :class:`TopologyGraph`: the nodes that can
   be sites, the edges that can be cables, and every item left out with the reason. It is
   pure apart from reading the file.
2. :func:`import_topology` writes that graph into a database, idempotently: sites and cables
   are matched by code, so a second import of the same file changes nothing.

A topology always goes into its *own* database (by default a SQLite file under
``<data_dir>/topologies/``), never into the Gigalis inventory: these are other people's
networks, published around 2010, and their sites are not places Gigalis serves.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import networkx as nx
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import Session, col, select

from gigalis_nms.audit import AuditEntry, audit_rows
from gigalis_nms.db import make_engine, session_scope, upgrade
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.inventory.enums import (
    CableOwnership,
    LifecycleStatus,
    OrganisationKind,
    SiteKind,
)
from gigalis_nms.inventory.fibre import strand_rows
from gigalis_nms.inventory.models import (
    FibreCable,
    FibreCableCreate,
    FibreStrand,
    Organisation,
    Site,
    SiteCreate,
)
from gigalis_nms.settings import Settings

log = logging.getLogger(__name__)

IMPORT_ACTOR = "topology-import"
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
# Published topologies draw links, not routes: the crow-flies length is all they give. A
# factor above 1 stands for the detour a real cable takes along roads and railways.
DEFAULT_DETOUR_FACTOR = 1.0
MIN_DETOUR_FACTOR = 1.0
MAX_DETOUR_FACTOR = 5.0
# Topologies say nothing of fibre counts; 48 is a common backbone cable size.
DEFAULT_FIBRE_COUNT = 48
# Topology sites are outside France or, when in France, not tied to a commune by the file;
# the site table requires an INSEE-shaped code, and "00000" is one that no commune has (nor
# any département, so the API refuses it), so these rows can never be mistaken for a real
# commune in statistics by département.
TOPOLOGY_INSEE_PLACEHOLDER = "00000"
MIN_CABLE_LENGTH_M = 1  # FibreCable.length_m must be > 0, even for ends at one place
MAX_CABLE_LENGTH_M = 1_000_000  # FibreCable.length_m's upper bound
SITE_CODE_LENGTH = 32
CABLE_CODE_LENGTH = 64
NETWORK_CODE_LENGTH = 20
NAME_LENGTH = 200
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
SPEED_UNITS_MBPS = {"K": 0.001, "M": 1.0, "G": 1_000.0, "T": 1_000_000.0}


# --- the parsed graph ---------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedItem:
    """A node or edge of the file that becomes no row, and why."""

    item: str
    reason: str


@dataclass(frozen=True)
class TopologyNode:
    """A node with coordinates: it becomes a site."""

    key: str  # the node's id in the file
    label: str
    code: str  # the site code, unique within the graph
    latitude: float
    longitude: float
    country: str | None = None


@dataclass(frozen=True)
class TopologyEdge:
    """A link between two site nodes: it becomes a fibre cable."""

    code: str  # the cable code, unique within the graph
    a: TopologyNode
    z: TopologyNode
    distance_m: float  # great-circle distance between the ends
    speed_mbps: float | None = None
    link_label: str | None = None
    via_hyperedge: str | None = None  # set when the edge stands for a shared medium


@dataclass(frozen=True)
class TopologyGraph:
    """What a topology file holds that can become inventory, and what it holds that cannot."""

    network: str
    source: str  # the file it was read from
    nodes: tuple[TopologyNode, ...]
    edges: tuple[TopologyEdge, ...]
    skipped: tuple[SkippedItem, ...]


# --- pure helpers -------------------------------------------------------------------------


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres along the Earth's surface (haversine, mean Earth radius).

    >>> round(great_circle_m(47.2181, -1.5528, 47.4784, -0.5632) / 1000, 1)  # Nantes–Angers
    80.0
    >>> great_circle_m(48.0, 2.0, 48.0, 2.0)
    0.0
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * 1000 * math.asin(min(1.0, math.sqrt(h)))


def cable_length_m(distance_m: float, detour_factor: float) -> int:
    """A cable's recorded length: crow-flies × detour, in whole metres, at least 1 m.

    >>> cable_length_m(80_527.2, 1.0), cable_length_m(1000.0, 1.3), cable_length_m(0.0, 1.0)
    (80527, 1300, 1)
    """
    return max(MIN_CABLE_LENGTH_M, round(distance_m * detour_factor))


def code_from_text(text: str, length: int) -> str:
    """Upper-case ASCII letters, digits, '-' and '_', at most ``length`` characters.

    >>> code_from_text("Clermont-Ferrand", 32), code_from_text("Besançon", 32)
    ('CLERMONT-FERRAND', 'BESANCON')
    >>> code_from_text("NB Mo i Rana", 32), code_from_text("Gary?", 32)
    ('NB-MO-I-RANA', 'GARY')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    code = re.sub(r"[^A-Z0-9_]+", "-", ascii_text.upper()).strip("-_")
    return code[:length].rstrip("-_")


def unique_code(base: str, taken: set[str], length: int) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free first; the result is taken.

    >>> taken = {"PARIS"}
    >>> unique_code("PARIS", taken, 32), unique_code("PARIS", taken, 32)
    ('PARIS-2', 'PARIS-3')
    """
    code, number = base, 1
    while code in taken:
        number += 1
        suffix = f"-{number}"
        code = base[: length - len(suffix)].rstrip("-_") + suffix
    taken.add(code)
    return code


def link_speed_mbps(attrs: Mapping[str, Any]) -> float | None:
    """The link speed a Topology Zoo edge declares, in Mb/s, or None when it gives none.

    >>> link_speed_mbps({"LinkSpeed": "10", "LinkSpeedUnits": "G"})
    10000.0
    >>> link_speed_mbps({"LinkSpeed": "2.5", "LinkSpeedUnits": "G"})
    2500.0
    >>> link_speed_mbps({"LinkSpeedRaw": 155000000.0}), link_speed_mbps({"LinkLabel": "?"})
    (155.0, None)
    """
    unit = SPEED_UNITS_MBPS.get(str(attrs.get("LinkSpeedUnits", "")).strip().upper())
    speed = _positive_number(attrs.get("LinkSpeed"))
    if unit is not None and speed is not None:
        return speed * unit
    raw_bps = _positive_number(attrs.get("LinkSpeedRaw"))
    return raw_bps / 1_000_000 if raw_bps is not None else None


def _positive_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# --- step 1: file → TopologyGraph ---------------------------------------------------------


def parse_topology(path: Path) -> TopologyGraph:
    """Read a GraphML or GML topology; InvalidInput names the file and why it cannot be read."""
    graph = read_graph(path)
    topology = topology_from_graph(graph, source=path.name, fallback_network=path.stem)
    if not topology.nodes:
        raise InvalidInput.of(str(path), "no node with coordinates: nothing could become a site")
    return topology


def read_graph(path: Path) -> Any:
    """The networkx graph in ``path``; the format is told by the content, not the name."""
    try:
        with path.open("rb") as file:
            head = file.read(512)
    except OSError as error:
        raise InvalidInput.of(str(path), f"cannot be read ({error.strerror or error})") from None
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _read_graphml(path)
    return _read_gml(path)


def _read_graphml(path: Path) -> Any:
    try:
        return nx.read_graphml(path)
    except ParseError as error:
        raise InvalidInput.of(str(path), f"malformed XML ({error})") from None
    except (nx.NetworkXError, ValueError, KeyError) as error:
        raise InvalidInput.of(str(path), f"not a GraphML graph ({error})") from None


def _read_gml(path: Path) -> Any:
    try:
        # label=None keys nodes by their GML id: Topology Zoo files repeat labels, which the
        # default (nodes keyed by label) refuses. The labels stay as node attributes.
        return nx.read_gml(path, label=None)
    except (nx.NetworkXError, ValueError, KeyError) as error:
        raise InvalidInput.of(str(path), f"neither GraphML nor GML ({error})") from None


def topology_from_graph(graph: Any, *, source: str, fallback_network: str) -> TopologyGraph:
    """Sites and cables from a networkx graph of the Topology Zoo's shape (pure).

    Nodes without coordinates are skipped, and so are the edges that reach them. A
    "hyperedge" node is the Zoo's way of drawing a shared medium (a link branching to three
    or more places); it is not a site, so each group of touching hyperedge nodes is
    replaced by one cable between every pair of the places it joins.
    """
    network = _text(graph.graph.get("Network")) or _text(graph.graph.get("label"))
    network = network or fallback_network
    hyperedges = {key for key, attrs in graph.nodes(data=True) if _is_hyperedge(attrs)}
    skipped: list[SkippedItem] = []
    nodes = _site_nodes(graph, hyperedges, skipped)
    edges = _EdgeCollector(graph, nodes, code_from_text(network, NETWORK_CODE_LENGTH) or "NET")

    for a_key, z_key, attrs in graph.edges(data=True):
        if a_key in hyperedges or z_key in hyperedges:
            continue  # part of a shared medium, handled below
        if a_key == z_key:
            reason = "self-loop: a cable joins two different sites"
            skipped.append(SkippedItem(_edge_item(graph, a_key, z_key), reason))
            continue
        edges.add(a_key, z_key, link_speed_mbps(attrs), _text(attrs.get("LinkLabel")))

    for group in nx.connected_components(graph.subgraph(hyperedges)):
        _expand_hyperedge(graph, sorted(group, key=str), hyperedges, edges, skipped)

    skipped.extend(edges.skipped)
    return TopologyGraph(network, source, tuple(nodes.values()), tuple(edges.edges), tuple(skipped))


def _is_hyperedge(attrs: Mapping[str, Any]) -> bool:
    return str(attrs.get("hyperedge", "0")).strip().lower() not in {"", "0", "false"}


def _describe(graph: Any, key: Any) -> str:
    label = _text(graph.nodes[key].get("label"))
    return f"{label!r} [{key}]" if label else f"[{key}]"


def _node_item(graph: Any, key: Any) -> str:
    return f"node {_describe(graph, key)}"


def _edge_item(graph: Any, a_key: Any, z_key: Any) -> str:
    return f"edge {_describe(graph, a_key)} – {_describe(graph, z_key)}"


def _site_nodes(
    graph: Any, hyperedges: set[Any], skipped: list[SkippedItem]
) -> dict[Any, TopologyNode]:
    nodes: dict[Any, TopologyNode] = {}
    taken: set[str] = set()
    for key, attrs in graph.nodes(data=True):
        if key in hyperedges:
            continue
        reason = _coordinates_problem(attrs)
        if reason:
            skipped.append(SkippedItem(_node_item(graph, key), reason))
            continue
        label = (_text(attrs.get("label")) or f"node {key}")[:NAME_LENGTH]
        base = code_from_text(label, SITE_CODE_LENGTH)
        if len(base) < 2:
            base = code_from_text(f"NODE-{key}", SITE_CODE_LENGTH)
        nodes[key] = TopologyNode(
            key=str(key),
            label=label,
            code=unique_code(base, taken, SITE_CODE_LENGTH),
            latitude=float(attrs["Latitude"]),
            longitude=float(attrs["Longitude"]),
            country=_text(attrs.get("Country")),
        )
    return nodes


def _coordinates_problem(attrs: Mapping[str, Any]) -> str | None:
    if attrs.get("Latitude") is None or attrs.get("Longitude") is None:
        return "no coordinates: a site needs a place"
    try:
        latitude, longitude = float(attrs["Latitude"]), float(attrs["Longitude"])
    except (TypeError, ValueError):
        return "coordinates are not numbers"
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return f"coordinates out of range ({latitude}, {longitude})"
    return None


@dataclass
class _EdgeCollector:
    """Turns links into edges with unique cable codes, in the order the file gives them."""

    graph: Any
    nodes: Mapping[Any, TopologyNode]
    network_code: str
    edges: list[TopologyEdge] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    stems: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        a_key: Any,
        z_key: Any,
        speed_mbps: float | None = None,
        link_label: str | None = None,
        via_hyperedge: str | None = None,
    ) -> None:
        missing = [key for key in (a_key, z_key) if key not in self.nodes]
        if missing:
            ends = " and ".join(_node_item(self.graph, key) for key in missing)
            reason = f"{ends} not imported (see its own line)"
            self.skipped.append(SkippedItem(_edge_item(self.graph, a_key, z_key), reason))
            return
        # Ends in code order, so that A–Z and Z–A links share a code stem and count as parallel.
        a, z = sorted((self.nodes[a_key], self.nodes[z_key]), key=lambda node: node.code)
        self.edges.append(
            TopologyEdge(
                code=self._next_code(a, z),
                a=a,
                z=z,
                distance_m=great_circle_m(a.latitude, a.longitude, z.latitude, z.longitude),
                speed_mbps=speed_mbps,
                link_label=link_label,
                via_hyperedge=via_hyperedge,
            )
        )

    def _next_code(self, a: TopologyNode, z: TopologyNode) -> str:
        # Room is kept for "-9999" so that truncating a long stem never drops the counter.
        stem = f"{self.network_code}-{a.code}-{z.code}"[: CABLE_CODE_LENGTH - 5].rstrip("-_")
        self.stems[stem] += 1
        return f"{stem}-{self.stems[stem]}"


def _expand_hyperedge(
    graph: Any,
    group: Sequence[Any],
    hyperedges: set[Any],
    edges: _EdgeCollector,
    skipped: list[SkippedItem],
) -> None:
    members = sorted(
        {neighbour for key in group for neighbour in graph[key] if neighbour not in hyperedges},
        key=str,
    )
    name = "hyperedge " + "+".join(str(key) for key in group)
    joined = ", ".join(_describe(graph, key) for key in members) or "nothing"
    reason = f"shared medium, not a site; the places it joins are joined pairwise: {joined}"
    skipped.append(SkippedItem(name, reason))

    # A speed is kept only when every leg of the medium was published with the same one.
    speeds = {
        link_speed_mbps(attrs)
        for key in group
        for member in members
        for attrs in _links(graph, key, member)
    }
    speed = speeds.pop() if len(speeds) == 1 else None
    for a_key, z_key in combinations(members, 2):
        edges.add(a_key, z_key, speed, via_hyperedge=name)


def _links(graph: Any, a_key: Any, z_key: Any) -> list[Mapping[str, Any]]:
    """The attributes of every link between two nodes, parallel links included."""
    data = graph.get_edge_data(a_key, z_key)
    if data is None:
        return []
    return list(data.values()) if graph.is_multigraph() else [data]


# --- step 2: TopologyGraph → rows ---------------------------------------------------------


@dataclass(frozen=True)
class RowCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class CableSpeed:
    """The speed a link was published with. FibreCable has no speed: capacity belongs to
    backbone links (which ride on strands), and a topology describes no strands or ports."""

    cable: str
    speed_mbps: float
    link_label: str | None


@dataclass(frozen=True)
class ImportReport:
    """What one import did, item by item where something was left out."""

    network: str
    source: str
    database_url: str
    detour_factor: float
    sites: RowCounts
    cables: RowCounts
    strands_created: int
    skipped: tuple[SkippedItem, ...]
    notes: tuple[str, ...]
    speeds: tuple[CableSpeed, ...]

    @property
    def changed(self) -> bool:
        return any(counts.created or counts.updated for counts in (self.sites, self.cables))


@dataclass(frozen=True)
class CablePlan:
    """An edge with the length its cable will be recorded with."""

    edge: TopologyEdge
    length_m: int


def import_topology(
    engine: Engine,
    graph: TopologyGraph,
    *,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    fibre_count: int = DEFAULT_FIBRE_COUNT,
) -> ImportReport:
    """Write ``graph`` into a migrated database in one transaction; matched by code, so
    importing the same graph again creates nothing and changes nothing."""
    # Rows the file no longer holds are left in place: a newer edition of a topology that
    # drops or renames a node leaves the old site (and its cables) behind until removed.
    check_detour_factor(detour_factor)
    plans, too_long = plan_cables(graph.edges, detour_factor)

    with session_scope(engine, actor=IMPORT_ACTOR) as session:
        _refuse_other_network(session, graph.network)
        owner_id = _owner_id(session, graph.network)
        site_ids, sites = _write_sites(session, graph.nodes)
        cables, strands = _write_cables(session, plans, site_ids, owner_id, fibre_count)

    log.info(
        "topology %s: sites %s, cables %s, %d skipped",
        graph.network,
        sites,
        cables,
        len(graph.skipped) + len(too_long),
    )
    return ImportReport(
        network=graph.network,
        source=graph.source,
        database_url=engine.url.render_as_string(hide_password=True),
        detour_factor=detour_factor,
        sites=sites,
        cables=cables,
        strands_created=strands,
        skipped=graph.skipped + tuple(too_long),
        notes=tuple(_notes(plans)),
        speeds=tuple(
            CableSpeed(plan.edge.code, plan.edge.speed_mbps, plan.edge.link_label)
            for plan in plans
            if plan.edge.speed_mbps is not None
        ),
    )


def check_detour_factor(detour_factor: float) -> None:
    """Refuse a factor that would make cables shorter than the crow flies, or absurd."""
    if not MIN_DETOUR_FACTOR <= detour_factor <= MAX_DETOUR_FACTOR:
        raise InvalidInput.of(
            "detour_factor",
            f"between {MIN_DETOUR_FACTOR} and {MAX_DETOUR_FACTOR}: a cable is never shorter "
            "than the crow flies",
        )


def plan_cables(
    edges: Iterable[TopologyEdge], detour_factor: float
) -> tuple[list[CablePlan], list[SkippedItem]]:
    """Each edge's cable length, and the edges too long to be one cable (pure)."""
    plans, too_long = [], []
    for edge in edges:
        length_m = cable_length_m(edge.distance_m, detour_factor)
        if length_m > MAX_CABLE_LENGTH_M:
            # Links of this reach are leased wavelengths or submarine systems, not a cable
            # anyone would record strand by strand.
            limit_km = MAX_CABLE_LENGTH_M // 1000
            reason = f"{length_m / 1000:.0f} km, over the {limit_km} km limit of a fibre cable"
            too_long.append(SkippedItem(f"cable {edge.code}", reason))
            continue
        plans.append(CablePlan(edge, length_m))
    return plans, too_long


def _notes(plans: Iterable[CablePlan]) -> Iterable[str]:
    for plan in plans:
        if plan.edge.distance_m < MIN_CABLE_LENGTH_M:
            yield f"{plan.edge.code}: both ends at the same coordinates, length set to 1 m"


def _refuse_other_network(session: Session, network: str) -> None:
    """One database, one topology: merging two networks' sites by code would mix them."""
    others = session.exec(
        select(Organisation.name)
        .join(FibreCable, col(FibreCable.owner_id) == col(Organisation.id))
        .where(col(Organisation.name) != network)
        .distinct()
    ).all()
    if others:
        raise Conflict(
            f"this database already holds the cables of {', '.join(sorted(others))}; "
            f"import {network} into its own database"
        )


def _owner_id(session: Session, network: str) -> int:
    owner = session.exec(select(Organisation).where(Organisation.name == network)).first()
    if owner is None:
        owner = Organisation(
            name=network, kind=OrganisationKind.FIBRE_OWNER, siren=None, arcep_code=None
        )
        session.add(owner)
        session.flush()
    assert owner.id is not None  # flushed above
    return owner.id


class TopologySite(SiteCreate):
    """A site of a published topology, checked as the API checks a new site, except that it
    lies in no known commune: its INSEE code is the placeholder."""

    insee_code: str = TOPOLOGY_INSEE_PLACEHOLDER


def _site_values(node: TopologyNode) -> dict[str, Any]:
    return TopologySite(
        code=node.code,
        name=node.label,
        kind=SiteKind.POP,
        # The country is the only place name a topology gives beyond the label.
        address=node.country,
        latitude=node.latitude,
        longitude=node.longitude,
        status=LifecycleStatus.ACTIVE,
    ).model_dump()


def _write_sites(
    session: Session, nodes: Sequence[TopologyNode]
) -> tuple[dict[str, int], RowCounts]:
    wanted = {node.code: _site_values(node) for node in nodes}
    existing = {
        site.code: site
        for site in session.exec(select(Site).where(col(Site.code).in_(list(wanted))))
    }
    updated = sum(_update(site, wanted[code]) for code, site in existing.items())
    session.flush()

    ids = {code: _id(site) for code, site in existing.items()}
    new_rows = [values for code, values in wanted.items() if code not in existing]
    ids |= _insert_audited(session, Site, "site", new_rows)
    unchanged = len(existing) - updated
    return ids, RowCounts(created=len(new_rows), updated=updated, unchanged=unchanged)


def _write_cables(
    session: Session,
    plans: Sequence[CablePlan],
    site_ids: Mapping[str, int],
    owner_id: int,
    fibre_count: int,
) -> tuple[RowCounts, int]:
    wanted = {
        plan.edge.code: _cable_values(plan, site_ids, owner_id, fibre_count) for plan in plans
    }
    existing = {
        cable.code: cable
        for cable in session.exec(select(FibreCable).where(col(FibreCable.code).in_(list(wanted))))
    }
    # The fibre count of an existing cable is left alone: its strands may be in use.
    updated = sum(
        _update(cable, wanted[code], ignore=frozenset({"fibre_count"}))
        for code, cable in existing.items()
    )
    session.flush()

    new_rows = [values for code, values in wanted.items() if code not in existing]
    new_ids = _insert_audited(session, FibreCable, "fibre_cable", new_rows)
    strands = [row for cable_id in new_ids.values() for row in strand_rows(cable_id, fibre_count)]
    if strands:
        session.execute(sa.insert(FibreStrand), strands)
    counts = RowCounts(len(new_rows), updated, len(existing) - updated)
    return counts, len(strands)


def _cable_values(
    plan: CablePlan, site_ids: Mapping[str, int], owner_id: int, fibre_count: int
) -> dict[str, Any]:
    edge = plan.edge
    return FibreCableCreate(
        code=edge.code,
        a_site_id=site_ids[edge.a.code],
        z_site_id=site_ids[edge.z.code],
        length_m=plan.length_m,
        fibre_count=fibre_count,
        owner_id=owner_id,
        ownership=CableOwnership.OWN,
        iru_end_date=None,
        # A straight line: the file gives no route, and a map should not pretend otherwise.
        route=[[edge.a.longitude, edge.a.latitude], [edge.z.longitude, edge.z.latitude]],
        status=LifecycleStatus.ACTIVE,
    ).model_dump()


def _update(
    row: Site | FibreCable, values: Mapping[str, Any], ignore: frozenset[str] = frozenset()
) -> bool:
    """Set the values that differ; True if any did. The audit listener records the change."""
    changed = False
    for name, value in values.items():
        if name not in ignore and getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _id(row: Site | FibreCable) -> int:
    assert row.id is not None  # rows read from the database have their id
    return row.id


def _insert_audited(
    session: Session, model: type[Site] | type[FibreCable], entity: str, rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Bulk insert, ids by code. A bulk insert bypasses the ORM's audit listener, so the
    audit entries are written here, as the audit module asks of bulk writers."""
    if not rows:
        return {}
    now = utcnow()
    stamped = [{**row, "created_at": now, "updated_at": now} for row in rows]
    inserted = session.execute(
        sa.insert(model).returning(col(model.id), col(model.code)), stamped
    ).all()
    ids = {code: row_id for row_id, code in inserted}
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]] = [
        (ids[row["code"]], None, {"id": ids[row["code"]], **row}) for row in stamped
    ]
    session.execute(sa.insert(AuditEntry), audit_rows(IMPORT_ACTOR, "create", entity, changes))
    return ids


# --- where a topology goes ----------------------------------------------------------------


def default_topology_url(data_dir: Path, path: Path) -> str:
    """``sqlite:///<data_dir>/topologies/<file stem, lower case>.sqlite3``."""
    return f"sqlite:///{(data_dir / 'topologies' / f'{path.stem.lower()}.sqlite3').resolve()}"


def same_database(first_url: str, second_url: str) -> bool:
    """Whether two URLs name the same database, whatever the driver or credentials.

    >>> same_database("sqlite:///var/../var/a.sqlite3", "sqlite:///var/a.sqlite3")
    True
    >>> same_database("postgresql+psycopg://u@db/gigalis", "postgresql://other:pw@db:5432/gigalis")
    True
    >>> same_database("sqlite:///:memory:", "sqlite:///:memory:")
    False
    """
    first, second = make_url(first_url), make_url(second_url)
    if first.get_backend_name() != second.get_backend_name():
        return False
    if first.get_backend_name() == "sqlite":
        if first.database in (None, "", ":memory:") or second.database in (None, "", ":memory:"):
            return False
        return Path(str(first.database)).resolve() == Path(str(second.database)).resolve()
    return _server_database(first) == _server_database(second)


def _server_database(url: URL) -> tuple[str, int | None, str | None]:
    port = url.port or DEFAULT_PORTS.get(url.get_backend_name())
    return (url.host or "localhost", port, url.database)


def target_url(path: Path, current: Settings, database_url: str | None) -> str:
    """Where ``path`` is imported; refuses the Gigalis database itself."""
    url = database_url or default_topology_url(current.data_dir, path)
    try:
        same = same_database(url, current.resolved_database_url)
    except ArgumentError as error:
        raise InvalidInput.of("--database-url", f"not a database URL ({error})") from None
    if same:
        raise InvalidInput.of(
            "--database-url",
            "is the Gigalis database: a published topology goes into a database of its own",
        )
    return url


def import_topology_file(
    path: Path,
    current: Settings,
    *,
    database_url: str | None = None,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
) -> ImportReport:
    """Parse ``path``, then migrate its target database and import into it.

    The file is read before any database is touched, so bad input leaves no trace, not even
    an empty SQLite file.
    """
    check_detour_factor(detour_factor)
    graph = parse_topology(path)
    url = target_url(path, current, database_url)
    try:
        engine = make_engine(url)
    except (ArgumentError, NoSuchModuleError) as error:
        raise InvalidInput.of("--database-url", f"not a usable database URL ({error})") from None
    try:
        upgrade(engine)
        return import_topology(engine, graph, detour_factor=detour_factor)
    finally:
        engine.dispose()
