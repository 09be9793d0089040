"""The neutral form of the objects Gigalis and NetBox share, and the plan that turns what a
receiving side has into what the source has.

A record is one object's fields in Gigalis's terms (``length_m``, ``bandwidth_mbps``,
statuses as Gigalis spells them), with every reference written as the referenced object's
natural key, never an id: ids differ between two systems, natural keys do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal

Record = dict[str, Any]

# The kinds, in the order a receiving side must create them (references point backwards).
# Each kind's fields are all its mapped fields: what a round trip keeps.
FIELDS: dict[str, tuple[str, ...]] = {
    "organisation": ("kind", "siren", "arcep_code"),
    "site": ("name", "kind", "address", "insee_code", "latitude", "longitude", "status"),
    "manufacturer": ("name", "description"),
    "device_type": ("manufacturer", "model", "part_number", "u_height", "description"),
    "platform": ("name", "manufacturer", "napalm_driver", "description"),
    "device": (
        "site",
        "role",
        "platform",
        "device_type",
        "status",
        "serial",
        "management_address",
    ),
    "interface": ("type", "speed_mbps", "enabled", "description"),
    "cable": (
        "a_site",
        "z_site",
        "length_m",
        "fibre_count",
        "owner",
        "ownership",
        "iru_end_date",
        "route",
        "status",
    ),
    "circuit": (
        "operator",
        "service_type",
        "a_site",
        "a_interface",
        "a_vlan",
        "z_site",
        "z_interface",
        "z_vlan",
        "bandwidth_mbps",
        "protected",
        "status",
        "description",
        "in_service_since",
    ),
}
KINDS = tuple(FIELDS)


def interface_key(hostname: str, name: str) -> str:
    """An interface's natural key. A hostname has no colon, so the first one splits it.

    >>> interface_key("nte1-cr1", "ge-0/0/0:1")
    'nte1-cr1:ge-0/0/0:1'
    >>> split_interface_key('nte1-cr1:ge-0/0/0:1')
    ('nte1-cr1', 'ge-0/0/0:1')
    """
    return f"{hostname}:{name}"


def split_interface_key(key: str) -> tuple[str, str]:
    hostname, _, name = key.partition(":")
    return hostname, name


class NotServed:
    """A field the source does not serve at all (NetBox 4 has no platform NAPALM driver):
    never a change; a new object takes the receiving side's default."""

    def __repr__(self) -> str:
        return "<not served>"


NOT_SERVED = NotServed()


def plain(value: Any) -> Any:
    """A value as JSON would carry it: enums as their value, dates in ISO, tuples as lists.

    >>> from gigalis_nms.inventory.enums import DeviceRole
    >>> plain(DeviceRole.CORE), plain(date(2030, 1, 31)), plain(((1, 2),))
    ('core', '2030-01-31', [[1, 2]])
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Problem:
    """An object one side could not take or could not map, and why."""

    kind: str
    key: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.field}" if self.field else ""
        return f"{self.kind} {self.key}{where}: {self.reason}"


@dataclass
class Inventory:
    """One side's objects in the neutral form, and what could not be mapped from it."""

    records: dict[str, dict[str, Record]] = field(default_factory=lambda: {k: {} for k in KINDS})
    skipped: list[Problem] = field(default_factory=list)

    def add(self, kind: str, key: str, record: Record) -> None:
        self.records[kind][key] = {name: plain(record[name]) for name in FIELDS[kind]}

    def skip(self, kind: str, key: str, field_name: str, reason: str) -> None:
        self.skipped.append(Problem(kind, key, field_name, reason))

    def count(self) -> dict[str, int]:
        return {kind: len(records) for kind, records in self.records.items()}


Action = Literal["create", "update"]


@dataclass(frozen=True)
class Change:
    """One object to create or change on the receiving side: each field as (before, after);
    a created object's fields have ``None`` before."""

    kind: str
    key: str
    action: Action
    fields: dict[str, tuple[Any, Any]]

    def after(self) -> Record:
        return {name: values[1] for name, values in self.fields.items()}


@dataclass(frozen=True)
class Plan:
    changes: list[Change]
    unchanged: dict[str, int]  # per kind, objects already equal on the receiving side
    only_receiving: dict[str, int]  # per kind, objects the source lacks: left alone


def plan(source: Inventory, receiving: Inventory) -> Plan:
    """What the receiving side must create or change to hold the source's objects.

    >>> a, b = Inventory(), Inventory()
    >>> a.add("manufacturer", "arista", {"name": "Arista", "description": ""})
    >>> b.add("manufacturer", "arista", {"name": "Arista Networks", "description": ""})
    >>> b.add("manufacturer", "cisco", {"name": "Cisco", "description": ""})
    >>> result = plan(a, b)
    >>> [(c.action, c.key, c.fields) for c in result.changes]
    [('update', 'arista', {'name': ('Arista Networks', 'Arista')})]
    >>> result.only_receiving["manufacturer"]
    1
    """
    changes: list[Change] = []
    unchanged = dict.fromkeys(KINDS, 0)
    only_receiving = dict.fromkeys(KINDS, 0)
    for kind in KINDS:
        theirs = receiving.records[kind]
        for key, served in source.records[kind].items():
            current = theirs.get(key)
            record = {name: v for name, v in served.items() if v is not NOT_SERVED}
            if current is None:
                created = {name: (None, value) for name, value in record.items()}
                changes.append(Change(kind, key, "create", created))
                continue
            differing = {
                name: (current[name], value)
                for name, value in record.items()
                if not same(current[name], value)
            }
            if differing:
                changes.append(Change(kind, key, "update", differing))
            else:
                unchanged[kind] += 1
        only_receiving[kind] = len(theirs.keys() - source.records[kind].keys())
    return Plan(changes, unchanged, only_receiving)


def same(one: Any, other: Any) -> bool:
    """Equal, reading numbers as numbers (NetBox's decimals arrive as floats) and lists and
    tuples alike (a cable's route).

    >>> same(1, 1.0), same([[1, 2]], [(1.0, 2.0)]), same(None, 0), same(True, 1)
    (True, True, False, False)
    """
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    if isinstance(one, int | float) and isinstance(other, int | float):
        return abs(one - other) <= 1e-9 * max(1.0, abs(one), abs(other))
    if isinstance(one, list | tuple) and isinstance(other, list | tuple):
        return len(one) == len(other) and all(same(a, b) for a, b in zip(one, other, strict=True))
    return type(one) is type(other) and bool(one == other)


def describe(changes: Iterable[Change]) -> list[str]:
    """The plan as lines a person reads, one per field changed.

    >>> describe([Change("site", "NTE1", "update", {"name": ("Nantes", "Nantes 1")})])
    ["~ site NTE1: name 'Nantes' → 'Nantes 1'"]
    """
    lines = []
    for change in changes:
        if change.action == "create":
            lines.append(f"+ {change.kind} {change.key}")
            continue
        for name, (before, after) in change.fields.items():
            lines.append(f"~ {change.kind} {change.key}: {name} {before!r} → {after!r}")
    return lines
