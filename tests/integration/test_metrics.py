"""``/metrics`` read by Prometheus's own text parser (prometheus_client): what the collector
reads from the database at each scrape, in base units, and who may read it (both databases).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.engine import Engine

from tests.integration.conftest import Api, make_tokens
from tests.integration.ordering_support import (
    LINK_CODE,
    Network,
    api_over,
    build_network,
    order_body,
    place_order,
)


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine, capacity_mbps=10_000)


@pytest.fixture
def api(engine: Engine, network: Network) -> Iterator[Api]:
    with api_over(engine) as client:
        yield Api(client, make_tokens(engine, network))


def scrape(api: Api) -> dict[str, list[Sample]]:
    response = api.get("viewer", "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(samples: list[Sample], **labels: str) -> float:
    [found] = [s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    return found


def test_links_are_exported_in_base_units_and_follow_the_orders(
    api: Api, engine: Engine, network: Network
) -> None:
    before = scrape(api)
    capacity = before["gigalis_backbone_link_capacity_bits_per_second"]
    assert value(capacity, link=LINK_CODE) == 10_000 * 1_000_000
    assert value(before["gigalis_backbone_link_held_ratio"], link=LINK_CODE) == 0

    made = place_order(engine, order_body(), tenant=network.operator_a)
    after = scrape(api)
    held = after["gigalis_backbone_link_held_bits_per_second"]
    assert value(held, link=LINK_CODE) == 100 * 1_000_000  # eline-100m
    assert value(after["gigalis_backbone_link_held_ratio"], link=LINK_CODE) == 0.01
    assert value(after["gigalis_product_orders"], state="inProgress") == 1
    assert value(after["gigalis_product_orders"], state="completed") == 0
    assert made.order.id is not None


def test_each_circuit_has_one_info_series_describing_it(
    api: Api, engine: Engine, network: Network
) -> None:
    place_order(engine, order_body(), tenant=network.operator_a)
    metrics = scrape(api)
    [circuit] = metrics["gigalis_circuit_info"]
    assert circuit.name == "gigalis_circuit_info"
    assert circuit.value == 1
    assert circuit.labels["circuit"].startswith("GIG-ETH-")
    assert circuit.labels["operator"] == "Opérateur A"
    assert circuit.labels["offer"] == "eline-100m"
    assert circuit.labels["sla_class"] == "standard"
    assert circuit.labels["status"] == "designed"
    assert value(metrics["gigalis_circuits"], state="designed") == 1
    assert value(metrics["gigalis_provisioning_jobs"], state="queued") == 0


def test_only_staff_read_the_metrics(api: Api) -> None:
    assert api.get(None, "/metrics").status_code == 401
    assert api.get("operator_a", "/metrics").status_code == 403  # operators' names are there
    assert api.get("noc", "/metrics").status_code == 200
