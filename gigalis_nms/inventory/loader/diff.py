"""The plan: what a load would create, change and delete, object by object."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from gigalis_nms.inventory.loader.checks import check_references
from gigalis_nms.inventory.loader.existing import ExistingState, read_existing
from gigalis_nms.inventory.loader.state import KINDS, DesiredState, Row, raise_problems

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Change:
    kind: str
    key: Any
    action: Action
    before: Row | None
    after: Row | None

    @property
    def changed_fields(self) -> list[str]:
        if self.before is None or self.after is None:
            return []
        return sorted(name for name in self.after if self.before.get(name) != self.after[name])


@dataclass
class Plan:
    desired: DesiredState
    existing: ExistingState
    changes: list[Change] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        for change in self.changes:
            counts[change.kind][change.action] += 1
        return counts

    def of(self, kind: str, action: Action) -> list[Change]:
        return [c for c in self.changes if c.kind == kind and c.action == action]


def plan_changes(session: Session, desired: DesiredState) -> Plan:
    """Compare the files with the database; raise InvalidInput if a reference is wrong."""
    existing = read_existing(session)
    problems = check_references(desired, existing)
    if problems:
        raise_problems(problems)
    plan = Plan(desired, existing)
    for kind in KINDS:
        if kind in desired.kinds:
            plan.changes.extend(_diff_kind(kind, desired.rows[kind], existing.rows[kind]))
    return plan


def _diff_kind(kind: str, wanted: dict[Any, Row], present: dict[Any, Row]) -> list[Change]:
    changes = []
    for key, row in wanted.items():
        before = present.get(key)
        if before is None:
            changes.append(Change(kind, key, "create", None, row))
        elif any(before.get(name) != value for name, value in row.items()):
            changes.append(Change(kind, key, "update", before, row))
    changes.extend(
        Change(kind, key, "delete", row, None) for key, row in present.items() if key not in wanted
    )
    return changes
