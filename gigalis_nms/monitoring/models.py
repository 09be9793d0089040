"""Monitoring tables: what the poller last saw on each router, the state of each backbone link
and circuit, the events between states, incidents with the circuits they took down,
maintenance windows, and each circuit's SLA for a closed month.

Observations (``device_poll``, ``interface_observation``, ``neighbour_observation``) hold the
latest reading only: they are overwritten at each poll. What must be kept for the SLA and the
NOC's history is in ``monitoring_event`` (every change of state), ``incident`` and
``incident_circuit`` (every outage of every circuit, with its start and end).

All times are UTC; the SLA turns them into Europe/Paris months (``calendar.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.ordering.models import MONEY


class ObservedState(StrEnum):
    """What the poller concluded about a link or a circuit."""

    UP = "up"
    DOWN = "down"
    # No router that could tell answered: the last known state is kept for the SLA (an
    # unreachable management network is not an outage of the service), and the NOC is told
    # by the poller's error metrics.
    UNKNOWN = "unknown"


class FailingKind(StrEnum):
    """What broke, as far as the poller can tell, in the order it looks: a router that does
    not answer, a customer hand-off port, a backbone link (and the cables it rides on)."""

    DEVICE = "device"
    INTERFACE = "interface"
    LINK = "link"


class SubjectKind(StrEnum):
    """What a maintenance window is declared on."""

    DEVICE = "device"
    CABLE = "cable"
    SITE = "site"


class PollerStatus(SQLModel, table=True):
    """The poller's own health, one row: what ``/metrics`` reports whichever process polls.

    Counters only ever grow (``_total`` metrics); the last round's figures are overwritten.
    """

    __tablename__ = "poller_status"

    id: int = Field(default=1, primary_key=True)  # always 1
    rounds_total: int = 0
    device_errors_total: int = 0  # one per router that failed to answer in a round
    last_round_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_round_seconds: float | None = None
    last_round_devices: int = 0
    last_round_failed_devices: int = 0
    runner: str | None = Field(default=None, max_length=200)  # host:pid of the last poller


class DevicePoll(SQLModel, table=True):
    """The last poll of one router: whether it answered, and why not."""

    __tablename__ = "device_poll"

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    polled_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reachable: bool
    seconds: float = 0.0
    error: str | None = Field(default=None, max_length=2000)
    errors_total: int = 0
    # Since when it has answered, or not (changes only when ``reachable`` does).
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)


class InterfaceObservation(SQLModel, table=True):
    """The last reading of one inventory interface: admin and operational state, counters."""

    __tablename__ = "interface_observation"

    interface_id: int = Field(foreign_key="interface.id", primary_key=True, ondelete="CASCADE")
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    observed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    enabled: bool  # administratively up
    up: bool  # operationally up (carrier)
    speed_mbps: int | None = None
    in_octets: int | None = Field(default=None, sa_type=sa.BigInteger)
    out_octets: int | None = Field(default=None, sa_type=sa.BigInteger)
    in_errors: int | None = Field(default=None, sa_type=sa.BigInteger)
    out_errors: int | None = Field(default=None, sa_type=sa.BigInteger)
    in_discards: int | None = Field(default=None, sa_type=sa.BigInteger)
    out_discards: int | None = Field(default=None, sa_type=sa.BigInteger)
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)  # of ``up``


class NeighbourObservation(SQLModel, table=True):
    """One IS-IS adjacency or BGP session a router reported at its last poll."""

    __tablename__ = "neighbour_observation"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "protocol", "neighbour", name="uq_neighbour_observation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    protocol: str = Field(max_length=8)  # "isis" or "bgp"
    neighbour: str = Field(max_length=253)  # IS-IS system name, or BGP peer address
    interface: str | None = Field(default=None, max_length=64)  # IS-IS: the Linux port
    up: bool
    observed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LinkState(SQLModel, table=True):
    """The derived state of one backbone link."""

    __tablename__ = "link_state"

    backbone_link_id: int = Field(
        foreign_key="backbone_link.id", primary_key=True, ondelete="CASCADE"
    )
    state: ObservedState = Field(sa_column=enum_column(ObservedState, nullable=False))
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, max_length=500)


class CircuitState(SQLModel, table=True):
    """The derived state of one circuit in service, and the incident it is part of."""

    __tablename__ = "circuit_state"

    circuit_id: int = Field(foreign_key="circuit.id", primary_key=True, ondelete="CASCADE")
    state: ObservedState = Field(sa_column=enum_column(ObservedState, nullable=False))
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, max_length=500)
    # True while only the protection path carries it (the working path is broken).
    on_protection: bool = False
    incident_id: int | None = Field(default=None, foreign_key="incident.id", ondelete="SET NULL")


class MonitoringEvent(SQLModel, table=True):
    """One change of state seen by the poller, kept for ever: a router stopped or started
    answering, a port, an adjacency, a link or a circuit went down or came back."""

    __tablename__ = "monitoring_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    kind: str = Field(max_length=16, index=True)  # device, interface, neighbour, link, circuit
    subject: str = Field(max_length=300)  # hostname, hostname:port, link code, circuit ref
    subject_id: int | None = None  # the row's id in its own table, where it has one
    from_state: str | None = Field(default=None, max_length=16)  # None: first seen
    to_state: str = Field(max_length=16)
    detail: str | None = Field(default=None, max_length=500)


class MaintenanceWindow(SQLModel, table=True):
    """Planned work on a router, a cable or a whole site, declared in advance: outages of the
    circuits it affects inside the window are planned, excluded from availability."""

    __tablename__ = "maintenance_window"

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: SubjectKind = Field(sa_column=enum_column(SubjectKind, nullable=False))
    subject_id: int  # device, fibre_cable or site id, by subject_kind
    subject: str = Field(max_length=253)  # its hostname or code, kept if it is removed
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    reason: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, max_length=100)  # a change ticket
    declared_by: str = Field(max_length=200)
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=200)


class Incident(SQLModel, table=True):
    """One fault and the outages it caused: opened when a circuit goes down for a reason no
    open incident has, closed when the last of its circuits is back."""

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    opened_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    failing_kind: FailingKind = Field(sa_column=enum_column(FailingKind, nullable=False))
    failing_id: int  # device, interface or backbone_link id, by failing_kind
    failing: str = Field(max_length=300)  # what broke, in words: "link NTE1-ANG1 (cable …)"
    cause: OutageCause = Field(
        OutageCause.UNPLANNED, sa_column=enum_column(OutageCause, nullable=False)
    )
    maintenance_window_id: int | None = Field(
        default=None, foreign_key="maintenance_window.id", ondelete="SET NULL"
    )
    # The NOC's reclassification; the audit log keeps each one with the values before.
    comment: str | None = Field(default=None, max_length=2000)
    classified_by: str | None = Field(default=None, max_length=200)
    classified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IncidentCircuit(SQLModel, table=True):
    """One circuit's outage within an incident: from when it was seen down to when it was
    seen up again (None while it lasts)."""

    __tablename__ = "incident_circuit"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "circuit_id", "started_at", name="uq_incident_outage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    circuit_id: int = Field(foreign_key="circuit.id", index=True, ondelete="CASCADE")
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class SlaResult(SQLModel, table=True):
    """One circuit's SLA for one closed month, stored for billing (its credit notes) and
    recomputed, until billed, when an incident of that month is reclassified."""

    __tablename__ = "sla_result"
    __table_args__ = (sa.UniqueConstraint("circuit_id", "month", name="uq_sla_result_month"),)

    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", index=True, ondelete="CASCADE")
    circuit_ref: str = Field(max_length=16)
    month: str = Field(max_length=7, index=True)  # "2026-11", Europe/Paris
    operator_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    offer_id: str | None = Field(default=None, max_length=64)
    sla_class: str | None = Field(default=None, max_length=64)
    period_seconds: int
    excluded_seconds: int
    downtime_seconds: int  # counted against availability
    availability: float  # 0–1
    availability_target: float | None = None  # 0–1, from the SLA class
    availability_met: bool | None = None
    incidents: int = 0  # unplanned incidents restored in the month
    gtr_breaches: int = 0
    monthly_fee: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)
    penalty: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)  # excluding VAT
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    billed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # frozen once billed
