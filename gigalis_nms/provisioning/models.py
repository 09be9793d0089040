"""Provisioning tables: circuit designs and their hops, jobs and their devices, backups.

A *design* is what provisioning needs beyond the circuit's inventory record: the VXLAN
network identifier that carries it across the backbone, and the ordered backbone links of
its working path (and of its protection path, for a protected circuit), whose bandwidth the
circuit holds. A *job* is one provisioning or deprovisioning run, kept for ever: who asked,
when, what was rendered and what changed on each device, and how it ended.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow

# VNIs below this are left to hand-made services; above it they belong to designs.
FIRST_VNI = 10_000
LAST_VNI = 16_777_215  # 24 bits


class PathMetric(StrEnum):
    """What "shortest" means when a path is designed."""

    IGP = "igp"  # the sum of the links' IS-IS metrics: the path the routers will use
    LENGTH = "length"  # the sum of the fibre route lengths: the lowest latency


class PathRole(StrEnum):
    WORKING = "working"
    PROTECT = "protect"  # shares no fibre cable with the working path


class CircuitDesign(SQLModel, table=True):
    __tablename__ = "circuit_design"

    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", unique=True, ondelete="CASCADE")
    vni: int = Field(unique=True, ge=FIRST_VNI, le=LAST_VNI)
    metric: PathMetric = Field(sa_column=enum_column(PathMetric, nullable=False))
    designed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    designed_by: str = Field(max_length=200)


class CircuitHop(SQLModel, table=True):
    """One backbone link of a designed path, in order from the circuit's A end."""

    __tablename__ = "circuit_hop"
    __table_args__ = (
        sa.UniqueConstraint("circuit_id", "path", "sequence", name="uq_circuit_hop_position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", index=True, ondelete="CASCADE")
    path: PathRole = Field(sa_column=enum_column(PathRole, nullable=False))
    sequence: int = Field(ge=0)
    backbone_link_id: int = Field(foreign_key="backbone_link.id", index=True, ondelete="RESTRICT")


class JobKind(StrEnum):
    PROVISION = "provision"
    DEPROVISION = "deprovision"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeviceOutcome(StrEnum):
    PENDING = "pending"
    UNCHANGED = "unchanged"  # the diff was empty: nothing to commit
    PLANNED = "planned"  # dry run: the diff was shown, nothing committed
    COMMITTED = "committed"
    ROLLED_BACK = "rolled_back"  # committed, then undone because another device failed
    FAILED = "failed"
    NOT_STARTED = "not_started"  # the job stopped before this device was reached


class ProvisioningJob(SQLModel, table=True):
    """One provisioning or deprovisioning run over one or more circuits (a bulk run renders
    and commits each device once for all its circuits)."""

    __tablename__ = "provisioning_job"

    id: int | None = Field(default=None, primary_key=True)
    kind: JobKind = Field(sa_column=enum_column(JobKind, nullable=False))
    dry_run: bool = False
    requested_by: str = Field(max_length=200)
    state: JobState = Field(
        JobState.QUEUED, sa_column=enum_column(JobState, nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The process running the job and when it last said it was alive; a job whose runner
    # went silent is resumed (or failed) by the next process that starts.
    runner: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0, ge=0)
    error: str | None = Field(default=None, max_length=4000)
    # Which routers: "inventory" (production) or "lab". A job is only ever resumed by a
    # process that reaches the same routers.
    target: str | None = Field(default=None, max_length=32, index=True)


class JobCircuit(SQLModel, table=True):
    """A circuit a job works on, with its status before and after."""

    __tablename__ = "provisioning_job_circuit"
    __table_args__ = (sa.UniqueConstraint("job_id", "circuit_ref", name="uq_job_circuit"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="provisioning_job.id", index=True, ondelete="CASCADE")
    # The reference is kept as text too, so that the job reads the same if the circuit goes.
    circuit_id: int | None = Field(
        default=None, foreign_key="circuit.id", index=True, ondelete="SET NULL"
    )
    circuit_ref: str = Field(max_length=16, index=True)
    status_before: str | None = Field(default=None, max_length=32)
    status_after: str | None = Field(default=None, max_length=32)


class JobDevice(SQLModel, table=True):
    """What a job rendered, changed and got on one device."""

    __tablename__ = "provisioning_job_device"
    __table_args__ = (sa.UniqueConstraint("job_id", "hostname", name="uq_job_device"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="provisioning_job.id", index=True, ondelete="CASCADE")
    device_id: int | None = Field(default=None, foreign_key="device.id", ondelete="SET NULL")
    hostname: str = Field(max_length=253)
    rendered_config: str = Field(default="", sa_type=sa.Text)
    diff: str = Field(default="", sa_type=sa.Text)
    outcome: DeviceOutcome = Field(
        DeviceOutcome.PENDING, sa_column=enum_column(DeviceOutcome, nullable=False)
    )
    error: str | None = Field(default=None, max_length=4000)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeviceWorkLock(SQLModel, table=True):
    """The one row that says who is changing or comparing router configurations now.

    Jobs (dry runs too) and drift checks load candidates into files the router keeps per
    session, and a job rolls back a commit it finds unconfirmed: two at once would undo each
    other's work. So they take turns, across every process on the database; a holder whose
    heartbeat stopped is replaced."""

    __tablename__ = "device_work_lock"

    id: int = Field(primary_key=True)  # always 1
    holder: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConfigBackup(SQLModel, table=True):
    """A device's running configuration as read at one moment."""

    __tablename__ = "config_backup"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int | None = Field(
        default=None, foreign_key="device.id", index=True, ondelete="SET NULL"
    )
    hostname: str = Field(max_length=253, index=True)
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    taken_by: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    config: str = Field(sa_type=sa.Text)
