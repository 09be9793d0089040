"""The inventory as the database holds it, in the same shape as the desired state: rows
keyed by natural key, references spelt as natural keys."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigalis_nms.inventory.enums import StrandState
from gigalis_nms.inventory.loader.state import KINDS, Row, interface_key
from gigalis_nms.inventory.tables import (
    BANDWIDTH_HOLDING,
    CABLE,
    CIRCUIT,
    DEVICE,
    INTERFACE,
    LINK,
    ORGANISATION,
    SITE,
    STRAND,
    STRAND_HOLDING,
    VLAN_HOLDING,
)

TABLES: dict[str, sa.Table] = {
    "organisations": ORGANISATION,
    "sites": SITE,
    "devices": DEVICE,
    "interfaces": INTERFACE,
    "cables": CABLE,
    "links": LINK,
    "circuits": CIRCUIT,
}
KEY_COLUMNS = {
    "organisations": "name",
    "sites": "code",
    "devices": "hostname",
    "cables": "code",
    "links": "code",
    "circuits": "ref",
}
# column holding an id → (name in the row, kind it refers to)
REFERENCE_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "devices": {"site_id": ("site", "sites")},
    "interfaces": {"device_id": ("device", "devices")},
    "cables": {
        "a_site_id": ("a_site", "sites"),
        "z_site_id": ("z_site", "sites"),
        "owner_id": ("owner", "organisations"),
    },
    "links": {
        "a_interface_id": ("a", "interfaces"),
        "z_interface_id": ("z", "interfaces"),
    },
    "circuits": {
        "operator_id": ("operator", "organisations"),
        "a_site_id": ("a_site", "sites"),
        "a_interface_id": ("a_interface", "interfaces"),
        "z_site_id": ("z_site", "sites"),
        "z_interface_id": ("z_interface", "interfaces"),
    },
}
# Columns the files do not describe.
UNDESCRIBED = {"id", "created_at", "updated_at", "held_mbps"}


@dataclass
class ExistingState:
    rows: dict[str, dict[Any, Row]] = field(default_factory=lambda: {k: {} for k in KINDS})
    ids: dict[str, dict[Any, int]] = field(default_factory=lambda: {k: {} for k in KINDS})
    keys: dict[str, dict[int, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def key_of(self, kind: str, row_id: int) -> Any:
        return self.keys[kind][row_id]


def read_existing(session: Session) -> ExistingState:
    existing = ExistingState()
    for kind in KINDS:
        _read_kind(session, existing, kind)
    _add_faulty_strands(session, existing)
    _add_strand_routes(session, existing)
    _add_paths(session, existing)
    _add_held_vlans(session, existing)
    return existing


def _read_kind(session: Session, existing: ExistingState, kind: str) -> None:
    table = TABLES[kind]
    references = REFERENCE_COLUMNS.get(kind, {})
    for record in session.execute(sa.select(table)).mappings():
        row: Row = {}
        for column, value in record.items():
            if column in UNDESCRIBED:
                continue
            if column in references:
                name, target = references[column]
                row[name] = None if value is None else existing.key_of(target, value)
            else:
                row[column] = value
        key = (
            interface_key(row["device"], row["name"])
            if kind == "interfaces"
            else row[KEY_COLUMNS[kind]]
        )
        existing.rows[kind][key] = row
        existing.ids[kind][key] = record["id"]
        existing.keys[kind][record["id"]] = key


def _add_faulty_strands(session: Session, existing: ExistingState) -> None:
    faulty: dict[int, list[int]] = defaultdict(list)
    query = sa.select(STRAND.c.cable_id, STRAND.c.number).where(
        STRAND.c.state == StrandState.FAULTY
    )
    for cable_id, number in session.execute(query):
        faulty[cable_id].append(number)
    for code, row in existing.rows["cables"].items():
        row["faulty_strands"] = tuple(sorted(faulty.get(existing.ids["cables"][code], ())))


def _add_strand_routes(session: Session, existing: ExistingState) -> None:
    """Each link's and circuit's held strands, as ``((cable, (n, …)), …)`` in route order."""
    query = (
        sa.select(
            STRAND_HOLDING.c.backbone_link_id,
            STRAND_HOLDING.c.circuit_id,
            STRAND_HOLDING.c.sequence,
            STRAND.c.cable_id,
            STRAND.c.number,
        )
        .join(STRAND, STRAND.c.id == STRAND_HOLDING.c.strand_id)
        .order_by(STRAND_HOLDING.c.sequence, STRAND.c.number)
    )
    steps: dict[tuple[str, int], dict[int, tuple[int, list[int]]]] = defaultdict(dict)
    for link_id, circuit_id, sequence, cable_id, number in session.execute(query):
        holder = ("links", link_id) if link_id is not None else ("circuits", circuit_id)
        step = steps[holder].setdefault(sequence, (cable_id, []))
        step[1].append(number)
    for kind in ("links", "circuits"):
        for key, row in existing.rows[kind].items():
            held = steps.get((kind, existing.ids[kind][key]), {})
            row["route" if kind == "links" else "strands"] = tuple(
                (existing.key_of("cables", cable_id), tuple(numbers))
                for _, (cable_id, numbers) in sorted(held.items())
            )


def _add_paths(session: Session, existing: ExistingState) -> None:
    paths: dict[int, list[str]] = defaultdict(list)
    query = sa.select(BANDWIDTH_HOLDING.c.circuit_id, BANDWIDTH_HOLDING.c.backbone_link_id)
    for circuit_id, link_id in session.execute(query):
        paths[circuit_id].append(existing.key_of("links", link_id))
    for key, row in existing.rows["circuits"].items():
        row["path"] = tuple(sorted(paths.get(existing.ids["circuits"][key], ())))


def _add_held_vlans(session: Session, existing: ExistingState) -> None:
    held: dict[int, list[tuple[str, int]]] = defaultdict(list)
    query = sa.select(VLAN_HOLDING.c.circuit_id, VLAN_HOLDING.c.interface_id, VLAN_HOLDING.c.vlan)
    for circuit_id, interface_id, vlan in session.execute(query):
        held[circuit_id].append((existing.key_of("interfaces", interface_id), vlan))
    for key, row in existing.rows["circuits"].items():
        row["held_vlans"] = tuple(sorted(held.get(existing.ids["circuits"][key], ())))
