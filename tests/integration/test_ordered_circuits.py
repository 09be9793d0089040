"""Circuits opened by orders: references never given twice, hosting without a bandwidth,
and an operator's VLAN-based E-Lines sharing the port its first one took (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import ServiceType
from gigalis_nms.ordering.circuits import CircuitRequest, open_circuit, open_designed_circuit
from gigalis_nms.ordering.requests import site_ids_by_code
from tests.integration.ordering_support import (
    Network,
    build_network,
    circuit_of,
    item,
    items_of,
    order_body,
    place_order,
)


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine, capacity_mbps=10_000)


def _site_ids(engine: Engine) -> tuple[int, int]:
    with session_scope(engine, read_only=True) as session:
        sites = site_ids_by_code(session, {"NTE1", "ANG1"})
    return sites["NTE1"], sites["ANG1"]


def _request(network: Network, engine: Engine, **fields: object) -> CircuitRequest:
    a, z = _site_ids(engine)
    values: dict[str, object] = {
        "operator_id": network.operator_a,
        "service_type": ServiceType.ETHERNET_ELINE,
        "a_site_id": a,
        "z_site_id": z,
        "bandwidth_mbps": 100,
        **fields,
    }
    return CircuitRequest(**values)  # type: ignore[arg-type]


def test_a_reference_is_never_given_twice(engine: Engine, network: Network) -> None:
    with session_scope(engine, actor="test") as session:
        first = open_circuit(session, _request(network, engine))
        first_ref, first_id = first.ref, first.id
    assert first_id is not None
    with session_scope(engine, actor="test") as session:
        service.delete_object(session, service.CIRCUITS, first_id)
    with session_scope(engine, actor="test") as session:
        second = open_circuit(session, _request(network, engine))
    number = int(first_ref.rsplit("-", 1)[1])
    assert second.ref == f"GIG-ETH-{number + 1:06d}"


def test_hosting_is_opened_without_a_bandwidth(engine: Engine, network: Network) -> None:
    request = _request(
        network, engine, service_type=ServiceType.HOSTING, z_site_id=None, bandwidth_mbps=None
    )
    with session_scope(engine, actor="test") as session:
        rack = open_designed_circuit(session, request, actor="test")
    assert rack.ref.startswith("GIG-HST-")
    assert rack.bandwidth_mbps is None


def test_an_operators_elines_share_the_port_its_first_one_took(
    engine: Engine, network: Network
) -> None:
    """No port of the site names the operator: the first E-Line takes a free one, and the
    next ones are VLANs on it rather than a port each."""
    ends = []
    for _ in range(3):
        created = place_order(engine, order_body(item()), tenant=network.operator_a)
        assert created.order.id is not None
        circuit = circuit_of(engine, items_of(engine, created.order.id)[0].circuit_id)
        assert circuit is not None
        ends.append((circuit.a_interface_id, circuit.a_vlan))
    port = ends[0][0]
    assert ends == [(port, 2), (port, 3), (port, 4)]

    # Another operator does not share it.
    other = place_order(engine, order_body(item()), tenant=network.operator_b)
    assert other.order.id is not None
    theirs = circuit_of(engine, items_of(engine, other.order.id)[0].circuit_id)
    assert theirs is not None
    assert theirs.a_interface_id != port
