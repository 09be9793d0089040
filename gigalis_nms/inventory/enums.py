"""Choice lists of the inventory. Values are what the API and the YAML files use."""

from enum import StrEnum


class OrganisationKind(StrEnum):
    MEMBER = "member"  # a public body of the syndicat mixte
    OPERATOR = "operator"  # a retail operator leasing capacity wholesale
    FIBRE_OWNER = "fibre_owner"  # owns fibre that Gigalis uses (IRU, lease)
    SUPPLIER = "supplier"


class SiteKind(StrEnum):
    POP = "pop"
    NRO = "nro"  # nœud de raccordement optique
    SHELTER = "shelter"
    HOSTING_ROOM = "hosting_room"  # salle d'hébergement
    CUSTOMER_SITE = "customer_site"


class LifecycleStatus(StrEnum):
    """Status of sites, cables and backbone links."""

    PLANNED = "planned"
    ACTIVE = "active"
    DECOMMISSIONING = "decommissioning"
    RETIRED = "retired"


class DeviceRole(StrEnum):
    CORE = "core"
    AGGREGATION = "aggregation"
    EDGE = "edge"


class DeviceStatus(StrEnum):
    PLANNED = "planned"
    STAGED = "staged"
    ACTIVE = "active"
    OFFLINE = "offline"
    DECOMMISSIONING = "decommissioning"
    RETIRED = "retired"


class InterfaceType(StrEnum):
    """Physical and logical interface types, spelt as NetBox spells them."""

    VIRTUAL = "virtual"
    LOOPBACK = "loopback"
    BASE_T_1G = "1000base-t"
    SFP_1G = "1000base-x-sfp"
    SFPP_10G = "10gbase-x-sfpp"
    QSFP28_100G = "100gbase-x-qsfp28"
    QSFPDD_400G = "400gbase-x-qsfpdd"
    OTHER = "other"


class CableOwnership(StrEnum):
    OWN = "own"  # built and owned by Gigalis
    IRU = "iru"  # indefeasible right of use, until iru_end_date
    LEASED = "leased"  # rented from the owner, usually yearly


class StrandState(StrEnum):
    """Physical condition of a strand; whether it is *used* is told by its holding."""

    AVAILABLE = "available"
    FAULTY = "faulty"
    OUT_OF_SERVICE = "out_of_service"


class ServiceType(StrEnum):
    DARK_FIBRE = "dark_fibre"
    ETHERNET_ELINE = "ethernet_eline"
    WAVELENGTH = "wavelength"
    HOSTING = "hosting"


# The middle part of a circuit reference, e.g. GIG-ETH-000123.
SERVICE_REF_CODES = {
    ServiceType.DARK_FIBRE: "DF",
    ServiceType.ETHERNET_ELINE: "ETH",
    ServiceType.WAVELENGTH: "WAV",
    ServiceType.HOSTING: "HST",
}


class CircuitStatus(StrEnum):
    RESERVED = "reserved"
    DESIGNED = "designed"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


# Which lifecycle moves are allowed; a terminated circuit is final.
CIRCUIT_TRANSITIONS: dict[CircuitStatus, frozenset[CircuitStatus]] = {
    CircuitStatus.RESERVED: frozenset({CircuitStatus.DESIGNED, CircuitStatus.TERMINATED}),
    CircuitStatus.DESIGNED: frozenset(
        {CircuitStatus.RESERVED, CircuitStatus.PROVISIONING, CircuitStatus.TERMINATED}
    ),
    CircuitStatus.PROVISIONING: frozenset(
        {CircuitStatus.DESIGNED, CircuitStatus.ACTIVE, CircuitStatus.TERMINATED}
    ),
    CircuitStatus.ACTIVE: frozenset({CircuitStatus.SUSPENDED, CircuitStatus.TERMINATED}),
    CircuitStatus.SUSPENDED: frozenset({CircuitStatus.ACTIVE, CircuitStatus.TERMINATED}),
    CircuitStatus.TERMINATED: frozenset(),
}
