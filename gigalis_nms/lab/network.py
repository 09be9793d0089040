"""The part of the inventory a lab is built from: routers with their ports, backbone links
and the operators' codes. Read from the database in one pass; the plan works on these
plain records, so that it can be tested on the YAML files without a database."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import InterfaceType, OrganisationKind
from gigalis_nms.inventory.tables import DEVICE, INTERFACE, LINK, ORGANISATION, SITE


@dataclass(frozen=True)
class Port:
    name: str  # as the inventory spells it: "eth1", "et-0/0/0", "HundredGigE0/0/0/0"
    type: str
    enabled: bool
    description: str | None

    @property
    def is_loopback(self) -> bool:
        return self.type == InterfaceType.LOOPBACK


@dataclass(frozen=True)
class Router:
    hostname: str
    site: str
    role: str  # core | aggregation | edge
    platform: str
    management_address: str | None
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class BackboneLink:
    code: str
    a_host: str
    a_port: str  # inventory names
    z_host: str
    z_port: str
    igp_metric: int | None


@dataclass(frozen=True)
class Network:
    sites: frozenset[str]  # every site code, with or without routers
    routers: tuple[Router, ...]
    links: tuple[BackboneLink, ...]
    operator_codes: frozenset[str]  # ARCEP codes of the operators, e.g. "ORNG"

    def router(self, hostname: str) -> Router:
        for router in self.routers:
            if router.hostname == hostname:
                return router
        raise KeyError(hostname)


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def read_network(engine: Engine) -> Network:
    with session_scope(engine, read_only=True) as session:
        sites = frozenset(session.scalars(sa.select(SITE.c.code)))
        operators = session.scalars(
            sa.select(ORGANISATION.c.arcep_code).where(
                ORGANISATION.c.kind == OrganisationKind.OPERATOR,
                ORGANISATION.c.arcep_code.is_not(None),
            )
        )
        operator_codes = frozenset(operators)
        ports: dict[int, list[Port]] = {}
        for row in session.execute(sa.select(INTERFACE).order_by(INTERFACE.c.id)):
            port = Port(row.name, _text(row.type), row.enabled, row.description)
            ports.setdefault(row.device_id, []).append(port)
        devices = session.execute(
            sa.select(DEVICE, SITE.c.code.label("site_code")).join(
                SITE, SITE.c.id == DEVICE.c.site_id
            )
        )
        routers = tuple(
            Router(
                row.hostname,
                row.site_code,
                _text(row.role),
                row.platform,
                row.management_address,
                tuple(ports.get(row.id, ())),
            )
            for row in devices
        )
        links = tuple(_links(session))
    return Network(sites, routers, links, operator_codes)


def _links(session: Session) -> list[BackboneLink]:
    a_if, z_if = INTERFACE.alias("a_if"), INTERFACE.alias("z_if")
    a_dev, z_dev = DEVICE.alias("a_dev"), DEVICE.alias("z_dev")
    query = (
        sa.select(
            LINK.c.code,
            LINK.c.igp_metric,
            a_dev.c.hostname.label("a_host"),
            a_if.c.name.label("a_port"),
            z_dev.c.hostname.label("z_host"),
            z_if.c.name.label("z_port"),
        )
        .join(a_if, a_if.c.id == LINK.c.a_interface_id)
        .join(a_dev, a_dev.c.id == a_if.c.device_id)
        .join(z_if, z_if.c.id == LINK.c.z_interface_id)
        .join(z_dev, z_dev.c.id == z_if.c.device_id)
    )
    return [
        BackboneLink(row.code, row.a_host, row.a_port, row.z_host, row.z_port, row.igp_metric)
        for row in session.execute(query)
    ]
