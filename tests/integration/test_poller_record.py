"""What poll rounds write (monitoring/record.py): states, events, incidents opened, joined
and closed, planned inside a maintenance window — on the repository's inventory, with the
routers' answers written out here (the live poll of real routers is in the lab tests).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gigalis_nms import cli
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import BackboneLink, Circuit, Device, Interface
from gigalis_nms.monitoring.derive import (
    DeviceReading,
    PortReading,
)
from gigalis_nms.monitoring.maintenance import declare_window
from gigalis_nms.monitoring.models import (
    CircuitState,
    DevicePoll,
    FailingKind,
    Incident,
    IncidentCircuit,
    LinkState,
    MonitoringEvent,
    ObservedState,
    PollerStatus,
    SubjectKind,
)
from gigalis_nms.monitoring.poller import record_readings
from gigalis_nms.monitoring.record import RoundSummary
from gigalis_nms.monitoring.sla import OutageCause
from tests.conftest import ROOT

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
LINK = "BL-CHO1-LHB1"  # on the path of GIG-ETH-000013 (CHO1 → LHB1), unprotected


@pytest.fixture
def network(engine: Engine) -> Engine:
    load_inventory(engine, ROOT / "inventory", actor="test:poller")
    return engine


def every_port_up(session: Session) -> dict[str, DeviceReading]:
    rows = session.exec(select(Device.hostname, Interface.name).join(Interface)).all()
    ports: dict[str, dict[str, PortReading]] = {}
    for hostname, name in rows:
        ports.setdefault(hostname, {})[name] = PortReading(name, enabled=True, up=True)
    return {hostname: DeviceReading(hostname, True, ports=seen) for hostname, seen in ports.items()}


def with_port_down(
    readings: dict[str, DeviceReading], hostname: str, name: str
) -> dict[str, DeviceReading]:
    reading = readings[hostname]
    ports = dict(reading.ports, **{name: PortReading(name, enabled=True, up=False)})
    return readings | {hostname: DeviceReading(hostname, True, ports=ports)}


def poll_round(engine: Engine, readings: dict[str, DeviceReading], at: datetime) -> RoundSummary:
    with session_scope(engine, actor="test:poller") as session:
        return record_readings(session, readings, now=at, seconds=0.5)


def link_end(engine: Engine, code: str) -> tuple[str, str]:
    with session_scope(engine, read_only=True) as session:
        link = session.exec(select(BackboneLink).where(BackboneLink.code == code)).one()
        interface = session.get(Interface, link.a_interface_id)
        assert interface is not None
        device = session.get(Device, interface.device_id)
        assert device is not None
        return device.hostname, interface.name


def circuits_over(engine: Engine, code: str) -> set[str]:
    """Unprotected active circuits holding bandwidth on the link (their path)."""
    from gigalis_nms.inventory.models import BandwidthHolding  # noqa: PLC0415

    with session_scope(engine, read_only=True) as session:
        refs = session.exec(
            select(Circuit.ref)
            .join(BandwidthHolding, col(BandwidthHolding.circuit_id) == col(Circuit.id))
            .join(BackboneLink, col(BackboneLink.id) == col(BandwidthHolding.backbone_link_id))
            .where(
                BackboneLink.code == code,
                Circuit.status == "active",
                col(Circuit.protected).is_(False),
            )
        ).all()
    return set(refs)


def test_first_round_records_every_state_then_a_quiet_round_records_nothing(
    network: Engine,
) -> None:
    with session_scope(network, read_only=True) as session:
        readings = every_port_up(session)
    first = poll_round(network, readings, T0)
    second = poll_round(network, readings, T0 + timedelta(minutes=1))

    assert first.events > 0
    assert second.events == 0
    assert first.incidents_opened == second.incidents_opened == []
    with session_scope(network, read_only=True) as session:
        states = {row.state for row in session.exec(select(CircuitState))}
        assert states == {ObservedState.UP}
        assert {row.state for row in session.exec(select(LinkState))} == {ObservedState.UP}
        status = session.get(PollerStatus, 1)
        assert status is not None
        assert status.rounds_total == 2
        assert status.last_round_started_at == T0 + timedelta(minutes=1)


def test_a_link_down_opens_one_incident_for_its_circuits_and_closes_it_when_back(
    network: Engine,
) -> None:
    with session_scope(network, read_only=True) as session:
        healthy = every_port_up(session)
    hostname, port = link_end(network, LINK)
    broken = with_port_down(healthy, hostname, port)
    affected = circuits_over(network, LINK)
    assert "GIG-ETH-000013" in affected

    poll_round(network, healthy, T0)
    opened = poll_round(network, broken, T0 + timedelta(minutes=1))
    still = poll_round(network, broken, T0 + timedelta(minutes=2))
    back = poll_round(network, healthy, T0 + timedelta(minutes=47, seconds=30))

    assert len(opened.incidents_opened) == 1
    assert still.incidents_opened == still.incidents_closed == []
    assert back.incidents_closed == opened.incidents_opened
    with session_scope(network, read_only=True) as session:
        incident = session.get(Incident, opened.incidents_opened[0])
        assert incident is not None
        assert incident.failing_kind is FailingKind.LINK
        assert incident.failing.startswith(f"backbone link {LINK} (")
        assert incident.cause is OutageCause.UNPLANNED
        assert incident.opened_at == T0 + timedelta(minutes=1)
        assert incident.closed_at == T0 + timedelta(minutes=47, seconds=30)
        outages = session.exec(
            select(Circuit.ref, IncidentCircuit.started_at, IncidentCircuit.ended_at)
            .join(Circuit, col(Circuit.id) == col(IncidentCircuit.circuit_id))
            .where(IncidentCircuit.incident_id == incident.id)
        ).all()
        assert {ref for ref, _, _ in outages} == affected
        assert {end - start for _, start, end in outages if end} == {
            timedelta(minutes=46, seconds=30)
        }
        changes = session.exec(
            select(MonitoringEvent.from_state, MonitoringEvent.to_state)
            .where(MonitoringEvent.kind == "circuit", MonitoringEvent.subject == "GIG-ETH-000013")
            .order_by(col(MonitoringEvent.id))
        ).all()
        assert changes == [(None, "up"), ("up", "down"), ("down", "up")]


def test_an_outage_inside_a_maintenance_window_is_planned(network: Engine) -> None:
    with session_scope(network, read_only=True) as session:
        healthy = every_port_up(session)
    hostname, port = link_end(network, LINK)
    with session_scope(network, actor="test:noc") as session:
        window = declare_window(
            session,
            subject_kind=SubjectKind.DEVICE,
            subject=hostname,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=2),
            reason="line card replacement",
            reference="CHG-1234",
            actor="test:noc",
            now=T0 - timedelta(days=2),  # declared ahead of the work
        )
        window_id = window.id

    poll_round(network, healthy, T0)
    opened = poll_round(network, with_port_down(healthy, hostname, port), T0 + timedelta(minutes=5))

    with session_scope(network, read_only=True) as session:
        incident = session.get(Incident, opened.incidents_opened[0])
        assert incident is not None
        assert incident.cause is OutageCause.PLANNED
        assert incident.maintenance_window_id == window_id


def test_a_silent_router_keeps_the_outage_open_and_is_recorded(network: Engine) -> None:
    with session_scope(network, read_only=True) as session:
        healthy = every_port_up(session)
    hostname, port = link_end(network, LINK)
    broken = with_port_down(healthy, hostname, port)
    # GIG-ETH-000013 ends on cho1-cr1, which stops answering while the link is still down:
    # its state is unknown, and its outage goes on (the SLA counts from the last state seen).
    silent = broken | {
        "cho1-cr1": DeviceReading("cho1-cr1", False, error="TimeoutError: timed out")
    }

    poll_round(network, healthy, T0)
    opened = poll_round(network, broken, T0 + timedelta(minutes=1))
    unknown = poll_round(network, silent, T0 + timedelta(minutes=2))
    back = poll_round(network, healthy, T0 + timedelta(minutes=3))

    assert unknown.failed_devices == ["cho1-cr1"]
    assert unknown.incidents_closed == []
    assert back.incidents_closed == opened.incidents_opened
    with session_scope(network, read_only=True) as session:
        state = session.exec(
            select(CircuitState).join(Circuit).where(Circuit.ref == "GIG-ETH-000013")
        ).one()
        assert state.state is ObservedState.UP
        outage = session.exec(
            select(IncidentCircuit).join(Circuit).where(Circuit.ref == "GIG-ETH-000013")
        ).one()
        assert outage.ended_at is not None
        assert outage.ended_at - outage.started_at == timedelta(minutes=2)
        device = session.exec(select(Device).where(Device.hostname == "cho1-cr1")).one()
        poll = session.get(DevicePoll, device.id)
        assert poll is not None
        assert poll.reachable  # answering again
        assert poll.errors_total == 1
        status = session.get(PollerStatus, 1)
        assert status is not None
        assert status.device_errors_total == 1
        silences = session.exec(
            select(MonitoringEvent.to_state, MonitoringEvent.detail)
            .where(MonitoringEvent.kind == "device", MonitoringEvent.subject == "cho1-cr1")
            .order_by(col(MonitoringEvent.id))
        ).all()
        assert silences == [
            ("answering", None),
            ("silent", "TimeoutError: timed out"),
            ("answering", None),
        ]


def test_the_command_line_shows_what_is_down_and_the_changes(
    network: Engine, runner: CliRunner
) -> None:
    with session_scope(network, read_only=True) as session:
        healthy = every_port_up(session)
    hostname, port = link_end(network, LINK)
    poll_round(network, healthy, T0)
    poll_round(network, with_port_down(healthy, hostname, port), T0 + timedelta(minutes=1))

    status = runner.invoke(cli.app, ["monitor", "status"])
    events = runner.invoke(cli.app, ["monitor", "events", "--kind", "circuit", "--limit", "500"])
    bad = runner.invoke(cli.app, ["monitor", "events", "--kind", "router"])

    assert status.exit_code == 0, status.output
    assert f"{LINK}" in status.output
    assert f"{hostname} {port} is down" in status.output
    assert "GIG-ETH-000013" in status.output
    assert "2 rounds in all" in status.output
    assert events.exit_code == 0, events.output
    assert "GIG-ETH-000013" in events.output
    assert bad.exit_code == 1
    assert "--kind: 'router' is not one of" in bad.output


def test_polling_on_demand_without_router_logins_is_refused_with_the_reason(
    network: Engine, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GIGALIS_DEVICE_USERNAME", "GIGALIS_DEVICE_CREDENTIALS_FILE", "GIGALIS_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(cli.app, ["monitor", "poll"])
    assert result.exit_code == 1
    assert "not polling" in result.output
    assert "GIGALIS_DEVICE_USERNAME" in result.output
    with session_scope(network, read_only=True) as session:
        assert session.get(PollerStatus, 1) is None  # nothing recorded
