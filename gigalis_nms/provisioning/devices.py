"""The device side of a job: Nornir tasks that load, compare, commit, confirm and roll back
configuration on many routers at once through NAPALM, with each device's outcome kept as
data (:class:`DeviceResult`) rather than raised.

Commits are made all-or-nothing across devices in two phases. Every device first commits
with a *revert timer* (NAPALM's ``revert_in``: the router undoes the commit by itself unless
it is confirmed in time); only when every device has committed are the commits confirmed.
If any device fails, those that committed are rolled back at once. And if the process
running the job dies between the two phases, the routers still come back to their previous
configuration on their own when the timer fires.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from napalm.base import NetworkDriver
from napalm.base.exceptions import ConnectionClosedException
from nornir.core import Nornir
from nornir.core.task import AggregatedResult, Result, Task
from sqlmodel import Session

from gigalis_nms.errors import FieldProblem
from gigalis_nms.provisioning.base import BaseConfigs

logger = logging.getLogger(__name__)

NAPALM_CONNECTION = "napalm"  # the name nornir_napalm registers its connection plugin under
# Long enough for the slowest device of a large job to commit, short enough that a crashed
# job does not leave a half-configured network for long.
REVERT_AFTER_SECONDS = 120


class JobAccess(Protocol):
    """Where a job, a drift check or a backup runs: a Nornir over the named routers, and the
    base configuration those routers are meant to run."""

    @property
    def target(self) -> str:
        """Which routers: "inventory" (production) or "lab"; recorded with each job."""
        ...

    def nornir(self, hostnames: Sequence[str]) -> Nornir: ...

    def base_configs(self, session: Session) -> BaseConfigs: ...

    def refusals(self, session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
        """Why changing these routers' whole configuration would do harm; empty when safe."""
        ...


@dataclass(frozen=True)
class DeviceResult:
    hostname: str
    ok: bool
    value: Any = None  # the task's result: the diff for prepare, nothing for the others
    error: str | None = None


Progress = Callable[[str, bool], None]  # (hostname, ok) once per device done


def _device(task: Task) -> NetworkDriver:
    connection: NetworkDriver = task.host.get_connection(NAPALM_CONNECTION, task.nornir.config)
    return connection


def _has_pending_commit(device: NetworkDriver) -> bool:
    try:
        return bool(device.has_pending_commit())
    except NotImplementedError:
        return False


def _fresh_device(task: Task) -> NetworkDriver:
    """The device's session, opened again if it has died since it was opened (the router
    restarted its SSH server, a link flapped): reading is always safe to start over."""
    device = _device(task)
    try:
        alive = device.is_alive().get("is_alive", False)
    except NotImplementedError:
        return device  # a driver that cannot tell: its first command will
    if not alive:
        logger.info("%s: the session had closed; opening another", task.host.name)
        task.host.close_connection(NAPALM_CONNECTION)
        device = _device(task)
    return device


def prepare_task(task: Task, configs: Mapping[str, str]) -> Result:
    """Load the intended configuration as the candidate and return the diff; an empty diff
    discards the candidate, so that nothing is left pending on the device."""
    try:
        return _prepare(task, configs)
    except ConnectionClosedException:
        # Nothing was changed yet: a session lost before or while loading is retried once.
        logger.warning("%s: session lost while preparing; trying once more", task.host.name)
        task.host.close_connection(NAPALM_CONNECTION)
        return _prepare(task, configs)


def _prepare(task: Task, configs: Mapping[str, str]) -> Result:
    device = _fresh_device(task)
    if _has_pending_commit(device):
        # A commit of an interrupted run is waiting for its confirmation: undo it now rather
        # than let its timer fire in the middle of this run.
        logger.warning("%s: rolling back a commit left unconfirmed", task.host.name)
        device.rollback()
    device.load_replace_candidate(config=configs[task.host.name])
    diff = device.compare_config()
    if not diff:
        device.discard_config()
    return Result(host=task.host, result=diff)


PENDING_COMMIT = object()  # compare_task's answer for a router with a commit unconfirmed


def compare_task(task: Task, configs: Mapping[str, str]) -> Result:
    """The diff between the intended and the running configuration, read only: a router
    with a commit waiting for its confirmation is left alone (PENDING_COMMIT)."""
    device = _fresh_device(task)
    if _has_pending_commit(device):
        return Result(host=task.host, result=PENDING_COMMIT)
    device.load_replace_candidate(config=configs[task.host.name])
    try:
        diff = device.compare_config()
    finally:
        device.discard_config()
    return Result(host=task.host, result=diff)


def discard_task(task: Task) -> Result:
    _device(task).discard_config()
    return Result(host=task.host)


def commit_task(task: Task, message: str) -> Result:
    """Commit with a revert timer where the driver has one; the result says which."""
    device = _device(task)
    try:
        device.commit_config(message=message, revert_in=REVERT_AFTER_SECONDS)
        return Result(host=task.host, result="pending")
    except NotImplementedError:
        device.commit_config(message=message)
        return Result(host=task.host, result="committed")


def confirm_task(task: Task) -> Result:
    _device(task).confirm_commit()
    return Result(host=task.host)


def rollback_task(task: Task) -> Result:
    _device(task).rollback()
    return Result(host=task.host)


# Colour codes some router tools print (frr-reload's "ERROR" in red): not for a job's record.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _reason(result: Result) -> str:
    exception = result.exception
    if exception is None:
        return _ANSI_ESCAPE.sub("", str(result.result))[:500]
    text = _ANSI_ESCAPE.sub("", str(exception)).strip() or type(exception).__name__
    return f"{type(exception).__name__}: {text}"[:1000]


def run_on(
    nornir: Nornir,
    hostnames: Collection[str],
    task: Callable[..., Result],
    progress: Progress | None = None,
    **kwargs: Any,
) -> dict[str, DeviceResult]:
    """Run ``task`` on ``hostnames`` in parallel; one result per host, failures included."""
    if not hostnames:
        return {}
    wanted = set(hostnames)
    nornir.data.reset_failed_hosts()
    aggregated: AggregatedResult = nornir.filter(filter_func=lambda h: h.name in wanted).run(
        task=task, raise_on_error=False, on_failed=True, **kwargs
    )
    results: dict[str, DeviceResult] = {}
    for hostname in sorted(wanted):
        multi = aggregated.get(hostname)
        if multi is None:
            results[hostname] = DeviceResult(hostname, False, error="not in the Nornir inventory")
        elif multi.failed:
            failed = next((r for r in multi if r.failed), multi[0])
            results[hostname] = DeviceResult(hostname, False, error=_reason(failed))
        else:
            results[hostname] = DeviceResult(hostname, True, value=multi[0].result)
        if progress is not None:
            progress(hostname, results[hostname].ok)
        if not results[hostname].ok:
            logger.warning("%s: %s failed: %s", hostname, task.__name__, results[hostname].error)
    return results


def missing_hosts(nornir: Nornir, hostnames: Sequence[str]) -> list[str]:
    """The hostnames the Nornir inventory does not know (not reachable by this job)."""
    return [name for name in hostnames if name not in nornir.inventory.hosts]
