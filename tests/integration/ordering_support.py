"""What the order tests share: a small network whose one backbone link has a chosen room,
order bodies, tokens, and counting what was written.

The small network has two PoPs, NTE1 and ANG1, one router each with many spare customer
ports (so that ports never limit what a test orders), joined by one backbone link of
``capacity_mbps``: with 100 Mb/s E-Lines, room for exactly ``capacity_mbps / 100`` orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.api.app import create_app
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, default_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import OrganisationKind
from gigalis_nms.inventory.models import BackboneLink, Circuit
from gigalis_nms.ordering.bodies import OrderCreate
from gigalis_nms.ordering.models import (
    CancelProductOrder,
    OrderEvent,
    OrderStateChange,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.taking import CreatedOrder, create_order
from gigalis_nms.settings import Environment, Settings
from tests.integration import builders
from tests.integration.conftest import TEST_SECRET_KEY

LINK_CODE = "BL-NTE1-ANG1"
SPARE_PORTS = 24


@dataclass(frozen=True)
class Network:
    operator_a: int
    operator_b: int
    link: int


def build_network(
    engine: Engine, *, capacity_mbps: int = 500, spare_ports: int = SPARE_PORTS
) -> Network:
    with session_scope(engine, actor="test:network") as session:
        operator_a = builders.organisation(session, "Opérateur A", arcep_code="OPA")
        operator_b = builders.organisation(session, "Opérateur B", arcep_code="OPB")
        owner = builders.organisation(session, "Syndicat Fibre", OrganisationKind.FIBRE_OWNER)
        nte = builders.site(session, "NTE1", "44109", name="Nantes")
        ang = builders.site(session, "ANG1", "49007", name="Angers", latitude=47.47)
        routers = {
            "a": builders.device(session, "nte1-cr1", nte),
            "z": builders.device(session, "ang1-cr1", ang),
        }
        backbone = {end: builders.interface(session, r, "et-0/0/0") for end, r in routers.items()}
        for router in routers.values():
            for number in range(1, spare_ports + 1):
                builders.interface(session, router, f"xe-0/0/{number}")
        link = builders.link(session, LINK_CODE, backbone["a"], backbone["z"], capacity_mbps)
        builders.cable(session, "FC-NTE1-ANG1", nte, ang, owner)
        assert operator_a.id is not None
        assert operator_b.id is not None
        assert link.id is not None
        return Network(operator_a.id, operator_b.id, link.id)


def item(
    offer: str = "eline-100m",
    a: str = "NTE1",
    z: str | None = "ANG1",
    *,
    number: str = "1",
    **extra: Any,
) -> dict[str, Any]:
    places = [{"role": "A", "id": a}] + ([{"role": "Z", "id": z}] if z else [])
    return {
        "id": number,
        "action": "add",
        "productOffering": {"id": offer},
        "product": {"place": places},
        **extra,
    }


def order_body(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"productOrderItem": list(items) or [item()], **fields}


def place_order(
    engine: Engine,
    body: dict[str, Any],
    *,
    tenant: int | None,
    key: str | None = None,
    today: date | None = None,
    catalogue: Catalogue | None = None,
) -> CreatedOrder:
    with session_scope(engine, actor="test:operator") as session:
        return create_order(
            session,
            catalogue or default_catalogue(),
            OrderCreate.model_validate(body),
            tenant=tenant,
            actor="test:operator",
            idempotency_key=key,
            today=today,
        )


def held_mbps(engine: Engine, link_id: int) -> tuple[int, int]:
    """The link's held bandwidth and its capacity."""
    with session_scope(engine, read_only=True) as session:
        link = session.get(BackboneLink, link_id)
        assert link is not None
        return link.held_mbps, link.capacity_mbps


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows each table an order writes holds: 'nothing written' is these unchanged."""
    models = (
        ProductOrder,
        ProductOrderItem,
        OrderStateChange,
        OrderEvent,
        CancelProductOrder,
        Circuit,
    )
    with session_scope(engine, read_only=True) as session:
        return {
            model.__name__: session.scalar(sa.select(sa.func.count()).select_from(table_of(model)))
            or 0
            for model in models
        }


def order_row(engine: Engine, order_id: int) -> ProductOrder:
    with session_scope(engine, read_only=True) as session:
        found = session.get(ProductOrder, order_id)
        assert found is not None
        return found


def items_of(engine: Engine, order_id: int) -> list[ProductOrderItem]:
    with session_scope(engine, read_only=True) as session:
        query = select(ProductOrderItem).where(ProductOrderItem.order_id == order_id)
        return list(session.exec(query.order_by(ProductOrderItem.id)))  # type: ignore[arg-type]


def circuit_of(engine: Engine, circuit_id: int | None) -> Circuit | None:
    with session_scope(engine, read_only=True) as session:
        return session.get(Circuit, circuit_id) if circuit_id is not None else None


def noc_catalogue_file(folder: Path, offer_id: str = "eline-100m") -> Path:
    """A copy of the catalogue where ``offer_id`` waits for the NOC's acceptance."""
    text = REPOSITORY_CATALOGUE.read_text(encoding="utf-8")
    start = text.index(f"- id: {offer_id}\n")
    at = text.index("acceptance: automatic", start)
    changed = text[:at] + "acceptance: noc" + text[at + len("acceptance: automatic") :]
    path = folder / "catalogue.yaml"
    path.write_text(changed, encoding="utf-8")
    return path


def api_over(engine: Engine, catalogue_file: Path | None = None) -> TestClient:
    settings = Settings(
        environment=Environment.TEST,
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=TEST_SECRET_KEY,
        catalogue_file=catalogue_file,
    )
    return TestClient(create_app(settings, engine))
