"""The plan: what a load would create, change and delete, object by object."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigalis_nms.auth.models import ApiToken
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import FieldProblem
from gigalis_nms.inventory.loader.checks import check_references
from gigalis_nms.inventory.loader.existing import REFERENCE_COLUMNS, ExistingState, read_existing
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
    problems = still_used_after_deletion(plan) + organisations_with_tokens(session, plan)
    if problems:
        raise_problems(problems)
    return plan


def _uses(kind: str, row: Row) -> list[tuple[str, Any]]:
    """Every (kind, key) a row of ``kind`` refers to or holds."""
    used = [
        (target, row.get(name))
        for name, target in REFERENCE_COLUMNS.get(kind, {}).values()
        if row.get(name) is not None
    ]
    # A link's route and a circuit's strands are cable steps (a cable's own "route" is its
    # geometry, not a reference).
    steps = {"links": "route", "circuits": "strands"}.get(kind)
    if steps:
        used += [("cables", cable) for cable, _ in row[steps]]
    if kind == "circuits":
        used += [("links", code) for code in row["path"]]
    return used


def still_used_after_deletion(plan: Plan) -> list[FieldProblem]:
    """Objects the files delete that objects of kinds the files leave out still use.

    The database would refuse the deletion anyway; checking first turns a bare constraint
    error into the name of each object in the way.
    """
    deleted = {(c.kind, c.key) for c in plan.changes if c.action == "delete"}
    if not deleted:
        return []
    problems = []
    for kind in KINDS:
        if kind in plan.desired.kinds:
            continue  # the files' own references were checked against the files
        for key, row in plan.existing.rows[kind].items():
            for target in _uses(kind, row):
                if target in deleted:
                    reason = (
                        f"{target[0][:-1]} {target[1]} is no longer in the files, but "
                        f"{kind[:-1]} {key}, which the files do not describe, still uses it"
                    )
                    problems.append(FieldProblem(target[0], reason))
    return problems


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


def organisations_with_tokens(session: Session, plan: Plan) -> list[FieldProblem]:
    """Organisations the files delete that API tokens still belong to (which the database
    keeps, since tokens are the record of who acted)."""
    deleted = {
        plan.existing.ids["organisations"][c.key]: c.key for c in plan.of("organisations", "delete")
    }
    if not deleted:
        return []
    tokens = table_of(ApiToken)
    query = (
        sa.select(tokens.c.organisation_id, sa.func.count())
        .where(tokens.c.organisation_id.in_(deleted))
        .group_by(tokens.c.organisation_id)
    )
    return [
        FieldProblem(
            "organisations",
            f"organisation {deleted[org_id]} is no longer in the files, but {count} API "
            "token(s) belong to it",
        )
        for org_id, count in session.execute(query)
    ]
