"""What one poll changes in the database, in one transaction: the routers' readings, the
states of links and circuits, an event for every change, and incidents opened, joined and
closed.

Incidents are keyed on the failing element: circuits that go down for the same broken link
(or port, or router) while an incident for it is open join that incident; the incident
closes when its last circuit is back. An incident opened while a maintenance window covers
the failing element is planned, and linked to the window.

A circuit whose state cannot be read (its router stopped answering) keeps its outage open,
or stays up: the SLA counts from the last state seen, not from the management network's.

Two pollers (``gigalis serve`` and a ``gigalis worker``) may run at once: each round first
locks the poller's status row, then reads the states it changes, so that rounds apply one
after the other and a change is recorded once.
"""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gigalis_nms.inventory.models import Device, Interface
from gigalis_nms.monitoring.derive import (
    DOWN,
    UNKNOWN,
    UP,
    DeviceReading,
    Failing,
    NetworkShape,
    Verdict,
)
from gigalis_nms.monitoring.models import (
    CircuitState,
    DevicePoll,
    FailingKind,
    Incident,
    IncidentCircuit,
    InterfaceObservation,
    LinkState,
    MaintenanceWindow,
    MonitoringEvent,
    NeighbourObservation,
    PollerStatus,
)
from gigalis_nms.monitoring.sla import OutageCause

WindowFinder = Callable[[Session, Failing, datetime], MaintenanceWindow | None]


@dataclass
class RoundSummary:
    started_at: datetime
    devices: int = 0
    failed_devices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    events: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    incidents_closed: list[int] = field(default_factory=list)
    circuits_down: int = 0


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record_round(
    session: Session,
    shape: NetworkShape,
    readings: Mapping[str, DeviceReading],
    links: Mapping[int, Verdict],
    circuits: Mapping[int, Verdict],
    *,
    now: datetime,
    seconds: float,
    covering_window: WindowFinder,
) -> RoundSummary:
    summary = RoundSummary(started_at=now, devices=len(readings), seconds=seconds)
    status = _lock_status(session)
    recorder = _Recorder(session, now, summary)
    recorder.devices(readings)
    recorder.links(shape, links)
    recorder.circuits(shape, circuits, covering_window)
    summary.failed_devices = sorted(h for h, r in readings.items() if not r.reachable)
    status.rounds_total += 1
    status.device_errors_total += len(summary.failed_devices)
    status.last_round_started_at = now
    status.last_round_seconds = seconds
    status.last_round_devices = len(readings)
    status.last_round_failed_devices = len(summary.failed_devices)
    status.runner = runner_name()
    session.add(status)
    return summary


def _lock_status(session: Session) -> PollerStatus:
    status = session.exec(
        select(PollerStatus).where(PollerStatus.id == 1).with_for_update()
    ).first()
    if status is None:
        status = PollerStatus(id=1)
        session.add(status)
        session.flush()
    return status


class _Recorder:
    """Writes one round; keeps the round's time and its summary."""

    def __init__(self, session: Session, now: datetime, summary: RoundSummary) -> None:
        self.session = session
        self.now = now
        self.summary = summary
        self.open_incidents: dict[tuple[FailingKind, int], Incident] = {}
        self.covering_window: WindowFinder = _no_window

    def event(
        self,
        kind: str,
        subject: str,
        subject_id: int | None,
        *,
        change: tuple[str | None, str],
        detail: str | None = None,
    ) -> None:
        before, after = change
        self.session.add(
            MonitoringEvent(
                at=self.now,
                kind=kind,
                subject=subject[:300],
                subject_id=subject_id,
                from_state=before,
                to_state=after,
                detail=detail[:500] if detail else None,
            )
        )
        self.summary.events += 1

    # --- routers, ports, adjacencies -------------------------------------------------------

    def devices(self, readings: Mapping[str, DeviceReading]) -> None:
        ids = dict(
            self.session.exec(
                select(Device.hostname, Device.id).where(col(Device.hostname).in_(readings))
            ).all()
        )
        polls = {
            poll.device_id: poll
            for poll in self.session.exec(
                select(DevicePoll).where(col(DevicePoll.device_id).in_(ids.values()))
            )
        }
        answering = [ids[h] for h, r in readings.items() if r.reachable and h in ids]
        interfaces = self._by_device(
            select(Interface.device_id, Interface.id, Interface.name).where(
                col(Interface.device_id).in_(answering)
            )
        )
        observed = self._by_device(
            select(InterfaceObservation.device_id, InterfaceObservation).where(
                col(InterfaceObservation.device_id).in_(answering)
            )
        )
        neighbours = self._by_device(
            select(NeighbourObservation.device_id, NeighbourObservation).where(
                col(NeighbourObservation.device_id).in_(answering)
            )
        )
        for hostname, reading in sorted(readings.items()):
            device_id = ids.get(hostname)
            if device_id is None:
                continue  # removed from the inventory while it was being polled
            self.device_poll(device_id, reading, polls.get(device_id))
            if reading.reachable:
                seen = {row.interface_id: row for (row,) in observed.get(device_id, [])}
                self.ports(device_id, reading, interfaces.get(device_id, []), seen)
                known = {(r.protocol, r.neighbour): r for (r,) in neighbours.get(device_id, [])}
                self.neighbours(device_id, reading, known)

    def _by_device(self, query: Any) -> dict[int, list[tuple[Any, ...]]]:
        """The rows of ``query`` (device id first) by device, the id left out: one query for
        the round's routers rather than one per router."""
        found: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for device_id, *rest in self.session.exec(query):
            found[device_id].append(tuple(rest))
        return found

    def device_poll(self, device_id: int, reading: DeviceReading, poll: DevicePoll | None) -> None:
        if poll is None or poll.reachable != reading.reachable:
            self.event(
                "device",
                reading.hostname,
                device_id,
                change=(
                    None if poll is None else _answering(poll.reachable),
                    _answering(reading.reachable),
                ),
                detail=reading.error,
            )
        if poll is None:
            poll = DevicePoll(
                device_id=device_id, polled_at=self.now, reachable=reading.reachable, since=self.now
            )
        elif poll.reachable != reading.reachable:
            poll.since = self.now
        poll.polled_at = self.now
        poll.reachable = reading.reachable
        poll.seconds = reading.seconds
        poll.error = reading.error
        poll.errors_total += 0 if reading.reachable else 1
        self.session.add(poll)

    def ports(
        self,
        device_id: int,
        reading: DeviceReading,
        interfaces: list[tuple[Any, ...]],
        seen: dict[int, InterfaceObservation],
    ) -> None:
        for interface_id, name in interfaces:
            port = reading.ports.get(name)
            if port is None or interface_id is None:
                continue
            up = port.enabled and port.up
            row = seen.get(interface_id)
            if row is None or (row.enabled and row.up) != up:
                before = None if row is None else _updown(row.enabled and row.up)
                self.event(
                    "interface",
                    f"{reading.hostname}:{name}",
                    interface_id,
                    change=(before, _updown(up)),
                )
            if row is None:
                row = InterfaceObservation(
                    interface_id=interface_id,
                    device_id=device_id,
                    observed_at=self.now,
                    enabled=port.enabled,
                    up=port.up,
                    since=self.now,
                )
            elif (row.enabled and row.up) != up:
                row.since = self.now
            row.observed_at = self.now
            row.enabled, row.up, row.speed_mbps = port.enabled, port.up, port.speed_mbps
            counters = port.counters
            row.in_octets, row.out_octets = counters.get("rx_octets"), counters.get("tx_octets")
            row.in_errors, row.out_errors = counters.get("rx_errors"), counters.get("tx_errors")
            row.in_discards = counters.get("rx_discards")
            row.out_discards = counters.get("tx_discards")
            self.session.add(row)

    def neighbours(
        self,
        device_id: int,
        reading: DeviceReading,
        known: dict[tuple[str, str], NeighbourObservation],
    ) -> None:
        now_seen: dict[tuple[str, str], tuple[str | None, bool]] = {
            ("bgp", peer): (None, up) for peer, up in reading.bgp.items()
        }
        for isis_port, adjacencies in (reading.isis or {}).items():
            for system, up in adjacencies:
                now_seen[("isis", system)] = (isis_port, up)
        for key in known.keys() - now_seen.keys():
            if reading.isis is None and key[0] == "isis":
                continue  # the router could not say this time
            now_seen[key] = (known[key].interface, False)  # gone from the router: down
        for (protocol, neighbour), (port, up) in sorted(now_seen.items()):
            row = known.get((protocol, neighbour))
            if row is None or row.up != up:
                self.event(
                    "neighbour",
                    f"{reading.hostname} {protocol} {neighbour}",
                    device_id,
                    change=(None if row is None else _updown(row.up), _updown(up)),
                    detail=f"on {port}" if port else None,
                )
            if row is None:
                row = NeighbourObservation(
                    device_id=device_id,
                    protocol=protocol,
                    neighbour=neighbour,
                    up=up,
                    observed_at=self.now,
                    since=self.now,
                )
            elif row.up != up:
                row.since = self.now
            row.interface, row.up, row.observed_at = port, up, self.now
            self.session.add(row)

    # --- links ------------------------------------------------------------------------------

    def links(self, shape: NetworkShape, verdicts: Mapping[int, Verdict]) -> None:
        states = {row.backbone_link_id: row for row in self.session.exec(select(LinkState))}
        for link_id, verdict in sorted(verdicts.items()):
            row = states.get(link_id)
            if row is not None and row.state == verdict.state:
                row.reason = verdict.reason
                self.session.add(row)
                continue
            self.event(
                "link",
                shape.links[link_id].code,
                link_id,
                change=(None if row is None else str(row.state), str(verdict.state)),
                detail=verdict.reason,
            )
            if row is None:
                row = LinkState(backbone_link_id=link_id, state=verdict.state, since=self.now)
            row.state, row.since, row.reason = verdict.state, self.now, verdict.reason
            self.session.add(row)

    # --- circuits and incidents -------------------------------------------------------------

    def circuits(
        self,
        shape: NetworkShape,
        verdicts: Mapping[int, Verdict],
        covering_window: WindowFinder,
    ) -> None:
        refs = {circuit.circuit_id: circuit.ref for circuit in shape.circuits}
        states = {row.circuit_id: row for row in self.session.exec(select(CircuitState))}
        self.covering_window = covering_window
        self.open_incidents = open_incidents = {
            (FailingKind(incident.failing_kind), incident.failing_id): incident
            for incident in self.session.exec(
                select(Incident).where(col(Incident.closed_at).is_(None))
            )
        }
        for circuit_id, verdict in sorted(verdicts.items()):
            row = states.get(circuit_id)
            if row is None:
                row = CircuitState(circuit_id=circuit_id, state=UNKNOWN, since=self.now)
                before: str | None = None
            else:
                before = str(row.state)
            self.circuit(row, before, refs[circuit_id], verdict)
            self.summary.circuits_down += row.incident_id is not None
        for circuit_id in states.keys() - verdicts.keys():
            self.left_service(states[circuit_id])
        self.close_finished(list(open_incidents.values()))

    def circuit(
        self,
        row: CircuitState,
        before: str | None,
        ref: str,
        verdict: Verdict,
    ) -> None:
        in_outage = row.incident_id is not None
        if verdict.state is DOWN and not in_outage:
            assert verdict.failing is not None
            incident = self.incident_for(verdict.failing)
            assert incident.id is not None
            self.session.add(
                IncidentCircuit(
                    incident_id=incident.id, circuit_id=row.circuit_id, started_at=self.now
                )
            )
            row.incident_id = incident.id
        elif verdict.state is UP and in_outage:
            self.end_outage(row)
        if before != str(verdict.state) or row.on_protection != verdict.on_protection:
            detail = verdict.reason
            self.event(
                "circuit", ref, row.circuit_id, change=(before, str(verdict.state)), detail=detail
            )
        if before != str(verdict.state):
            row.since = self.now
        row.state, row.reason, row.on_protection = (
            verdict.state,
            verdict.reason,
            verdict.on_protection,
        )
        self.session.add(row)

    def incident_for(self, failing: Failing) -> Incident:
        incident = self.open_incidents.get((failing.kind, failing.id))
        if incident is not None:
            return incident
        window = self.covering_window(self.session, failing, self.now)
        incident = Incident(
            opened_at=self.now,
            failing_kind=failing.kind,
            failing_id=failing.id,
            failing=failing.description[:300],
            cause=OutageCause.PLANNED if window is not None else OutageCause.UNPLANNED,
            maintenance_window_id=window.id if window is not None else None,
        )
        self.session.add(incident)
        self.session.flush()
        assert incident.id is not None
        self.open_incidents[(failing.kind, failing.id)] = incident
        self.summary.incidents_opened.append(incident.id)
        return incident

    def end_outage(self, row: CircuitState) -> None:
        self.session.execute(
            sa.update(IncidentCircuit)
            .where(
                col(IncidentCircuit.circuit_id) == row.circuit_id,
                col(IncidentCircuit.incident_id) == row.incident_id,
                col(IncidentCircuit.ended_at).is_(None),
            )
            .values(ended_at=self.now)
        )
        row.incident_id = None

    def left_service(self, row: CircuitState) -> None:
        """A circuit no longer followed (suspended, terminated): its outage, if any, ends."""
        if row.incident_id is not None:
            self.end_outage(row)
        self.session.delete(row)

    def close_finished(self, incidents: Iterable[Incident]) -> None:
        incidents = list(incidents)
        self.session.flush()
        still_open = set(
            self.session.exec(
                select(IncidentCircuit.incident_id)
                .where(col(IncidentCircuit.incident_id).in_([i.id for i in incidents]))
                .where(col(IncidentCircuit.ended_at).is_(None))
                .distinct()
            )
        )
        for incident in incidents:
            if incident.id not in still_open:
                incident.closed_at = self.now
                self.session.add(incident)
                assert incident.id is not None
                self.summary.incidents_closed.append(incident.id)


def _no_window(session: Session, failing: Failing, at: datetime) -> None:
    return None


def _answering(reachable: bool) -> str:
    return "answering" if reachable else "silent"


def _updown(up: bool) -> str:
    return str(UP) if up else str(DOWN)
