"""Drift: does each router run the configuration Gigalis intends for it?

The intended configuration (base plus every provisioned service) is loaded as a candidate
on every router at once, compared with the running one, and discarded: the diff is the
drift, read the router's own way (for FRR, frr-reload's comparison and the kernel section's).
Nothing is changed; a router that does not answer is reported as such, not as in sync.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.provisioning.devices import (
    PENDING_COMMIT,
    Progress,
    compare_task,
    missing_hosts,
    run_on,
)
from gigalis_nms.provisioning.jobs import runner_identity
from gigalis_nms.provisioning.lock import routers_to_myself
from gigalis_nms.provisioning.render import intended_configs
from gigalis_nms.provisioning.run import JobAccess

logger = logging.getLogger(__name__)


class DriftState(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    COMMIT_PENDING = "commit_pending"  # a commit awaits confirmation: compared once it ends
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class DeviceDrift:
    hostname: str
    state: DriftState
    diff: str = ""
    error: str | None = None


@dataclass(frozen=True)
class DriftReport:
    devices: tuple[DeviceDrift, ...]

    @property
    def drifted(self) -> list[DeviceDrift]:
        return [d for d in self.devices if d.state is DriftState.DRIFTED]

    @property
    def unreachable(self) -> list[DeviceDrift]:
        return [d for d in self.devices if d.state is DriftState.UNREACHABLE]

    @property
    def pending(self) -> list[DeviceDrift]:
        return [d for d in self.devices if d.state is DriftState.COMMIT_PENDING]

    @property
    def clean(self) -> bool:
        return all(d.state is DriftState.IN_SYNC for d in self.devices)


def check_drift(
    engine: Engine,
    access: JobAccess,
    hostnames: Sequence[str],
    *,
    progress: Progress | None = None,
    wait_seconds: float = 60,
) -> DriftReport:
    """Compare intended with running configuration on ``hostnames``, in parallel, while no
    job works on the routers (waiting up to ``wait_seconds`` for one to end)."""
    with routers_to_myself(engine, runner_identity(), "drift check", wait_seconds=wait_seconds):
        return _check_drift(engine, access, hostnames, progress)


def _check_drift(
    engine: Engine, access: JobAccess, hostnames: Sequence[str], progress: Progress | None
) -> DriftReport:
    with session_scope(engine, read_only=True) as session:
        configs = intended_configs(session, hostnames, base=access.base_configs(session))
    nornir = access.nornir(sorted(configs))
    try:
        unknown = set(missing_hosts(nornir, sorted(configs)))
        results = run_on(
            nornir,
            [h for h in sorted(configs) if h not in unknown],
            compare_task,
            progress,
            configs=configs,
        )
    finally:
        nornir.close_connections(on_good=True, on_failed=True)
    devices = [
        DeviceDrift(h, DriftState.UNREACHABLE, error="not in the device inventory")
        for h in sorted(unknown)
    ]
    for hostname, result in results.items():
        if not result.ok:
            devices.append(DeviceDrift(hostname, DriftState.UNREACHABLE, error=result.error))
        elif result.value is PENDING_COMMIT:
            reason = "a commit awaits its confirmation (a job at work, or interrupted: it reverts)"
            devices.append(DeviceDrift(hostname, DriftState.COMMIT_PENDING, error=reason))
        elif result.value:
            devices.append(DeviceDrift(hostname, DriftState.DRIFTED, diff=str(result.value)))
        else:
            devices.append(DeviceDrift(hostname, DriftState.IN_SYNC))
    report = DriftReport(tuple(sorted(devices, key=lambda d: d.hostname)))
    logger.info(
        "drift: %d devices, %d drifted, %d unreachable",
        len(report.devices),
        len(report.drifted),
        len(report.unreachable),
    )
    return report
