"""Writing a plan in one transaction, with bulk statements and one audit entry per object.

Order matters for the rules the database enforces: holdings that change are released
first (so a circuit moving between links never over-books one in passing), then deletions
run from the most dependent kind to the least, creations and updates the other way, and the
new holdings are taken last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigalis_nms.audit import AuditEntry, audit_rows
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.inventory.enums import CircuitStatus, StrandState
from gigalis_nms.inventory.fibre import strand_rows
from gigalis_nms.inventory.loader.bulk import insert_rows
from gigalis_nms.inventory.loader.diff import Change, Plan
from gigalis_nms.inventory.loader.existing import KEY_COLUMNS, REFERENCE_COLUMNS, TABLES
from gigalis_nms.inventory.loader.state import KINDS, Row, interface_key
from gigalis_nms.inventory.tables import BANDWIDTH_HOLDING, STRAND, STRAND_HOLDING, VLAN_HOLDING

# Fields of a link or circuit that decide what it holds.
HOLDING_FIELDS = {
    "links": {"route"},
    "circuits": {
        "path",
        "strands",
        "bandwidth_mbps",
        "status",
        "a_interface",
        "a_vlan",
        "z_interface",
        "z_vlan",
        "held_vlans",
    },
}


class PlanWriter:
    def __init__(self, session: Session, plan: Plan, actor: str) -> None:
        self.session = session
        self.plan = plan
        self.actor = actor
        self.ids = {kind: dict(plan.existing.ids[kind]) for kind in KINDS}
        self.now = utcnow()

    def execute(self, statement: Any, rows: list[dict[str, Any]] | None = None) -> None:
        if rows == []:
            return
        self.session.execute(statement, rows) if rows is not None else self.session.execute(
            statement
        )

    # --- holdings -------------------------------------------------------------------------

    def holders_to_refresh(self, kind: str) -> list[Change]:
        return [
            change
            for change in self.plan.changes
            if change.kind == kind
            and (change.action != "update" or set(change.changed_fields) & HOLDING_FIELDS[kind])
        ]

    def release_holdings(self) -> None:
        for kind, column in (("links", "backbone_link_id"), ("circuits", "circuit_id")):
            ids = [
                self.ids[kind][c.key] for c in self.holders_to_refresh(kind) if c.action != "create"
            ]
            for chunk in _chunks(ids):
                self.execute(sa.delete(STRAND_HOLDING).where(STRAND_HOLDING.c[column].in_(chunk)))
                if kind == "circuits":
                    self.execute(
                        sa.delete(VLAN_HOLDING).where(VLAN_HOLDING.c.circuit_id.in_(chunk))
                    )
                    self.execute(
                        sa.delete(BANDWIDTH_HOLDING).where(
                            BANDWIDTH_HOLDING.c.circuit_id.in_(chunk)
                        )
                    )

    def take_holdings(self) -> None:
        strand_ids = self.strand_ids()
        strand_holdings: list[dict[str, Any]] = []
        vlan_holdings: list[dict[str, Any]] = []
        bandwidth_holdings: list[dict[str, Any]] = []
        for change in self.holders_to_refresh("links"):
            if change.after is not None:
                link_id = self.ids["links"][change.key]
                strand_holdings += _strand_holdings(
                    change.after["route"], strand_ids, backbone_link_id=link_id
                )
        for change in self.holders_to_refresh("circuits"):
            row = change.after
            if row is None or row["status"] == CircuitStatus.TERMINATED:
                continue
            circuit_id = self.ids["circuits"][change.key]
            strand_holdings += _strand_holdings(row["strands"], strand_ids, circuit_id=circuit_id)
            vlan_holdings += self.vlan_holdings(row, circuit_id)
            bandwidth_holdings += [
                {
                    "backbone_link_id": self.ids["links"][code],
                    "circuit_id": circuit_id,
                    "bandwidth_mbps": row["bandwidth_mbps"],
                }
                for code in row["path"]
                if row["bandwidth_mbps"] is not None
            ]
        insert_rows(self.session, STRAND_HOLDING, strand_holdings)
        insert_rows(self.session, VLAN_HOLDING, vlan_holdings)
        insert_rows(self.session, BANDWIDTH_HOLDING, bandwidth_holdings)

    def vlan_holdings(self, row: Row, circuit_id: int) -> list[dict[str, Any]]:
        return [
            {
                "interface_id": self.ids["interfaces"][row[f"{end}_interface"]],
                "vlan": row[f"{end}_vlan"],
                "circuit_id": circuit_id,
            }
            for end in ("a", "z")
            if row[f"{end}_interface"] is not None and row[f"{end}_vlan"] is not None
        ]

    def strand_ids(self) -> dict[tuple[str, int], int]:
        """(cable code, number) → strand id, for the cables that holdings will name."""
        wanted = {
            cable
            for kind, field in (("links", "route"), ("circuits", "strands"))
            for change in self.holders_to_refresh(kind)
            if change.after is not None
            for cable, _ in change.after[field]
        }
        by_id = {self.ids["cables"][code]: code for code in wanted}
        found: dict[tuple[str, int], int] = {}
        for chunk in _chunks(list(by_id)):
            query = sa.select(STRAND.c.id, STRAND.c.cable_id, STRAND.c.number).where(
                STRAND.c.cable_id.in_(chunk)
            )
            for strand_id, cable_id, number in self.session.execute(query):
                found[(by_id[cable_id], number)] = strand_id
        return found

    # --- objects --------------------------------------------------------------------------

    def columns(self, kind: str, row: Row) -> dict[str, Any]:
        """A row of the files as table columns, natural keys turned into ids."""
        table = TABLES[kind]
        values = {name: value for name, value in row.items() if name in table.c and name != "id"}
        for column, (name, target) in REFERENCE_COLUMNS.get(kind, {}).items():
            values[column] = None if row.get(name) is None else self.ids[target][row[name]]
        values["updated_at"] = self.now
        return values

    def delete(self, kind: str) -> None:
        ids = [self.ids[kind].pop(change.key) for change in self.plan.of(kind, "delete")]
        table = TABLES[kind]
        for chunk in _chunks(ids):
            self.execute(sa.delete(table).where(table.c.id.in_(chunk)))

    def create(self, kind: str) -> None:
        changes = self.plan.of(kind, "create")
        rows = [{**self.columns(kind, c.after), "created_at": self.now} for c in changes if c.after]
        insert_rows(self.session, TABLES[kind], rows)
        if changes:
            self.ids[kind] = self.read_ids(kind)

    def update(self, kind: str) -> None:
        changes = self.plan.of(kind, "update")
        if not changes:
            return
        table = TABLES[kind]
        rows = [
            {**self.columns(kind, c.after), "_id": self.ids[kind][c.key]}
            for c in changes
            if c.after
        ]
        names = [name for name in rows[0] if name != "_id"]
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("_id"))
            .values({name: sa.bindparam(name) for name in names})
        )
        self.session.connection().execute(statement, rows)

    def read_ids(self, kind: str) -> dict[Any, int]:
        table = TABLES[kind]
        if kind == "interfaces":
            hostnames = {row_id: key for key, row_id in self.ids["devices"].items()}
            query = sa.select(table.c.id, table.c.device_id, table.c.name)
            return {
                interface_key(hostnames[device_id], name): row_id
                for row_id, device_id, name in self.session.execute(query)
            }
        key_column = table.c[KEY_COLUMNS[kind]]
        return {
            key: row_id for row_id, key in self.session.execute(sa.select(table.c.id, key_column))
        }

    # --- strands of cables ----------------------------------------------------------------

    def write_strands(self) -> None:
        rows: list[dict[str, Any]] = []
        for change in self.plan.of("cables", "create"):
            assert change.after is not None
            cable_id = self.ids["cables"][change.key]
            rows += strand_rows(
                cable_id, change.after["fibre_count"], change.after["faulty_strands"]
            )
        insert_rows(self.session, STRAND, rows)
        for change in self.plan.of("cables", "update"):
            self.update_strands(change)

    def update_strands(self, change: Change) -> None:
        assert change.before is not None
        assert change.after is not None
        cable_id = self.ids["cables"][change.key]
        old_count, new_count = change.before["fibre_count"], change.after["fibre_count"]
        faulty = change.after["faulty_strands"]
        if new_count < old_count:
            self.execute(
                sa.delete(STRAND).where(STRAND.c.cable_id == cable_id, STRAND.c.number > new_count)
            )
        if new_count > old_count:
            added = strand_rows(cable_id, new_count, faulty)[old_count:]
            insert_rows(self.session, STRAND, added)
        if change.before["faulty_strands"] != faulty:
            of_cable = STRAND.c.cable_id == cable_id
            self.execute(
                sa.update(STRAND)
                .where(of_cable, STRAND.c.state == StrandState.FAULTY)
                .values(state=StrandState.AVAILABLE)
            )
            self.execute(
                sa.update(STRAND)
                .where(of_cable, STRAND.c.number.in_(faulty))
                .values(state=StrandState.FAULTY)
            )

    # --- audit ----------------------------------------------------------------------------

    def audit(self) -> None:
        rows: list[dict[str, Any]] = []
        for change in self.plan.changes:
            entity = TABLES[change.kind].name
            row_id = self.plan.existing.ids[change.kind].get(change.key)
            if change.action == "create":
                row_id = self.ids[change.kind][change.key]
            before, after = change.before, change.after
            if change.action == "update":
                changed = change.changed_fields
                before = {name: before[name] for name in changed} if before else None
                after = {name: after[name] for name in changed} if after else None
            rows += audit_rows(self.actor, change.action, entity, [(row_id, before, after)])
        insert_rows(self.session, table_of(AuditEntry), rows)


def _strand_holdings(
    route: Iterable[tuple[str, tuple[int, ...]]],
    strand_ids: dict[tuple[str, int], int],
    **holder: int,
) -> list[dict[str, Any]]:
    rows = []
    for sequence, (cable, numbers) in enumerate(route):
        for number in numbers:
            rows.append(
                {
                    "strand_id": strand_ids[(cable, number)],
                    "sequence": sequence,
                    "circuit_id": None,
                    "backbone_link_id": None,
                    **holder,
                }
            )
    return rows


def _chunks(ids: list[Any], size: int = 500) -> list[list[Any]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def apply_plan(session: Session, plan: Plan, actor: str) -> None:
    """Write ``plan`` inside the session's transaction; the caller commits."""
    writer = PlanWriter(session, plan, actor)
    writer.release_holdings()
    for kind in reversed(KINDS):
        writer.delete(kind)
    for kind in KINDS:
        writer.create(kind)
        writer.update(kind)
        if kind == "cables":
            writer.write_strands()
    writer.take_holdings()
    writer.audit()
