"""Ordering end to end, the acceptance of the ordering capability: an operator, with its own
token and nothing else, reads the catalogue, qualifies an E-Line between two of its hand-offs,
orders it, and `gigalis serve` — a real process with its job worker, order worker and
notification dispatcher — provisions it on the lab's FRR routers until the order is
completed, the circuit is active and the operator's CPEs ping each other. The operator's
callback receives every state change, in order, signed. A ``delete`` order then takes the
circuit away again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit, Organisation
from gigalis_nms.lab.cpe import add_cpe_vlan, remove_cpe_vlan
from gigalis_nms.lab.state import LabState
from gigalis_nms.provisioning.access import LabAccess
from gigalis_nms.provisioning.jobs import create_job
from gigalis_nms.provisioning.models import JobKind, JobState
from gigalis_nms.provisioning.run import run_job
from tests.callback_receiver import Receiver, verified
from tests.lab.test_provisioning_lab import A_END, OPERATOR, Z_END, Cpe, cpe_at, host_of, pings
from tests.processes import gigalis_serve

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "lab-test-secret-key-for-ordering-0123456789"
VLAN = 300
ADDRESSES = ("203.0.113.225/29", "203.0.113.226/29")  # the operator's side, in its CPEs
TMF = "/tmf-api"
ORDERS = f"{TMF}/productOrderingManagement/v4"
ORDER_DONE_SECONDS = 240  # the job worker's commit and confirm on two routers, with margin
FINAL = {"completed", "failed", "partial", "rejected", "cancelled"}


@pytest.fixture
def service(lab: LabState, inventory_engine: Engine, tmp_path: Path) -> Iterator[str]:
    """`gigalis serve` on a free loopback port, over the lab session's database, driving the
    lab's routers; stopped (by its pid) at the end."""
    environment = {
        **os.environ,
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATABASE_URL": inventory_engine.url.render_as_string(hide_password=False),
        "GIGALIS_SECRET_KEY": SECRET_KEY,
        "GIGALIS_DEVICES": "lab",
        "GIGALIS_LAB_RUNTIME_DIR": lab.runtime_dir,
        "GIGALIS_ORDER_POLL_SECONDS": "0.5",
        "GIGALIS_HUB_ALLOW_PRIVATE_CALLBACKS": "true",  # the receiver is on loopback
    }
    with gigalis_serve(environment, tmp_path / "serve.log") as url:
        yield url


@pytest.fixture
def operator_token(inventory_engine: Engine) -> str:
    with session_scope(inventory_engine, actor="test:lab") as session:
        operator = session.exec(
            select(Organisation).where(col(Organisation.name) == OPERATOR)
        ).one()
        _, token = create_token(
            session,
            name="lab ordering test",
            role=Role.OPERATOR,
            organisation_id=operator.id,
            secret_key=SECRET_KEY,
        )
    return token


@pytest.fixture
def cpes(lab: LabState) -> Iterator[tuple[Cpe, Cpe]]:
    a, z = cpe_at(lab, A_END[1], A_END[2]), cpe_at(lab, Z_END[1], Z_END[2])
    add_cpe_vlan(a.namespace, a.port, VLAN, ADDRESSES[0])
    add_cpe_vlan(z.namespace, z.port, VLAN, ADDRESSES[1])
    yield a, z
    remove_cpe_vlan(a.namespace, a.port, VLAN)
    remove_cpe_vlan(z.namespace, z.port, VLAN)


@pytest.fixture
def ordered(lab: LabState, inventory_engine: Engine) -> Iterator[list[str]]:
    """Circuits the test ordered; any still on the routers at the end is deprovisioned."""
    refs: list[str] = []
    yield refs
    with session_scope(inventory_engine, read_only=True) as session:
        left = [
            ref
            for ref in refs
            if session.exec(select(Circuit.status).where(col(Circuit.ref) == ref)).one()
            not in (CircuitStatus.TERMINATED, CircuitStatus.RESERVED, CircuitStatus.DESIGNED)
        ]
    if left:
        url = inventory_engine.url.render_as_string(hide_password=False)
        with session_scope(inventory_engine, actor="test:lab") as session:
            job_id = create_job(session, JobKind.DEPROVISION, left, actor="test:lab").id
        assert job_id is not None
        view = run_job(inventory_engine, job_id, LabAccess(url, lab, timeout=10))
        assert view.state is JobState.SUCCEEDED, view.error


def _item(offer: str, **product: Any) -> dict[str, Any]:
    return {"productOffering": {"id": offer}, "product": product}


def _eline_product() -> dict[str, Any]:
    return {
        "place": [{"role": "A", "id": A_END[0]}, {"role": "Z", "id": Z_END[0]}],
        "productCharacteristic": [
            {"name": "aVlan", "value": VLAN},
            {"name": "zVlan", "value": VLAN},
        ],
    }


def _wait_final(client: httpx.Client, order_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + ORDER_DONE_SECONDS
    while True:
        order: dict[str, Any] = client.get(f"{ORDERS}/productOrder/{order_id}").json()
        if order["state"] in FINAL or time.monotonic() > deadline:
            return order
        time.sleep(1)


def test_an_operator_orders_an_eline_over_http_and_its_cpes_ping(
    service: str,
    operator_token: str,
    cpes: tuple[Cpe, Cpe],
    ordered: list[str],
    inventory_engine: Engine,
) -> None:
    a, _z = cpes
    headers = {"Authorization": f"Bearer {operator_token}"}
    with (
        httpx.Client(base_url=service, headers=headers, timeout=30) as client,
        Receiver() as receiver,
    ):
        hub = client.post(f"{ORDERS}/hub", json={"callback": receiver.url})
        assert hub.status_code == 201, hub.text
        secret = hub.json()["secret"]

        offering = client.get(f"{TMF}/productCatalogManagement/v4/productOffering/eline-1g")
        assert offering.status_code == 200, offering.text

        qualification = client.post(
            f"{TMF}/productOfferingQualificationManagement/v4/productOfferingQualification",
            json={
                "holdCapacity": True,
                "productOfferingQualificationItem": [
                    {"id": "1", **_item("eline-1g", **_eline_product())}
                ],
            },
        )
        assert qualification.status_code == 201, qualification.text
        answer = qualification.json()
        assert answer["productOfferingQualificationItem"][0]["qualificationItemResult"] == (
            "qualified"
        ), answer

        body = {
            "externalId": "SFR-LAB-0001",
            "productOrderItem": [
                {
                    "id": "1",
                    "action": "add",
                    **_item("eline-1g", **_eline_product()),
                    "productOfferingQualificationItem": {
                        "id": "1",
                        "productOfferingQualificationId": answer["id"],
                    },
                }
            ],
        }
        created = client.post(
            f"{ORDERS}/productOrder", json=body, headers={"Idempotency-Key": "lab-order-1"}
        )
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        ref = created.json()["productOrderItem"][0]["product"]["id"]
        ordered.append(ref)
        # The same POST again is the same order, not a second one.
        again = client.post(
            f"{ORDERS}/productOrder", json=body, headers={"Idempotency-Key": "lab-order-1"}
        )
        assert again.json()["id"] == order_id

        order = _wait_final(client, order_id)
        assert order["state"] == "completed", order
        with session_scope(inventory_engine, read_only=True) as session:
            circuit = session.exec(select(Circuit).where(col(Circuit.ref) == ref)).one()
        assert circuit.status is CircuitStatus.ACTIVE
        assert pings(a, host_of(ADDRESSES[1]))

        # Every state change reached the callback, in order, signed with the secret.
        calls = receiver.wait_for(
            lambda calls: any(
                call.event["event"]["productOrder"]["state"] == "completed" for call in calls
            )
        )
        states = [
            call.event["event"]["productOrder"]["state"]
            for call in calls
            if call.event["event"]["productOrder"]["id"] == order_id
        ]
        assert states[0] == "acknowledged", states
        assert states[-1] == "completed", states
        assert "inProgress" in states
        assert all(verified(secret, call) for call in calls)
        event_ids = [int(call.event["eventId"]) for call in calls]
        assert event_ids == sorted(event_ids)

        # A delete order takes the circuit off the routers and terminates it.
        removal = client.post(
            f"{ORDERS}/productOrder",
            json={
                "productOrderItem": [
                    {
                        "id": "1",
                        "action": "delete",
                        "productOffering": {"id": "eline-1g"},
                        "product": {"id": ref},
                    }
                ]
            },
        )
        assert removal.status_code == 201, removal.text
        done = _wait_final(client, removal.json()["id"])
        assert done["state"] == "completed", done
        with session_scope(inventory_engine, read_only=True) as session:
            status = session.exec(select(Circuit.status).where(col(Circuit.ref) == ref)).one()
        assert status is CircuitStatus.TERMINATED
