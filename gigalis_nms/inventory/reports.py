"""Read-only views of the inventory for people: one typed row per object, with what it
uses and what is free, computed in the database rather than object by object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigalis_nms.inventory.enums import StrandState
from gigalis_nms.inventory.tables import (
    CABLE,
    CIRCUIT,
    DEVICE,
    INTERFACE,
    LINK,
    ORGANISATION,
    SITE,
    STRAND,
    STRAND_HOLDING,
)
from gigalis_nms.inventory.validators import departement_of


@dataclass(frozen=True)
class SiteRow:
    code: str
    name: str
    kind: str
    departement: str
    insee_code: str
    status: str
    devices: int


@dataclass(frozen=True)
class DeviceRow:
    hostname: str
    site: str
    role: str
    platform: str
    management_address: str | None
    status: str
    interfaces: int


@dataclass(frozen=True)
class CableRow:
    code: str
    a_site: str
    z_site: str
    length_m: int
    fibre_count: int
    used: int  # held by a link or a circuit
    faulty: int
    owner: str
    ownership: str
    iru_end_date: date | None
    status: str

    @property
    def free(self) -> int:
        return self.fibre_count - self.used - self.faulty


@dataclass(frozen=True)
class LinkRow:
    code: str
    a: str
    z: str
    capacity_mbps: int
    held_mbps: int
    status: str

    @property
    def free_mbps(self) -> int:
        return self.capacity_mbps - self.held_mbps


@dataclass(frozen=True)
class CircuitRow:
    ref: str
    operator: str
    service_type: str
    a_site: str
    z_site: str | None
    bandwidth_mbps: int | None
    status: str


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def _count(table: sa.Table, condition: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    return sa.select(sa.func.count()).select_from(table).where(condition).scalar_subquery()


def site_rows(session: Session, departement: str | None = None) -> list[SiteRow]:
    devices = _count(DEVICE, DEVICE.c.site_id == SITE.c.id)
    query = sa.select(SITE, devices.label("devices")).order_by(SITE.c.code)
    if departement:
        query = query.where(SITE.c.insee_code.startswith(departement))
    return [
        SiteRow(
            row.code,
            row.name,
            _text(row.kind),
            departement_of(row.insee_code),
            row.insee_code,
            _text(row.status),
            row.devices,
        )
        for row in session.execute(query)
    ]


def device_rows(session: Session, site: str | None = None) -> list[DeviceRow]:
    interfaces = _count(INTERFACE, INTERFACE.c.device_id == DEVICE.c.id)
    query = (
        sa.select(DEVICE, SITE.c.code.label("site"), interfaces.label("interfaces"))
        .join(SITE, SITE.c.id == DEVICE.c.site_id)
        .order_by(DEVICE.c.hostname)
    )
    if site:
        query = query.where(SITE.c.code == site)
    return [
        DeviceRow(
            row.hostname,
            row.site,
            _text(row.role),
            row.platform,
            row.management_address,
            _text(row.status),
            row.interfaces,
        )
        for row in session.execute(query)
    ]


def cable_rows(session: Session, site: str | None = None) -> list[CableRow]:
    a_site, z_site = SITE.alias("a_site"), SITE.alias("z_site")
    held = sa.select(STRAND_HOLDING.c.strand_id).scalar_subquery()
    used = _count(STRAND, (STRAND.c.cable_id == CABLE.c.id) & STRAND.c.id.in_(held))
    faulty = _count(
        STRAND, (STRAND.c.cable_id == CABLE.c.id) & (STRAND.c.state == StrandState.FAULTY)
    )
    query = (
        sa.select(
            CABLE,
            a_site.c.code.label("a_code"),
            z_site.c.code.label("z_code"),
            ORGANISATION.c.name.label("owner"),
            used.label("used"),
            faulty.label("faulty"),
        )
        .join(a_site, a_site.c.id == CABLE.c.a_site_id)
        .join(z_site, z_site.c.id == CABLE.c.z_site_id)
        .join(ORGANISATION, ORGANISATION.c.id == CABLE.c.owner_id)
        .order_by(CABLE.c.code)
    )
    if site:
        query = query.where(sa.or_(a_site.c.code == site, z_site.c.code == site))
    return [
        CableRow(
            row.code,
            row.a_code,
            row.z_code,
            row.length_m,
            row.fibre_count,
            row.used,
            row.faulty,
            row.owner,
            _text(row.ownership),
            row.iru_end_date,
            _text(row.status),
        )
        for row in session.execute(query)
    ]


def link_rows(session: Session) -> list[LinkRow]:
    a_if, z_if = INTERFACE.alias("a_if"), INTERFACE.alias("z_if")
    a_dev, z_dev = DEVICE.alias("a_dev"), DEVICE.alias("z_dev")
    query = (
        sa.select(
            LINK,
            (a_dev.c.hostname + ":" + a_if.c.name).label("a"),
            (z_dev.c.hostname + ":" + z_if.c.name).label("z"),
        )
        .join(a_if, a_if.c.id == LINK.c.a_interface_id)
        .join(a_dev, a_dev.c.id == a_if.c.device_id)
        .join(z_if, z_if.c.id == LINK.c.z_interface_id)
        .join(z_dev, z_dev.c.id == z_if.c.device_id)
        .order_by(LINK.c.code)
    )
    return [
        LinkRow(row.code, row.a, row.z, row.capacity_mbps, row.held_mbps, _text(row.status))
        for row in session.execute(query)
    ]


def circuit_rows(
    session: Session, operator: str | None = None, status: str | None = None
) -> list[CircuitRow]:
    a_site, z_site = SITE.alias("a_site"), SITE.alias("z_site")
    query = (
        sa.select(
            CIRCUIT,
            ORGANISATION.c.name.label("operator"),
            a_site.c.code.label("a_code"),
            z_site.c.code.label("z_code"),
        )
        .join(ORGANISATION, ORGANISATION.c.id == CIRCUIT.c.operator_id)
        .join(a_site, a_site.c.id == CIRCUIT.c.a_site_id)
        .outerjoin(z_site, z_site.c.id == CIRCUIT.c.z_site_id)
        .order_by(CIRCUIT.c.ref)
    )
    if operator:
        query = query.where(ORGANISATION.c.name == operator)
    if status:
        query = query.where(CIRCUIT.c.status == status)
    return [
        CircuitRow(
            row.ref,
            row.operator,
            _text(row.service_type),
            row.a_code,
            row.z_code,
            row.bandwidth_mbps,
            _text(row.status),
        )
        for row in session.execute(query)
    ]
