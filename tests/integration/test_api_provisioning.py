"""The provisioning API on both databases: designs, queued jobs run by the worker, and who
may do what. Routers are in memory (tests/integration/memory_routers.py, a stand-in: the
lab tests drive the real FRR routers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.api.app import create_app
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.provisioning.worker import JobWorker
from gigalis_nms.settings import Settings
from tests.integration.conftest import TEST_SECRET_KEY, Api
from tests.integration.memory_routers import Fleet, MemoryAccess, install
from tests.integration.test_provisioning_jobs import A_DEVICE, Z_DEVICE, network, new_circuit

__all__ = ["network"]  # the fixture, shared with the job tests


@pytest.fixture
def fleet() -> Fleet:
    routers = Fleet()
    install(routers)
    return routers


@pytest.fixture
def papi(network: Engine, settings: Settings, fleet: Fleet) -> Iterator[Api]:
    app = create_app(settings, network)
    worker = JobWorker(network, lambda: MemoryAccess(fleet), poll_seconds=0.2)
    worker.start()
    app.state.job_worker = worker
    tokens = {}
    with session_scope(network, actor="test") as session:
        sfr = session.exec(
            select(Organisation.id).where(col(Organisation.name) == "SFR Business")
        ).one()
        for name, role, organisation in (
            ("noc", Role.NOC, None),
            ("viewer", Role.VIEWER, None),
            ("operator", Role.OPERATOR, sfr),
        ):
            _, tokens[name] = create_token(
                session,
                name=name,
                role=role,
                organisation_id=organisation,
                secret_key=TEST_SECRET_KEY,
            )
    try:
        with TestClient(app) as client:
            yield Api(client, tokens)
    finally:
        worker.stop(timeout=30)


def wait_for_job(api: Api, job_id: int, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = api.get("noc", f"/api/v1/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_design_then_provision_through_the_api(network: Engine, papi: Api, fleet: Fleet) -> None:
    new_circuit(network, "GIG-ETH-900001")
    designed = papi.post("noc", "/api/v1/circuits/GIG-ETH-900001/design", json={"metric": "length"})
    assert designed.status_code == 200, designed.text
    design = designed.json()
    assert design["metric"] == "length"
    assert len(design["working"]["links"]) >= 1
    assert papi.get("viewer", "/api/v1/circuits/GIG-ETH-900001/design").json() == design
    # Given back and designed again: the circuit is reserved in between.
    assert papi.delete("noc", "/api/v1/circuits/GIG-ETH-900001/design").status_code == 204
    assert papi.get("noc", "/api/v1/circuits/GIG-ETH-900001/design").status_code == 404
    again = papi.post("noc", "/api/v1/circuits/GIG-ETH-900001/design", json={"metric": "length"})
    assert again.json()["working"] == design["working"]

    queued = papi.post("noc", "/api/v1/circuits/GIG-ETH-900001/provision")
    assert queued.status_code == 202, queued.text
    assert queued.json()["state"] in ("queued", "running", "succeeded")
    job = wait_for_job(papi, queued.json()["id"])
    assert job["state"] == "succeeded", job["error"]
    assert job["requested_by"].startswith("token:noc#")
    assert {d["hostname"]: d["outcome"] for d in job["devices"]} == {
        A_DEVICE: "committed",
        Z_DEVICE: "committed",
    }
    assert all(d["diff"] and d["rendered_config"] for d in job["devices"])
    circuit = papi.get("noc", "/api/v1/circuits", params={"ref": "GIG-ETH-900001"}).json()
    assert circuit["results"][0]["status"] == "active"

    listed = papi.get("noc", "/api/v1/jobs", params={"circuit": "GIG-ETH-900001"}).json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == job["id"]


def test_a_dry_run_through_the_api_changes_nothing(
    network: Engine, papi: Api, fleet: Fleet
) -> None:
    new_circuit(network, "GIG-ETH-900001")
    queued = papi.post(
        "noc", "/api/v1/circuits/GIG-ETH-900001/provision", params={"dry_run": "true"}
    )
    job = wait_for_job(papi, queued.json()["id"])
    assert job["state"] == "succeeded"
    assert job["dry_run"] is True
    assert {d["outcome"] for d in job["devices"]} == {"planned"}
    assert all(router.running == "" for router in fleet.routers.values())


@pytest.mark.parametrize(
    "case",
    [
        ("operator", "POST", "/api/v1/circuits/GIG-ETH-900001/provision", 403, None),
        ("operator", "GET", "/api/v1/jobs", 403, None),
        ("viewer", "POST", "/api/v1/circuits/GIG-ETH-900001/deprovision", 403, None),
        (None, "GET", "/api/v1/jobs/1", 401, None),
        ("noc", "POST", "/api/v1/circuits/GIG-ETH-999999/provision", 404, "ref"),
        (
            "noc",
            "POST",
            "/api/v1/circuits/GIG-ETH-900001/provision?dryrun=true",
            400,
            "query.dryrun",
        ),
        ("viewer", "GET", "/api/v1/jobs", 403, None),
        ("noc", "GET", "/api/v1/jobs/99999", 404, "job"),
        ("noc", "GET", "/api/v1/jobs/0", 422, None),
        ("noc", "POST", "/api/v1/circuits/GIG-ETH-900001/deprovision", 422, "status"),
        ("noc", "GET", "/api/v1/jobs?colour=red", 400, "query.colour"),
        ("noc", "GET", "/api/v1/jobs?state=sleeping", 422, None),
    ],
)
def test_refusals(
    network: Engine, papi: Api, case: tuple[str | None, str, str, int, str | None]
) -> None:
    who, method, path, status, field = case
    new_circuit(network, "GIG-ETH-900001")
    answer = papi.request(who, method, path)
    assert answer.status_code == status, answer.text
    if field is not None:
        assert answer.json()["error"]["problems"][0]["field"] == field
    assert papi.get("noc", "/api/v1/jobs").json()["count"] == 0


def test_a_body_on_provision_is_refused_not_ignored(network: Engine, papi: Api) -> None:
    new_circuit(network, "GIG-ETH-900001")
    answer = papi.post("noc", "/api/v1/circuits/GIG-ETH-900001/provision", json={"dry_run": True})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["problems"][0]["field"] == "body"
    assert papi.get("noc", "/api/v1/jobs").json()["count"] == 0
