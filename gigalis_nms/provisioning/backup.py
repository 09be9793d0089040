"""Configuration backups: every router's running configuration, read in parallel through
Nornir and NAPALM and kept with the time it was read, and the difference between two of them.

A backup is stored every time, even when the configuration has not changed since the
device's last one: the row is the proof that the device ran exactly that configuration at
that time, which a gap would not give. Such a backup is reported *unchanged*, and its
identical text costs little next to what it tells. A device that cannot be read is reported
with the reason; the others are backed up all the same.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from nornir.core import Nornir
from nornir.core.task import MultiResult, Result, Task
from nornir_napalm.plugins.tasks import napalm_get
from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gigalis_nms.db.types import INTEGER_MAX, fits_row_id, utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory.models import Device
from gigalis_nms.provisioning.models import ConfigBackup
from gigalis_nms.provisioning.progress import DeviceDone, NornirProgress

log = logging.getLogger(__name__)


class BackupOutcome(StrEnum):
    FIRST = "first"  # the device had no backup yet
    CHANGED = "changed"  # differs from the device's last backup
    UNCHANGED = "unchanged"  # the same as the device's last backup (stored all the same)
    FAILED = "failed"  # not read; nothing stored


@dataclass(frozen=True)
class DeviceBackup:
    """What a backup run did on one device."""

    hostname: str
    outcome: BackupOutcome
    backup_id: int | None = None
    taken_at: datetime | None = None
    sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BackupReport:
    devices: tuple[DeviceBackup, ...]  # by hostname

    @property
    def failed(self) -> tuple[DeviceBackup, ...]:
        return tuple(device for device in self.devices if device.outcome is BackupOutcome.FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class BackupSummary:
    """A stored backup without its text, for lists."""

    id: int
    hostname: str
    device_id: int | None
    taken_at: datetime
    taken_by: str
    sha256: str
    size: int  # characters


@dataclass(frozen=True)
class RunningConfig:
    """A device's running configuration and when it was read."""

    text: str
    read_at: datetime


def config_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- taking backups --------------------------------------------------------------------------


def read_running_config(task: Task) -> Result:
    """Nornir task: the host's running configuration, through nornir_napalm's ``napalm_get``."""
    got = task.run(
        task=napalm_get,
        name="get running configuration",
        getters=["config"],
        getters_options={"config": {"retrieve": "running"}},
    )
    text = got[0].result["config"]["running"]
    if not isinstance(text, str):
        raise TypeError(f"get_config returned {type(text).__name__} for the running config")
    return Result(host=task.host, result=RunningConfig(text, utcnow()))


def take_backups(
    session: Session, nornir: Nornir, *, actor: str, progress: DeviceDone | None = None
) -> BackupReport:
    """Back up the running configuration of every host of ``nornir``, in parallel.

    The devices are read before the session is first used, so that no database transaction
    is held open while the network answers. ``progress`` is called once per host as it
    finishes (see :func:`gigalis_nms.provisioning.progress.device_progress`).
    """
    runner = nornir if progress is None else nornir.with_processors([NornirProgress(progress)])
    # Hosts that failed an earlier task of this Nornir are tried again, not skipped.
    results = runner.run(task=read_running_config, on_failed=True)

    hostnames = sorted(results)
    device_ids = _device_ids(session, hostnames)
    last = _last_sha256(session, hostnames)
    devices = [
        _store(
            session,
            hostname,
            results[hostname],
            device_id=device_ids.get(hostname),
            last=last,
            actor=actor,
        )
        for hostname in hostnames
    ]
    session.flush()  # the new rows get their ids
    report = BackupReport(tuple(_with_id(device) for device in devices))
    log.info(
        "config backup: %d devices, %d failed, by %s", len(hostnames), len(report.failed), actor
    )
    return report


# A stored backup waits for its id until the session flushes.
_Pending = tuple[DeviceBackup, ConfigBackup | None]


def _store(
    session: Session,
    hostname: str,
    result: MultiResult,
    *,
    device_id: int | None,
    last: dict[str, str],
    actor: str,
) -> _Pending:
    if result.failed:
        reason = _failure_reason(result)
        log.info("%s: config backup failed: %s", hostname, reason)
        return DeviceBackup(hostname, BackupOutcome.FAILED, error=reason), None
    running: RunningConfig = result[0].result
    sha256 = config_sha256(running.text)
    backup = ConfigBackup(
        device_id=device_id,
        hostname=hostname,
        taken_at=running.read_at,
        taken_by=actor,
        sha256=sha256,
        config=running.text,
    )
    session.add(backup)
    if hostname not in last:
        outcome = BackupOutcome.FIRST
    else:
        outcome = BackupOutcome.UNCHANGED if last[hostname] == sha256 else BackupOutcome.CHANGED
    return DeviceBackup(hostname, outcome, taken_at=running.read_at, sha256=sha256), backup


def _with_id(pending: _Pending) -> DeviceBackup:
    device, backup = pending
    if backup is None:
        return device
    log.info("%s: config backup %s (%s)", device.hostname, backup.id, device.outcome)
    return replace(device, backup_id=backup.id)


def _failure_reason(result: MultiResult) -> str:
    """The innermost error: napalm_get's own, rather than Nornir's "a subtask failed"."""
    for step in reversed(result):
        if step.exception is not None:
            return f"{type(step.exception).__name__}: {step.exception}".strip()
    return "failed without an exception"  # a task that marked itself failed


def _device_ids(session: Session, hostnames: list[str]) -> dict[str, int]:
    """Device ids by hostname, from the inventory: any Nornir's hosts can be backed up."""
    rows = session.exec(
        select(Device.hostname, Device.id).where(col(Device.hostname).in_(hostnames))
    )
    return {hostname: device_id for hostname, device_id in rows if device_id is not None}


def _last_sha256(session: Session, hostnames: list[str]) -> dict[str, str]:
    """The checksum of each device's last stored backup."""
    rows = session.exec(
        select(ConfigBackup.hostname, ConfigBackup.sha256).where(
            col(ConfigBackup.id).in_(_last_ids(hostnames))
        )
    )
    return dict(rows.all())


def _last_ids(hostnames: Iterable[str]) -> SelectOfScalar[int | None]:
    # Ids grow with every row stored: the highest is the last stored, whatever the clocks of
    # the machines that took them said.
    return (
        select(func.max(ConfigBackup.id))
        .where(col(ConfigBackup.hostname).in_(list(hostnames)))
        .group_by(col(ConfigBackup.hostname))
    )


# --- reading them back -------------------------------------------------------------------------


def list_backups(
    session: Session, hostname: str | None = None, *, limit: int | None = None
) -> list[BackupSummary]:
    """Stored backups, newest first; of one device when ``hostname`` is given."""
    query = sa.select(
        col(ConfigBackup.id),
        col(ConfigBackup.hostname),
        col(ConfigBackup.device_id),
        col(ConfigBackup.taken_at),
        col(ConfigBackup.taken_by),
        col(ConfigBackup.sha256),
        func.length(col(ConfigBackup.config)),
    ).order_by(col(ConfigBackup.taken_at).desc(), col(ConfigBackup.id).desc())
    if hostname is not None:
        query = query.where(col(ConfigBackup.hostname) == hostname)
    if limit is not None:
        query = query.limit(limit)
    return [BackupSummary(*row) for row in session.execute(query)]


def get_backup(session: Session, backup_id: int) -> ConfigBackup:
    problem = _id_problem("backup", backup_id)
    if problem is not None:
        raise InvalidInput(str(problem), [problem])
    backup = session.get(ConfigBackup, backup_id)
    if backup is None:
        raise NotFound.of("backup", f"no backup with id {backup_id}")
    return backup


def diff_backups(session: Session, first_id: int, second_id: int) -> str:
    """The unified diff from backup ``first_id`` to ``second_id``: empty when they hold the
    same configuration of the same device. Two devices may be compared; the diff then starts
    with a line that says so.

    Errors call the ids ``first`` and ``second`` and name both when both are wrong.
    """
    named = {"first": first_id, "second": second_id}
    invalid = [
        problem
        for name, backup_id in named.items()
        if (problem := _id_problem(name, backup_id)) is not None
    ]
    if invalid:
        raise InvalidInput("; ".join(str(problem) for problem in invalid), invalid)
    first, second = session.get(ConfigBackup, first_id), session.get(ConfigBackup, second_id)
    if first is None or second is None:
        missing = [
            FieldProblem(name, f"no backup with id {named[name]}")
            for name, backup in (("first", first), ("second", second))
            if backup is None
        ]
        raise NotFound("; ".join(str(problem) for problem in missing), missing)
    return backup_diff(first, second)


def _id_problem(name: str, backup_id: int) -> FieldProblem | None:
    # An id beyond the column's range would reach the database as an overflow, not a miss.
    if fits_row_id(backup_id):
        return None
    return FieldProblem(name, f"{backup_id} is not a backup id: ids run from 1 to {INTEGER_MAX}")


def backup_diff(first: ConfigBackup, second: ConfigBackup) -> str:
    """The unified diff between two backups, with headers naming device, backup and time."""
    lines = difflib.unified_diff(
        first.config.splitlines(),
        second.config.splitlines(),
        fromfile=f"{first.hostname} backup {first.id}",
        tofile=f"{second.hostname} backup {second.id}",
        fromfiledate=first.taken_at.isoformat(timespec="seconds"),
        tofiledate=second.taken_at.isoformat(timespec="seconds"),
        lineterm="",
    )
    text = "".join(f"{line}\n" for line in lines)
    if first.hostname != second.hostname:
        note = f"# different devices: {first.hostname} (backup {first.id})"
        note += f" and {second.hostname} (backup {second.id})\n"
        return note + text
    return text


def latest_backups(session: Session, hostnames: Iterable[str]) -> dict[str, ConfigBackup]:
    """Each named device's last stored backup, for those that have one."""
    rows = session.exec(select(ConfigBackup).where(col(ConfigBackup.id).in_(_last_ids(hostnames))))
    return {backup.hostname: backup for backup in rows}
