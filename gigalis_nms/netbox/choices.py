"""NetBox's choice fields as Gigalis values map onto them, the fixed objects made from enums
(device roles, circuit types) and the slugs made from names.

A choice reads as ``{value, label}`` and is written as the value. Where the two vocabularies
differ, the mapping is written here once and used both ways.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from gigalis_nms.inventory.enums import (
    CircuitStatus,
    DeviceRole,
    DeviceStatus,
    InterfaceType,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
)

Choice = dict[str, Any]


def label_of(value: str) -> str:
    """
    >>> label_of("decommissioning"), label_of("dark_fibre")
    ('Decommissioning', 'Dark fibre')
    """
    return value.replace("_", " ").capitalize()


def choice(value: str | None, labels: Mapping[str, str] | None = None) -> Choice | None:
    if value is None:
        return None
    return {"value": value, "label": (labels or {}).get(value) or label_of(value)}


def slugify(name: str) -> str:
    """A NetBox slug: ASCII letters, digits and hyphens.

    >>> slugify("Région Pays de la Loire"), slugify("Fibre Ouest Télécom (FOT)")
    ('region-pays-de-la-loire', 'fibre-ouest-telecom-fot')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "x"


def unique_slugs(names: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Slugs for ``(id, name)`` pairs, in id order; a slug already taken gets ``-<id>``.

    >>> unique_slugs([(2, "Orange"), (5, "ORANGE")])
    {2: 'orange', 5: 'orange-5'}
    """
    slugs: dict[int, str] = {}
    for object_id, name in sorted(names):
        slug = slugify(name)
        slugs[object_id] = slug if slug not in slugs.values() else f"{slug}-{object_id}"
    return slugs


# --- Statuses -----------------------------------------------------------------------------

# Sites and devices: NetBox's values are Gigalis's (a device's "retired" has no NetBox
# counterpart and is served as is).
SITE_STATUSES = [s.value for s in LifecycleStatus]
DEVICE_STATUSES = [s.value for s in DeviceStatus]

# Circuits: NetBox has no reserved/designed distinction; both read as planned.
CIRCUIT_STATUS_OUT = {
    CircuitStatus.RESERVED: "planned",
    CircuitStatus.DESIGNED: "planned",
    CircuitStatus.PROVISIONING: "provisioning",
    CircuitStatus.ACTIVE: "active",
    CircuitStatus.SUSPENDED: "offline",
    CircuitStatus.TERMINATED: "decommissioned",
}
CIRCUIT_STATUSES = ["planned", "provisioning", "active", "offline", "decommissioned"]


def circuit_statuses_in(values: Iterable[str]) -> list[CircuitStatus]:
    """The Gigalis statuses a filter on NetBox circuit statuses selects."""
    wanted = set(values)
    return [ours for ours, theirs in CIRCUIT_STATUS_OUT.items() if theirs in wanted]


# Cables: a fibre in service is a connected cable; retired fibre reads as decommissioning
# (NetBox keeps no retired cables).
CABLE_STATUS_OUT = {
    LifecycleStatus.PLANNED: "planned",
    LifecycleStatus.ACTIVE: "connected",
    LifecycleStatus.DECOMMISSIONING: "decommissioning",
    LifecycleStatus.RETIRED: "decommissioning",
}
CABLE_STATUSES = ["connected", "planned", "decommissioning"]
# Written, decommissioning means decommissioning; a retired cable keeps its status (writes.py).
CABLE_STATUS_IN = {
    "connected": LifecycleStatus.ACTIVE,
    "planned": LifecycleStatus.PLANNED,
    "decommissioning": LifecycleStatus.DECOMMISSIONING,
}

# Cable lengths: NetBox's units but inches, each in metres. Gigalis keeps whole metres and
# serves them in metres.
METRES_PER_UNIT = {
    "km": Decimal(1000),
    "m": Decimal(1),
    "cm": Decimal("0.01"),
    "mi": Decimal("1609.344"),
    "ft": Decimal("0.3048"),
}
LENGTH_UNIT_LABELS = {
    "km": "Kilometers",
    "m": "Meters",
    "cm": "Centimeters",
    "mi": "Miles",
    "ft": "Feet",
}


def metres(length: float, unit: str) -> int:
    """A length in ``unit`` as whole metres, half a metre rounded up.

    >>> metres(12.5, "km"), metres(1000, "ft"), metres(250, "cm"), metres(1, "mi")
    (12500, 305, 3, 1609)
    """
    exact = Decimal(str(length)) * METRES_PER_UNIT[unit]
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Providers are every organisation that is not an operator (operators are tenants).
PROVIDER_KINDS = (OrganisationKind.MEMBER, OrganisationKind.FIBRE_OWNER, OrganisationKind.SUPPLIER)

INTERFACE_TYPE_LABELS: dict[str, str] = {
    InterfaceType.VIRTUAL: "Virtual",
    InterfaceType.LOOPBACK: "Loopback",
    InterfaceType.BASE_T_1G: "1000BASE-T (1GE)",
    InterfaceType.SFP_1G: "SFP (1GE)",
    InterfaceType.SFPP_10G: "SFP+ (10GE)",
    InterfaceType.QSFP28_100G: "QSFP28 (100GE)",
    InterfaceType.QSFPDD_400G: "QSFP-DD (400GE)",
    InterfaceType.OTHER: "Other",
}


# --- Enums served as objects --------------------------------------------------------------


@dataclass(frozen=True)
class EnumObject:
    """A fixed object made from an enum member: id by enum order from 1, slug from the value."""

    id: int
    value: str
    name: str
    slug: str


def enum_objects(enum: type[StrEnum]) -> list[EnumObject]:
    """
    >>> [(o.id, o.slug, o.name) for o in enum_objects(ServiceType)][:2]
    [(1, 'dark-fibre', 'Dark fibre'), (2, 'ethernet-eline', 'Ethernet eline')]
    """
    return [
        EnumObject(index, member.value, label_of(member.value), member.value.replace("_", "-"))
        for index, member in enumerate(enum, start=1)
    ]


DEVICE_ROLES = enum_objects(DeviceRole)
CIRCUIT_TYPES = enum_objects(ServiceType)
