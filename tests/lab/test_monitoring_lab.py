"""Monitoring against the lab's live routers: the acceptance of the monitoring capability.

Two E-Lines of one operator are provisioned between the same hand-off ports, one
unprotected and one protected, and a real `gigalis serve` polls the lab every two seconds.
A backbone link on both working paths is taken down inside its router's namespace: within
two poll intervals the unprotected circuit is down, an incident is open and ``/metrics``
says so, while the protected one stays up on its protection path. The link back up closes
the incident with the duration the link was down. The same outage again, inside a
maintenance window declared on the router, is planned: the month's SLA excludes it and
counts the first.

The link is always brought back up and the circuits deprovisioned, whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.models import BackboneLink, Circuit
from gigalis_nms.lab.names import router_netns
from gigalis_nms.lab.state import LabState
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.monitoring.models import LinkState, MonitoringEvent, ObservedState
from gigalis_nms.monitoring.poller import poll_once
from gigalis_nms.provisioning.access import LabAccess
from gigalis_nms.provisioning.design import design_of
from gigalis_nms.provisioning.models import JobKind, JobState
from tests.lab.test_provisioning_lab import new_circuit, run
from tests.processes import gigalis_serve

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "lab-test-secret-key-for-monitoring-0123456789"
POLL_SECONDS = 2.0
# A round reads nine routers over SSH in about a second; a change is seen by the first round
# that starts after it, so two intervals plus a round's length is the longest it may take.
SEEN_WITHIN = 2 * POLL_SECONDS + 3
UNPROTECTED, PROTECTED = "GIG-ETH-009301", "GIG-ETH-009302"
# The operator's hand-off at CHO1: from NTE1 both the working path (one link) and the
# protection path (by CLI1) stay inside the default lab's sites, so both are polled.
Z_END = ("CHO1", "cho1-cr1", "eth12")


@pytest.fixture
def access(lab: LabState, inventory_engine: Engine) -> LabAccess:
    url = inventory_engine.url.render_as_string(hide_password=False)
    return LabAccess(url, lab, timeout=10)


@pytest.fixture
def circuits(inventory_engine: Engine, access: LabAccess) -> Iterator[None]:
    """The two E-Lines, provisioned on the lab's routers; deprovisioned at the end."""
    for ref, vlan, protected in ((UNPROTECTED, 310, False), (PROTECTED, 311, True)):
        new_circuit(
            inventory_engine, ref, vlan, z_end=Z_END, protected=protected, bandwidth_mbps=100
        )
    made = run(inventory_engine, access, JobKind.PROVISION, [UNPROTECTED, PROTECTED])
    try:
        assert made.state is JobState.SUCCEEDED, made.error
        yield
    finally:
        done = run(inventory_engine, access, JobKind.DEPROVISION, [UNPROTECTED, PROTECTED])
        assert done.state is JobState.SUCCEEDED, done.error


@pytest.fixture
def noc_token(inventory_engine: Engine) -> str:
    with session_scope(inventory_engine, actor="test:lab") as session:
        _, token = create_token(
            session, name="lab monitoring test", role=Role.NOC, secret_key=SECRET_KEY
        )
    return token


@pytest.fixture
def service(
    lab: LabState, inventory_engine: Engine, circuits: None, tmp_path: Path
) -> Iterator[str]:
    """`gigalis serve` polling the lab every two seconds; stopped by its pid at the end."""
    environment = {
        **os.environ,
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATABASE_URL": inventory_engine.url.render_as_string(hide_password=False),
        "GIGALIS_SECRET_KEY": SECRET_KEY,
        "GIGALIS_DEVICES": "lab",
        "GIGALIS_LAB_RUNTIME_DIR": lab.runtime_dir,
        "GIGALIS_POLL_SECONDS": str(POLL_SECONDS),
        "GIGALIS_JOB_WORKER": "false",  # the circuits are provisioned by the fixture
        "GIGALIS_ORDER_WORKER": "false",
    }
    with gigalis_serve(environment, tmp_path / "serve.log") as url:
        yield url


def shared_working_link(engine: Engine) -> BackboneLink:
    """A backbone link on the working path of both circuits (that of the protected one is
    the shortest path too), and not on the protection path."""
    with session_scope(engine, read_only=True) as session:
        views = {
            ref: design_of(session, session.exec(select(Circuit).where(Circuit.ref == ref)).one())
            for ref in (UNPROTECTED, PROTECTED)
        }
        working = [set(views[ref].working.links) for ref in views]
        protect = views[PROTECTED].protect
        assert protect is not None, "the protected circuit has no protection path in the lab"
        shared = (working[0] & working[1]) - set(protect.links)
        assert shared, f"no link shared by both working paths: {working}"
        code = sorted(shared)[0]
        return session.exec(select(BackboneLink).where(BackboneLink.code == code)).one()


@dataclass(frozen=True)
class LinkControl:
    """The chosen backbone link, taken down or up at its A-end port inside the router's
    namespace (the far end then loses carrier too)."""

    code: str
    a_host: str
    namespace: str
    port: str

    def set(self, *, up: bool) -> None:
        subprocess.run(
            ["ip", "-n", self.namespace, "link", "set", self.port, "up" if up else "down"],
            check=True,
        )


@pytest.fixture
def link(lab: LabState, inventory_engine: Engine, circuits: None) -> Iterator[LinkControl]:
    """A link on both circuits' working paths; always up again at the end."""
    chosen = shared_working_link(inventory_engine)
    built = next(item for item in lab.links if item.code == chosen.code)
    control = LinkControl(chosen.code, built.a_host, router_netns(built.a_host), built.a_port)
    try:
        yield control
    finally:
        control.set(up=True)


def metrics(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def circuit_metric(samples: dict[Any, float], name: str, ref: str) -> float | None:
    return samples.get((name, (("circuit", ref),)))


def wait_for(what: str, check: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.25)


def open_incident_of(client: httpx.Client, ref: str) -> dict[str, Any] | None:
    response = client.get("/api/v1/incidents", params={"state": "open", "circuit": ref})
    assert response.status_code == 200, response.text
    incidents = response.json()["results"]
    return incidents[0] if incidents else None


def incident(client: httpx.Client, incident_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outage_of(body: dict[str, Any], ref: str) -> dict[str, Any]:
    return next(outage for outage in body["outages"] if outage["circuit"] == ref)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_link_down_opens_an_incident_within_two_polls_and_planned_work_is_excluded(
    service: str, noc_token: str, link: LinkControl
) -> None:
    headers = {"Authorization": f"Bearer {noc_token}"}
    with httpx.Client(base_url=service, headers=headers, timeout=30) as client:
        up = lambda: (  # noqa: E731 - a condition to wait for
            (samples := metrics(client))
            and circuit_metric(samples, "gigalis_circuit_up", UNPROTECTED) == 1
            and circuit_metric(samples, "gigalis_circuit_up", PROTECTED) == 1
        )
        wait_for("both circuits seen up", up, 30)

        # --- an unplanned cut ---------------------------------------------------------
        link.set(up=False)
        cut_at = datetime.now(UTC)
        seen = wait_for(
            "an open incident for the unprotected circuit",
            lambda: open_incident_of(client, UNPROTECTED),
            SEEN_WITHIN,
        )
        samples = metrics(client)
        assert circuit_metric(samples, "gigalis_circuit_up", UNPROTECTED) == 0
        assert circuit_metric(samples, "gigalis_circuit_up", PROTECTED) == 1
        assert circuit_metric(samples, "gigalis_circuit_on_protection", PROTECTED) == 1
        assert samples[("gigalis_incidents_open", (("cause", "unplanned"),))] >= 1
        assert seen["cause"] == "unplanned"
        assert link.code in seen["failing"]
        assert open_incident_of(client, PROTECTED) is None

        time.sleep(6)
        link.set(up=True)
        restored_at = datetime.now(UTC)
        wait_for(
            "the incident closed",
            lambda: incident(client, seen["id"])["closed_at"] is not None,
            SEEN_WITHIN,
        )
        closed = incident(client, seen["id"])
        outage = outage_of(closed, UNPROTECTED)
        started, ended = instant(outage["started_at"]), instant(outage["ended_at"])
        # Seen by the first round after each change: never before it, at most one poll
        # interval and a round after it.
        slack = timedelta(seconds=POLL_SECONDS + 3)
        assert cut_at - timedelta(seconds=1) <= started <= cut_at + slack
        assert restored_at - timedelta(seconds=1) <= ended <= restored_at + slack
        assert abs((ended - started) - (restored_at - cut_at)) <= slack
        wait_for(
            "the unprotected circuit up again",
            lambda: circuit_metric(metrics(client), "gigalis_circuit_up", UNPROTECTED) == 1,
            SEEN_WITHIN,
        )

        # --- the same cut inside a maintenance window ------------------------------------
        now = datetime.now(UTC)
        declared = client.post(
            "/api/v1/maintenance-windows",
            json={
                "subject_kind": "device",
                "subject": link.a_host,
                "starts_at": (now + timedelta(seconds=2)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "reason": "optics replacement (lab test)",
            },
        )
        assert declared.status_code in (200, 201), declared.text
        assert UNPROTECTED in {c["ref"] for c in declared.json()["circuits"]}
        time.sleep(3)  # inside the window
        link.set(up=False)
        planned = wait_for(
            "a planned incident",
            lambda: open_incident_of(client, UNPROTECTED),
            SEEN_WITHIN,
        )
        assert planned["cause"] == "planned"
        assert planned["id"] != seen["id"]
        time.sleep(4)
        link.set(up=True)
        wait_for(
            "the planned incident closed",
            lambda: incident(client, planned["id"])["closed_at"] is not None,
            SEEN_WITHIN,
        )
        planned_outage = outage_of(incident(client, planned["id"]), UNPROTECTED)

        # --- the month's SLA: the first outage counted, the planned one excluded ---------
        month = datetime.now(UTC).astimezone(PARIS).strftime("%Y-%m")
        report = client.get("/api/v1/sla/report", params={"month": month})
        assert report.status_code == 200, report.text
        figures = next(c for c in report.json()["circuits"] if c["ref"] == UNPROTECTED)
        counted = (ended - started).total_seconds()
        excluded = (
            instant(planned_outage["ended_at"]) - instant(planned_outage["started_at"])
        ).total_seconds()
        assert figures["downtime_seconds"] == pytest.approx(counted, abs=0.01)
        assert figures["excluded_seconds"] == pytest.approx(excluded, abs=0.01)


def test_a_router_that_stops_answering_is_silent_not_down(
    lab: LabState, inventory_engine: Engine
) -> None:
    """Its management network cut, a router costs the round its timeout and is reported
    silent with the reason; the others are read as usual and its links, seen up from their
    other ends, stay up."""
    url = inventory_engine.url.render_as_string(hide_password=False)
    access = LabAccess(url, lab, timeout=3)
    cut = "lhb1-ar1"
    namespace = router_netns(cut)
    poll_once(inventory_engine, access)  # a reference round with every router answering
    subprocess.run(["ip", "-n", namespace, "link", "set", "mgmt0", "down"], check=True)
    try:
        started = time.monotonic()
        summary = poll_once(inventory_engine, access)
        took = time.monotonic() - started
    finally:
        subprocess.run(["ip", "-n", namespace, "link", "set", "mgmt0", "up"], check=True)
    after = poll_once(inventory_engine, access)

    assert summary.failed_devices == [cut]
    assert summary.devices == len(lab.routers)
    assert took < 3 * 3  # the timeout, not NAPALM's default minute
    assert after.failed_devices == []
    with session_scope(inventory_engine, read_only=True) as session:
        query = select(BackboneLink.code, LinkState.state).join(
            LinkState, col(LinkState.backbone_link_id) == col(BackboneLink.id)
        )
        links = dict(session.exec(query).all())
        silences = session.exec(
            select(MonitoringEvent.to_state, MonitoringEvent.detail)
            .where(MonitoringEvent.kind == "device", MonitoringEvent.subject == cut)
            .order_by(col(MonitoringEvent.id))
        ).all()
    assert links["BL-CHO1-LHB1"] is ObservedState.UP
    assert [state for state, _ in silences][-2:] == ["silent", "answering"]
    assert silences[-2][1]  # the reason it gave none
