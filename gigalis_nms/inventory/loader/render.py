"""How a plan reads on the terminal: a summary table, then the changes object by object."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from gigalis_nms.inventory.loader.diff import Action, Change, Plan
from gigalis_nms.inventory.loader.state import KINDS

SIGNS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


def summary_table(plan: Plan) -> Table:
    table = Table(title="Inventory changes", title_justify="left")
    table.add_column("kind")
    for action in ("create", "update", "delete"):
        table.add_column(action, justify="right", style=SIGNS[action][1])
    counts = plan.counts()
    for kind in KINDS:
        if kind in plan.desired.kinds:
            row = counts[kind]
            table.add_row(kind, *(str(row[a]) for a in ("create", "update", "delete")))
    return table


def _value(value: Any) -> str:
    text = repr(value.value if hasattr(value, "value") else value)
    return text if len(text) <= 60 else text[:57] + "…"


def change_line(change: Change) -> str:
    sign, colour = SIGNS[change.action]
    name = f"{change.kind[:-1]} {change.key}"
    if change.action != "update":
        return f"[{colour}]{sign} {name}[/]"
    assert change.before is not None
    assert change.after is not None
    fields = ", ".join(
        f"{field}: {_value(change.before.get(field))} → {_value(change.after[field])}"
        for field in change.changed_fields
    )
    return f"[{colour}]{sign} {name}[/] ({fields})"


def print_plan(console: Console, plan: Plan, *, show: int) -> None:
    """The summary, then at most ``show`` lines per kind and action (0 for all)."""
    if plan.is_empty:
        console.print("No change: the database already matches the files.")
        return
    console.print(summary_table(plan))
    actions: tuple[Action, ...] = ("create", "update", "delete")
    for kind in KINDS:
        for action in actions:
            changes = plan.of(kind, action)
            shown = changes if show == 0 else changes[:show]
            for change in shown:
                console.print(change_line(change), highlight=False)
            if len(changes) > len(shown):
                console.print(f"  … and {len(changes) - len(shown)} more {kind} to {action}")
