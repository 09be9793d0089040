"""Inventory as code: the network described in YAML files, validated whole, diffed against
the database, and applied in one transaction.

    files ──read──▶ located records ──validate──▶ desired state ──diff──▶ plan ──apply──▶ db

Nothing is written unless every file, field and reference is valid; every error names the
file, the line and the field.
"""

from gigalis_nms.inventory.loader.apply import apply_plan
from gigalis_nms.inventory.loader.diff import Change, Plan, plan_changes
from gigalis_nms.inventory.loader.run import LoadResult, load_inventory
from gigalis_nms.inventory.loader.state import read_inventory

__all__ = [
    "Change",
    "LoadResult",
    "Plan",
    "apply_plan",
    "load_inventory",
    "plan_changes",
    "read_inventory",
]
