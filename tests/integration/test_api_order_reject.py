"""Rejecting an order over HTTP needs a reason: without a body, or without ``reason``, the
NOC is told so naming ``reason``, and the order is unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.api.ordering import REJECT_REASON_REQUIRED
from tests.integration.conftest import Api, make_tokens
from tests.integration.ordering_support import (
    Network,
    api_over,
    build_network,
    held_mbps,
    noc_catalogue_file,
    order_body,
)

pytestmark = pytest.mark.timeout(120)

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine)


@pytest.fixture
def noc_api(engine: Engine, network: Network, tmp_path: Path) -> Iterator[Api]:
    """The API over a catalogue whose eline-100m waits for the NOC."""
    with api_over(engine, noc_catalogue_file(tmp_path)) as client:
        yield Api(client, make_tokens(engine, network))


@pytest.mark.parametrize(
    "send",
    [
        {},  # no body at all
        {"json": {}},
        {"json": {"reason": None}},
        {"json": {"reason": "   "}},
    ],
    ids=["no-body", "no-reason", "null-reason", "blank-reason"],
)
def test_a_rejection_without_a_reason_is_refused_naming_reason(
    noc_api: Api, engine: Engine, network: Network, send: dict[str, Any]
) -> None:
    order = noc_api.post("operator_a", ORDERS, json=order_body()).json()
    reject = f"{ORDERS}/{order['id']}/reject"

    refused = noc_api.post("noc", reject, **send)

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["problems"] == [
        {"field": "reason", "reason": REJECT_REASON_REQUIRED}
    ]
    assert noc_api.get("noc", f"{ORDERS}/{order['id']}").json()["state"] == "acknowledged"
    assert held_mbps(engine, network.link)[0] == 100  # nothing freed

    rejected = noc_api.post("noc", reject, json={"reason": "no port this month"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"


def test_other_reject_body_mistakes_still_name_their_field(noc_api: Api) -> None:
    order = noc_api.post("operator_a", ORDERS, json=order_body()).json()
    reject = f"{ORDERS}/{order['id']}/reject"

    too_long = noc_api.post("noc", reject, json={"reason": "x" * 501})
    assert too_long.status_code == 422
    assert [problem["field"] for problem in too_long.json()["error"]["problems"]] == ["reason"]
    unknown = noc_api.post("noc", reject, json={"reason": "full", "colour": "red"})
    assert unknown.status_code == 422
    assert [problem["field"] for problem in unknown.json()["error"]["problems"]] == ["colour"]
