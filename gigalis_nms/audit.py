"""The audit log: who changed what, when, with the values before and after.

Every ORM flush is recorded by a session listener, so no code path that writes through a
session can forget it. Bulk writers that bypass the ORM (the inventory loader) call
:func:`audit_rows` themselves.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=16)  # create, update, delete
    entity: str = Field(max_length=64, index=True)  # table name
    entity_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


# Tables whose changes are not audited: the log itself, per-strand rows that are made and
# removed with their cable (the cable's own entry records the fibre count), and provisioning
# jobs and configuration backups, which are logs of their own (who, when, what).
UNAUDITED_TABLES = frozenset(
    {
        "audit_entry",
        "fibre_strand",
        "provisioning_job",
        "provisioning_job_circuit",
        "provisioning_job_device",
        "config_backup",
        # Logs of their own: an order's history, its events and their deliveries.
        "order_state_change",
        "order_event",
        "event_delivery",
        "circuit_ref_counter",  # a number taken with each new circuit, audited with it
        # The poller's readings and what it derives from them, rewritten at every round:
        # ``monitoring_event`` is their history. Incidents and maintenance windows, which
        # people change, are audited.
        "poller_status",
        "device_poll",
        "interface_observation",
        "neighbour_observation",
        "link_state",
        "circuit_state",
        "monitoring_event",
        "incident_circuit",
        "sla_result",  # computed from the incidents; recomputed until billed
    }
)
# Columns whose values must never reach the log in clear.
SECRET_COLUMNS = frozenset({"token_hash"})


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    return value


def _snapshot(obj: Any, *, committed: bool) -> dict[str, Any]:
    state = inspect(obj)
    values: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SECRET_COLUMNS:
            values[key] = "***"
            continue
        if committed:
            history = state.attrs[key].history
            unchanged = history.unchanged or ()
            deleted = history.deleted or ()
            current = (list(unchanged) + list(deleted))[:1]
            values[key] = jsonable(current[0]) if current else jsonable(getattr(obj, key))
        else:
            values[key] = jsonable(getattr(obj, key))
    return values


def _table_of(obj: Any) -> str | None:
    table = getattr(obj, "__tablename__", None)
    return table if isinstance(table, str) and table not in UNAUDITED_TABLES else None


@event.listens_for(OrmSession, "before_flush")
def _record_updates_and_deletes(session: OrmSession, _context: Any, _instances: Any) -> None:
    actor = session.info.get("actor", "system")
    for obj in list(session.dirty):
        table = _table_of(obj)
        if table is None or not session.is_modified(obj, include_collections=False):
            continue
        before = _snapshot(obj, committed=True)
        after = _snapshot(obj, committed=False)
        changed = {key for key in after if before.get(key) != after[key]} - {"updated_at"}
        if changed:
            session.add(
                AuditEntry(
                    actor=actor,
                    action="update",
                    entity=table,
                    entity_id=getattr(obj, "id", None),
                    before={key: before[key] for key in sorted(changed)},
                    after={key: after[key] for key in sorted(changed)},
                )
            )
    for obj in list(session.deleted):
        table = _table_of(obj)
        if table is not None:
            session.add(
                AuditEntry(
                    actor=actor,
                    action="delete",
                    entity=table,
                    entity_id=getattr(obj, "id", None),
                    before=_snapshot(obj, committed=True),
                )
            )
    session.info["pending_audit_creates"] = [
        obj for obj in session.new if _table_of(obj) is not None
    ]


@event.listens_for(OrmSession, "after_flush")
def _record_creates(session: OrmSession, _context: Any) -> None:
    # Created rows are recorded after the flush, once the database has given them an id.
    created = session.info.pop("pending_audit_creates", [])
    if not created:
        return
    actor = session.info.get("actor", "system")
    rows = [
        {
            "at": utcnow(),
            "actor": actor,
            "action": "create",
            "entity": obj.__tablename__,
            "entity_id": obj.id,
            "before": None,
            "after": _snapshot(obj, committed=False),
        }
        for obj in created
    ]
    session.execute(sa.insert(AuditEntry), rows)


def audit_rows(
    actor: str,
    action: str,
    entity: str,
    changes: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]],
) -> list[dict[str, Any]]:
    """Audit rows for a bulk write: one ``(entity_id, before, after)`` per changed object."""
    at = utcnow()
    return [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": jsonable(before),
            "after": jsonable(after),
        }
        for entity_id, before, after in changes
    ]
