"""``/metrics`` read by Prometheus's own text parser (prometheus_client): what the collector
reads from the database at each scrape, in base units, and who may read it (both databases).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.models import (
    CircuitState,
    FailingKind,
    Incident,
    IncidentCircuit,
    MaintenanceWindow,
    ObservedState,
    SubjectKind,
)
from gigalis_nms.monitoring.sla import OutageCause
from tests.integration.conftest import Api, make_tokens
from tests.integration.ordering_support import (
    LINK_CODE,
    Network,
    api_over,
    build_network,
    item,
    items_of,
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


# --- the poller's view ----------------------------------------------------------------------


def active_circuit(engine: Engine, tenant: int, offer: str) -> tuple[int, str]:
    """A circuit ordered under ``offer`` and made active (as its provisioning would)."""
    made = place_order(engine, order_body(item(offer)), tenant=tenant)
    assert made.order.id is not None
    [ordered] = items_of(engine, made.order.id)
    assert ordered.circuit_id is not None
    with session_scope(engine, actor="test:metrics") as session:
        session.execute(
            sa.update(Circuit)
            .where(col(Circuit.id) == ordered.circuit_id)
            .values(status=CircuitStatus.ACTIVE)
        )
        ref = session.exec(select(Circuit.ref).where(Circuit.id == ordered.circuit_id)).one()
    return ordered.circuit_id, ref


def circuit_down(
    engine: Engine, circuit_id: int, since: datetime, *, window: MaintenanceWindow | None = None
) -> None:
    """The circuit in an outage since ``since``, as the poller records one."""
    with session_scope(engine, actor="test:metrics") as session:
        if window is not None:
            session.add(window)
            session.flush()
        incident = Incident(
            opened_at=since,
            failing_kind=FailingKind.INTERFACE,
            failing_id=circuit_id,
            failing=f"port of circuit {circuit_id}",
            cause=OutageCause.PLANNED if window is not None else OutageCause.UNPLANNED,
            maintenance_window_id=window.id if window is not None else None,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        session.add(
            IncidentCircuit(incident_id=incident.id, circuit_id=circuit_id, started_at=since)
        )
        session.add(
            CircuitState(
                circuit_id=circuit_id,
                state=ObservedState.DOWN,
                since=since,
                incident_id=incident.id,
            )
        )


def test_circuits_down_their_month_and_gtr_countdown(engine: Engine) -> None:
    network = build_network(engine, capacity_mbps=100_000)
    unplanned, unplanned_ref = active_circuit(engine, network.operator_a, "eline-10g")
    planned, planned_ref = active_circuit(engine, network.operator_a, "eline-10g")
    now = datetime.now(UTC)
    paris = now.astimezone(PARIS)
    month_start, _ = month_bounds(paris.year, paris.month)
    # Two hours ago at most, and never before the month: the figures stay exact on the 1st.
    unplanned_since = max(now - timedelta(hours=2), month_start)
    planned_since = max(now - timedelta(minutes=30), month_start)
    window = MaintenanceWindow(
        subject_kind=SubjectKind.DEVICE,
        subject_id=1,
        subject="nte1-cr1",
        starts_at=planned_since,
        ends_at=now + timedelta(hours=1),
        reason="optics",
        declared_by="test:noc",
        declared_at=planned_since - timedelta(days=2),
    )
    circuit_down(engine, unplanned, unplanned_since)
    circuit_down(engine, planned, planned_since, window=window)

    with api_over(engine) as client:
        metrics = scrape(Api(client, make_tokens(engine, network)))
        elapsed = (datetime.now(UTC) - unplanned_since).total_seconds()
        assert value(metrics["gigalis_circuit_up"], circuit=unplanned_ref) == 0
        assert value(metrics["gigalis_circuit_month_downtime_seconds"], circuit=unplanned_ref) == (
            pytest.approx(elapsed, abs=5)
        )
        # eline-10g is premium: a 4-hour GTR around the clock.
        restore = metrics["gigalis_circuit_outage_restore_seconds"]
        assert value(restore, circuit=unplanned_ref) == pytest.approx(elapsed, abs=5)
        assert value(metrics["gigalis_circuit_outage_gtr_seconds"], circuit=unplanned_ref) == 14_400
        # Planned work inside its window: excluded, and no GTR runs.
        planned_for = (datetime.now(UTC) - planned_since).total_seconds()
        excluded = metrics["gigalis_circuit_month_excluded_seconds"]
        assert value(excluded, circuit=planned_ref) == pytest.approx(planned_for, abs=5)
        assert value(metrics["gigalis_circuit_month_downtime_seconds"], circuit=planned_ref) == 0
        assert not [s for s in restore if s.labels["circuit"] == planned_ref]
        assert value(metrics["gigalis_incidents_open"], cause="unplanned") == 1
        assert value(metrics["gigalis_incidents_open"], cause="planned") == 1

        # The work is called off ten minutes ago while the circuit is still down: from then
        # on the outage counts, and its GTR runs from the cancellation.
        cancelled = max(now - timedelta(minutes=10), planned_since)
        with session_scope(engine, actor="test:noc") as session:
            session.execute(
                sa.update(MaintenanceWindow).values(cancelled_at=cancelled, cancelled_by="noc")
            )
        metrics = scrape(Api(client, make_tokens(engine, network)))
        since_cancelled = (datetime.now(UTC) - cancelled).total_seconds()
        downtime = metrics["gigalis_circuit_month_downtime_seconds"]
        assert value(downtime, circuit=planned_ref) == pytest.approx(since_cancelled, abs=5)
        restore = metrics["gigalis_circuit_outage_restore_seconds"]
        assert value(restore, circuit=planned_ref) == pytest.approx(since_cancelled, abs=5)
