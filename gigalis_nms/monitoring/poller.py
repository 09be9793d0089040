"""The poller: every ``GIGALIS_POLL_SECONDS`` it reads every router (interfaces, counters,
IS-IS adjacencies, BGP sessions), derives the state of every backbone link and circuit in
service, and records the changes, incidents included (``record.py``).

It runs as a thread of `gigalis serve` on the embedded default, or of `gigalis worker`. It
polls the routers the settings name (``GIGALIS_DEVICES``): production's, with the logins of
the settings, or the running lab's. On a service never given router logins (the embedded
default), it does not poll at all, rather than knock at management addresses it cannot log
in to: it says so once in the log, and the poller metrics stay at zero rounds.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gigalis_nms.background import PollingThread
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.tables import DEVICE
from gigalis_nms.monitoring import collect
from gigalis_nms.monitoring.derive import (
    UNKNOWN,
    DeviceReading,
    Failing,
    NetworkShape,
    Verdict,
    circuit_verdicts,
    link_verdicts,
)
from gigalis_nms.monitoring.maintenance import covering_window
from gigalis_nms.monitoring.models import MaintenanceWindow
from gigalis_nms.monitoring.record import RoundSummary, record_round
from gigalis_nms.monitoring.shape import network_shape
from gigalis_nms.provisioning.access import (
    InventoryAccess,
    LabAccess,
    access_from_settings,
    login_problems,
)
from gigalis_nms.provisioning.nornir_inventory import REACHED_STATUSES
from gigalis_nms.settings import Settings

log = logging.getLogger(__name__)
POLLER_ACTOR = "poller"

Access = InventoryAccess | LabAccess


class NotPolling(Exception):
    """The poller has no way to reach the routers; the problems say why."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def poll_once(engine: Engine, access: Access, *, now: datetime | None = None) -> RoundSummary:
    """One round: read the routers, derive, record. Raises :class:`NotPolling` when the
    routers cannot be reached at all."""
    if isinstance(access, InventoryAccess):
        problems = login_problems(access.credentials_file)
        if problems:
            raise NotPolling(problems)
    started = time.perf_counter()
    hostnames = polled_hostnames(engine, access)
    readings = collect.poll(access.nornir(hostnames), port_names(access)) if hostnames else {}
    seconds = time.perf_counter() - started
    # Changes are dated when the readings are complete: never before they happened (a
    # link cut while the round was under way), at most one round after.
    now = now or utcnow()
    lab = access if isinstance(access, LabAccess) else None
    with session_scope(engine, actor=POLLER_ACTOR) as session:
        return record_readings(session, readings, now=now, seconds=seconds, lab=lab)


def record_readings(
    session: Session,
    readings: Mapping[str, DeviceReading],
    *,
    now: datetime,
    seconds: float,
    lab: LabAccess | None = None,
) -> RoundSummary:
    """Derive the links' and circuits' state from a round's readings and record what
    changed; ``lab`` when the readings are the lab's (links it did not build are unknown)."""
    shape = network_shape(session)
    links = link_verdicts(readings, shape)
    if lab is not None:
        links.update(outside_the_lab(lab, shape))
    circuits = circuit_verdicts(readings, links, shape)
    return record_round(
        session,
        shape,
        readings,
        links,
        circuits,
        now=now,
        seconds=seconds,
        covering_window=_window_of,
    )


def _window_of(session: Session, failing: Failing, at: datetime) -> MaintenanceWindow | None:
    return covering_window(session, failing.kind, failing.id, at)


def outside_the_lab(access: LabAccess, shape: NetworkShape) -> dict[int, Verdict]:
    """Backbone links the lab did not build (an end outside its sites): their port inside the
    lab has no peer, which says nothing about the link."""
    built = {link.code for link in access.state.links}
    return {
        link_id: Verdict(UNKNOWN, "not built in the lab")
        for link_id, link in shape.links.items()
        if link.code not in built
    }


def polled_hostnames(engine: Engine, access: Access) -> list[str]:
    """The lab's routers; or production's routers in service with a management address."""
    if isinstance(access, LabAccess):
        return sorted(router.hostname for router in access.state.routers)
    query = sa.select(DEVICE.c.hostname).where(
        DEVICE.c.status.in_(REACHED_STATUSES), DEVICE.c.management_address.is_not(None)
    )
    with session_scope(engine, read_only=True) as session:
        return sorted(session.scalars(query))


def port_names(access: Access) -> Mapping[str, Mapping[str, str]]:
    """Per router, the router's port names → the inventory's: the lab's stand-ins for other
    platforms give Linux names to ports the inventory names otherwise."""
    if not isinstance(access, LabAccess):
        return {}
    return {
        router.hostname: {linux: name for name, linux in router.port_names.items()}
        for router in access.state.routers
    }


def poller_access(settings: Settings, engine: Engine) -> Access:
    """The routers the settings name, with the poller's own timeout per router."""
    access = access_from_settings(settings, engine)
    return dataclasses.replace(access, timeout=settings.poll_timeout_seconds)


class Poller(PollingThread):
    """Polls every ``settings.poll_seconds``; a round that fails is logged and the next one
    tries again."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__("poller", settings.poll_seconds)
        self._engine = engine
        self._settings = settings
        self._told: str | None = None  # the last reason for not polling, logged once
        self.last_round: RoundSummary | None = None

    def run_round(self) -> RoundSummary | None:
        try:
            self.last_round = poll_once(self._engine, poller_access(self._settings, self._engine))
        except (NotPolling, InvalidInput) as refused:
            # No logins, or GIGALIS_DEVICES=lab with no lab up: nothing to poll until the
            # settings or the lab change.
            self._tell(f"not polling the routers: {refused}")
            return None
        except Exception:
            log.exception("poll round failed")
            return None
        self._told = None
        summary = self.last_round
        if summary.incidents_opened or summary.incidents_closed or summary.failed_devices:
            log.info(
                "poll: %d routers (%d silent), incidents opened %s, closed %s",
                summary.devices,
                len(summary.failed_devices),
                summary.incidents_opened,
                summary.incidents_closed,
            )
        return summary

    def _tell(self, message: str) -> None:
        if message != self._told:
            log.warning("%s", message)
            self._told = message
