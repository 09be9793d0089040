"""Inventory tables and their API model families (Base → table, Create, Update, Public).

The database holds the rules that must never break, whatever code writes to it: natural
keys are unique, a strand or a VLAN on a port is held at most once, and a backbone link's
held bandwidth never exceeds its capacity (a trigger keeps ``held_mbps`` in step with the
bandwidth holdings and a CHECK refuses the excess; see the first migration).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, EmailStr, computed_field
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow
from gigalis_nms.inventory import validators as check
from gigalis_nms.inventory.enums import (
    CableOwnership,
    CircuitStatus,
    DeviceRole,
    DeviceStatus,
    InterfaceType,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
    SiteKind,
    StrandState,
)

Siren = Annotated[str, AfterValidator(check.check_siren)]
SiteCode = Annotated[str, AfterValidator(check.check_site_code)]
Hostname = Annotated[str, AfterValidator(check.check_hostname)]
InseeCode = Annotated[str, AfterValidator(check.check_insee_code)]
IpAddress = Annotated[str, AfterValidator(check.check_ip_address)]
CircuitRef = Annotated[str, AfterValidator(check.check_circuit_ref)]
Vlan = Annotated[int, AfterValidator(check.check_vlan)]


# The Create and Update classes carry examples for the OpenAPI document, set as a plain dict:
# SQLModel types ``model_config`` as its own extension of pydantic's ConfigDict.


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated_at() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Timestamps(SQLModel):
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()


# --- Organisation -------------------------------------------------------------------------


class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=100, description="e.g. NOC, billing, sales")
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, unique=True, index=True)
    kind: OrganisationKind = Field(sa_column=enum_column(OrganisationKind, nullable=False))
    siren: Siren | None = Field(default=None, unique=True, max_length=9)
    arcep_code: str | None = Field(
        None, unique=True, max_length=16, description="operator code in ARCEP's register"
    )
    contacts: list[Contact] = Field(default_factory=list, sa_type=sa.JSON)


class Organisation(OrganisationBase, Timestamps, table=True):
    id: int | None = Field(default=None, primary_key=True)


class OrganisationCreate(OrganisationBase):
    """A new organisation; ``kind`` operator for a retail operator leasing capacity."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Fibre Ouest Télécom",
                    "kind": "operator",
                    "siren": "552081317",
                    "arcep_code": "FOT",
                    "contacts": [
                        {
                            "name": "NOC Fibre Ouest",
                            "role": "NOC",
                            "email": "noc@fibre-ouest.example.net",
                            "phone": "+33 2 00 00 00 01",
                        }
                    ],
                }
            ]
        }
    }


class OrganisationUpdate(SQLModel):
    """Fields to change; the others stay as they are."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "contacts": [
                        {"name": "Facturation", "role": "billing", "email": "factu@fot.example.net"}
                    ]
                }
            ]
        }
    }

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrganisationKind | None = None
    siren: Siren | None = None
    arcep_code: str | None = Field(default=None, max_length=16)
    contacts: list[Contact] | None = None


class OrganisationPublic(OrganisationBase):
    id: int
    created_at: datetime
    updated_at: datetime


# --- Site ---------------------------------------------------------------------------------


class SiteBase(SQLModel):
    code: SiteCode = Field(unique=True, index=True, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    kind: SiteKind = Field(sa_column=enum_column(SiteKind, nullable=False))
    address: str | None = Field(default=None, max_length=300)
    insee_code: InseeCode = Field(index=True, max_length=5, description="INSEE commune code")
    latitude: float = Field(ge=-90, le=90, description="WGS84 degrees north")
    longitude: float = Field(ge=-180, le=180, description="WGS84 degrees east")
    status: LifecycleStatus = Field(
        LifecycleStatus.ACTIVE, sa_column=enum_column(LifecycleStatus, nullable=False)
    )


class Site(SiteBase, Timestamps, table=True):
    id: int | None = Field(default=None, primary_key=True)


class SiteCreate(SiteBase):
    """A new site, located in WGS84 degrees and by its commune's INSEE code."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "LAV1",
                    "name": "Laval Saint-Nicolas",
                    "kind": "pop",
                    "address": "12 rue de la Fibre, 53000 Laval",
                    "insee_code": "53130",
                    "latitude": 48.0707,
                    "longitude": -0.7734,
                    "status": "active",
                }
            ]
        }
    }


class SiteUpdate(SQLModel):
    """Fields to change; the others stay as they are."""

    model_config = {"json_schema_extra": {"examples": [{"status": "decommissioning"}]}}

    code: SiteCode | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: SiteKind | None = None
    address: str | None = Field(default=None, max_length=300)
    insee_code: InseeCode | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    status: LifecycleStatus | None = None


class SitePublic(SiteBase):
    id: int
    # Read back as stored, not checked again: imported topologies hold a placeholder code.
    insee_code: str = Field(description="INSEE commune code")
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def departement(self) -> str:
        return check.departement_of(self.insee_code)


# --- Device and Interface -----------------------------------------------------------------


class DeviceBase(SQLModel):
    hostname: Hostname = Field(unique=True, index=True, max_length=253)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="RESTRICT")
    role: DeviceRole = Field(sa_column=enum_column(DeviceRole, nullable=False))
    platform: str = Field(
        min_length=1, max_length=32, regex=r"^[a-z0-9_-]+$", description="frr, junos, eos, iosxr…"
    )
    management_address: IpAddress | None = Field(default=None, max_length=45)
    serial: str | None = Field(default=None, max_length=64)
    status: DeviceStatus = Field(
        DeviceStatus.ACTIVE, sa_column=enum_column(DeviceStatus, nullable=False)
    )


class Device(DeviceBase, Timestamps, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Written by the NetBox dialect only (gigalis_nms.netbox), hence not in DeviceBase: the
    # network files and /api/v1 do not know device types.
    device_type_id: int | None = Field(
        default=None, foreign_key="device_type.id", index=True, ondelete="RESTRICT"
    )


class DeviceCreate(DeviceBase):
    """A new router or switch at a site."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "hostname": "lav1-core1",
                    "site_id": 3,
                    "role": "core",
                    "platform": "frr",
                    "management_address": "192.0.2.13",
                    "serial": "FRR-0013",
                    "status": "active",
                }
            ]
        }
    }


class DeviceUpdate(SQLModel):
    """Fields to change; the others stay as they are."""

    model_config = {"json_schema_extra": {"examples": [{"status": "offline"}]}}

    hostname: Hostname | None = None
    site_id: int | None = None
    role: DeviceRole | None = None
    platform: str | None = Field(default=None, min_length=1, max_length=32, regex=r"^[a-z0-9_-]+$")
    management_address: IpAddress | None = None
    serial: str | None = Field(default=None, max_length=64)
    status: DeviceStatus | None = None


class DevicePublic(DeviceBase):
    id: int
    created_at: datetime
    updated_at: datetime


class InterfaceBase(SQLModel):
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    name: str = Field(min_length=1, max_length=64)
    type: InterfaceType = Field(sa_column=enum_column(InterfaceType, nullable=False))
    speed_mbps: int | None = Field(default=None, gt=0, le=1_600_000)
    enabled: bool = True
    description: str | None = Field(default=None, max_length=200)


class Interface(InterfaceBase, Timestamps, table=True):
    __table_args__ = (sa.UniqueConstraint("device_id", "name", name="uq_interface_device_name"),)
    id: int | None = Field(default=None, primary_key=True)


class InterfaceCreate(InterfaceBase):
    """A new port of a device; its name is unique on the device."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "device_id": 7,
                    "name": "xe-0/0/1",
                    "type": "10gbase-x-sfpp",
                    "speed_mbps": 10000,
                    "enabled": True,
                    "description": "to ang1-core1 xe-0/0/1",
                }
            ]
        }
    }


class InterfaceUpdate(SQLModel):
    """Fields to change; the others stay as they are."""

    model_config = {
        "json_schema_extra": {
            "examples": [{"enabled": False, "description": "optic replaced, awaiting tests"}]
        }
    }

    name: str | None = Field(default=None, min_length=1, max_length=64)
    type: InterfaceType | None = None
    speed_mbps: int | None = Field(default=None, gt=0, le=1_600_000)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=200)


class InterfacePublic(InterfaceBase):
    id: int
    created_at: datetime
    updated_at: datetime


# --- Fibre --------------------------------------------------------------------------------


class FibreCableBase(SQLModel):
    code: str = Field(min_length=2, max_length=64, unique=True, index=True)
    a_site_id: int = Field(foreign_key="site.id", index=True, ondelete="RESTRICT")
    z_site_id: int = Field(foreign_key="site.id", index=True, ondelete="RESTRICT")
    length_m: int = Field(gt=0, le=1_000_000, description="route length, not crow-flies")
    fibre_count: int = Field(gt=0, le=1728)
    owner_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    ownership: CableOwnership = Field(sa_column=enum_column(CableOwnership, nullable=False))
    iru_end_date: date | None = Field(default=None, description="required for an IRU, else empty")
    route: list[list[float]] | None = Field(
        None, sa_type=sa.JSON, description="GeoJSON LineString coordinates, [lon, lat] pairs"
    )
    status: LifecycleStatus = Field(
        LifecycleStatus.ACTIVE, sa_column=enum_column(LifecycleStatus, nullable=False)
    )


class FibreCable(FibreCableBase, Timestamps, table=True):
    __tablename__ = "fibre_cable"
    __table_args__ = (
        sa.CheckConstraint("a_site_id <> z_site_id", name="distinct_ends"),
        sa.CheckConstraint("(ownership = 'iru') = (iru_end_date IS NOT NULL)", name="iru_end"),
    )
    id: int | None = Field(default=None, primary_key=True)


class FibreCableCreate(FibreCableBase):
    """A new cable between two different sites; its strands are made with it."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "FC-LAV1-ANG1",
                    "a_site_id": 3,
                    "z_site_id": 2,
                    "length_m": 78500,
                    "fibre_count": 72,
                    "owner_id": 1,
                    "ownership": "iru",
                    "iru_end_date": "2041-06-30",
                    "route": [[-0.7734, 48.0707], [-0.5632, 47.4784]],
                    "status": "active",
                }
            ]
        }
    }


class FibreCableUpdate(SQLModel):
    """Fields to change; ``iru_end_date`` goes with an ``iru`` ownership only."""

    model_config = {"json_schema_extra": {"examples": [{"ownership": "own", "iru_end_date": None}]}}

    length_m: int | None = Field(default=None, gt=0, le=1_000_000)
    owner_id: int | None = None
    ownership: CableOwnership | None = None
    iru_end_date: date | None = None
    route: list[list[float]] | None = None
    status: LifecycleStatus | None = None


class FibreCablePublic(FibreCableBase):
    id: int
    created_at: datetime
    updated_at: datetime


class FibreStrand(SQLModel, table=True):
    """One fibre of a cable, numbered from 1, with its tube and colour (French colour code)."""

    __tablename__ = "fibre_strand"
    __table_args__ = (sa.UniqueConstraint("cable_id", "number", name="uq_fibre_strand_number"),)
    id: int | None = Field(default=None, primary_key=True)
    cable_id: int = Field(foreign_key="fibre_cable.id", index=True, ondelete="CASCADE")
    number: int = Field(gt=0)
    tube: int = Field(gt=0)
    colour: str = Field(max_length=16)
    state: StrandState = Field(
        StrandState.AVAILABLE, sa_column=enum_column(StrandState, nullable=False)
    )


class FibreStrandPublic(SQLModel):
    id: int
    cable_id: int
    number: int
    tube: int
    colour: str
    state: StrandState
    held_by_circuit_id: int | None = None
    held_by_link_id: int | None = None


# --- Backbone links -----------------------------------------------------------------------


class BackboneLinkBase(SQLModel):
    code: str = Field(min_length=2, max_length=64, unique=True, index=True)
    a_interface_id: int = Field(foreign_key="interface.id", unique=True, ondelete="RESTRICT")
    z_interface_id: int = Field(foreign_key="interface.id", unique=True, ondelete="RESTRICT")
    capacity_mbps: int = Field(gt=0, le=1_600_000)
    igp_metric: int | None = Field(
        default=None, gt=0, le=16_777_215, description="IS-IS wide metric"
    )
    status: LifecycleStatus = Field(
        LifecycleStatus.ACTIVE, sa_column=enum_column(LifecycleStatus, nullable=False)
    )


class BackboneLink(BackboneLinkBase, Timestamps, table=True):
    __tablename__ = "backbone_link"
    __table_args__ = (
        sa.CheckConstraint("a_interface_id <> z_interface_id", name="distinct_ends"),
        sa.CheckConstraint("held_mbps >= 0 AND held_mbps <= capacity_mbps", name="capacity"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # Maintained by database triggers from bandwidth_holding; never written by the code.
    held_mbps: int = Field(default=0, nullable=False)


class BackboneLinkCreate(BackboneLinkBase):
    """A new backbone link between two ports, each carrying no other link."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "BL-LAV1-ANG1",
                    "a_interface_id": 21,
                    "z_interface_id": 8,
                    "capacity_mbps": 100000,
                    "igp_metric": 785,
                    "status": "active",
                }
            ]
        }
    }


class BackboneLinkUpdate(SQLModel):
    """Fields to change; the capacity cannot go below what circuits hold."""

    model_config = {"json_schema_extra": {"examples": [{"capacity_mbps": 400000}]}}

    capacity_mbps: int | None = Field(default=None, gt=0, le=1_600_000)
    igp_metric: int | None = Field(default=None, gt=0, le=16_777_215)
    status: LifecycleStatus | None = None


class BackboneLinkPublic(BackboneLinkBase):
    id: int
    held_mbps: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def free_mbps(self) -> int:
        return self.capacity_mbps - self.held_mbps


# --- Circuits and what they hold ----------------------------------------------------------


class CircuitBase(SQLModel):
    ref: CircuitRef = Field(unique=True, index=True, max_length=16)
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    service_type: ServiceType = Field(sa_column=enum_column(ServiceType, nullable=False))
    a_site_id: int = Field(foreign_key="site.id", index=True, ondelete="RESTRICT")
    a_interface_id: int | None = Field(
        # Indexed: design and qualification ask, port by port, which circuits end there.
        default=None,
        foreign_key="interface.id",
        index=True,
        ondelete="RESTRICT",
    )
    a_vlan: Vlan | None = None
    z_site_id: int | None = Field(
        default=None, foreign_key="site.id", index=True, ondelete="RESTRICT"
    )
    z_interface_id: int | None = Field(
        # Indexed: design and qualification ask, port by port, which circuits end there.
        default=None,
        foreign_key="interface.id",
        index=True,
        ondelete="RESTRICT",
    )
    z_vlan: Vlan | None = None
    bandwidth_mbps: int | None = Field(default=None, gt=0, le=400_000)
    protected: bool = False
    status: CircuitStatus = Field(
        CircuitStatus.RESERVED, sa_column=enum_column(CircuitStatus, nullable=False, index=True)
    )
    description: str | None = Field(default=None, max_length=200)
    in_service_since: date | None = Field(
        default=None,
        description="the Paris day the circuit went into service; set when it becomes active",
    )


class Circuit(CircuitBase, Timestamps, table=True):
    __table_args__ = (
        sa.CheckConstraint("a_vlan BETWEEN 1 AND 4094", name="a_vlan"),
        sa.CheckConstraint("z_vlan BETWEEN 1 AND 4094", name="z_vlan"),
    )
    id: int | None = Field(default=None, primary_key=True)


class CircuitCreate(CircuitBase):
    """A new circuit; its ports and VLANs at each end are held with it."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ref": "GIG-ETH-000123",
                    "operator_id": 5,
                    "service_type": "ethernet_eline",
                    "a_site_id": 3,
                    "a_interface_id": 22,
                    "a_vlan": 101,
                    "z_site_id": 2,
                    "z_interface_id": 9,
                    "z_vlan": 101,
                    "bandwidth_mbps": 1000,
                    "protected": False,
                    "status": "reserved",
                    "description": "Lycée Ambroise Paré, Laval",
                }
            ]
        }
    }


class CircuitUpdate(SQLModel):
    """Fields to change. ``status`` follows the circuit lifecycle; terminated releases
    everything the circuit holds; a new port or VLAN at an end moves its holding."""

    model_config = {
        "json_schema_extra": {
            "examples": [{"status": "designed"}, {"a_interface_id": 23, "a_vlan": 102}]
        }
    }

    a_interface_id: int | None = None
    a_vlan: Vlan | None = None
    z_interface_id: int | None = None
    z_vlan: Vlan | None = None
    bandwidth_mbps: int | None = Field(default=None, gt=0, le=400_000)
    protected: bool | None = None
    status: CircuitStatus | None = None
    description: str | None = Field(default=None, max_length=200)
    in_service_since: date | None = None


class CircuitPublic(CircuitBase):
    id: int
    created_at: datetime
    updated_at: datetime


class StrandHolding(SQLModel, table=True):
    """A strand held by a circuit (dark fibre) or by a backbone link, at one place in the
    holder's route. ``strand_id`` is unique: the database refuses a strand held twice."""

    __tablename__ = "strand_holding"
    __table_args__ = (
        sa.CheckConstraint("(circuit_id IS NULL) <> (backbone_link_id IS NULL)", name="one_holder"),
    )
    id: int | None = Field(default=None, primary_key=True)
    strand_id: int = Field(foreign_key="fibre_strand.id", unique=True, ondelete="RESTRICT")
    circuit_id: int | None = Field(
        default=None, foreign_key="circuit.id", index=True, ondelete="CASCADE"
    )
    backbone_link_id: int | None = Field(
        None, foreign_key="backbone_link.id", index=True, ondelete="CASCADE"
    )
    sequence: int = Field(ge=0, description="position of this strand's cable along the route")


class VlanHolding(SQLModel, table=True):
    """A VLAN on a port held by a circuit; unique per port."""

    __tablename__ = "vlan_holding"
    __table_args__ = (
        sa.UniqueConstraint("interface_id", "vlan", name="uq_vlan_holding_port_vlan"),
        sa.CheckConstraint("vlan BETWEEN 1 AND 4094", name="vlan_range"),
    )
    id: int | None = Field(default=None, primary_key=True)
    interface_id: int = Field(foreign_key="interface.id", ondelete="RESTRICT")
    vlan: int
    circuit_id: int = Field(foreign_key="circuit.id", index=True, ondelete="CASCADE")


class BandwidthHolding(SQLModel, table=True):
    """Bandwidth on a backbone link held by a circuit. Triggers add it to the link's
    ``held_mbps``, whose CHECK refuses more than the link's capacity."""

    __tablename__ = "bandwidth_holding"
    __table_args__ = (
        sa.UniqueConstraint("backbone_link_id", "circuit_id", name="uq_bandwidth_holding"),
        sa.CheckConstraint("bandwidth_mbps > 0", name="positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    backbone_link_id: int = Field(foreign_key="backbone_link.id", index=True, ondelete="RESTRICT")
    circuit_id: int = Field(foreign_key="circuit.id", index=True, ondelete="CASCADE")
    bandwidth_mbps: int


class HoldingPublic(BaseModel):
    kind: str  # "strand", "vlan" or "bandwidth"
    circuit_id: int | None
    backbone_link_id: int | None = None
    strand_id: int | None = None
    interface_id: int | None = None
    vlan: int | None = None
    bandwidth_mbps: int | None = None
