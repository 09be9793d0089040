"""Routers in memory behind a real NAPALM driver interface, for the job tests that must make
devices fail on cue (refuse a commit, stop answering) on both databases without the lab.

This is a stand-in, said so where it is used: the real routers are the lab's FRR ones, and
tests/lab/test_provisioning_lab.py runs the same jobs against them. Here the point is the
job's own logic (all-or-nothing, records, recovery), which does not depend on the device.

The driver is registered as the NAPALM driver ``memory`` (NAPALM imports ``napalm_memory``),
and a Nornir over the inventory's routers uses it through the stock nornir_napalm plugin.
"""

from __future__ import annotations

import difflib
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommitError, ConnectionException
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.plugins.runners import ThreadedRunner
from sqlmodel import Session

from gigalis_nms.errors import FieldProblem
from gigalis_nms.provisioning.devices import NAPALM_CONNECTION
from gigalis_nms.provisioning.render import BaseConfigs, production_base_configs


@dataclass
class MemoryRouter:
    running: str = ""
    candidate: str | None = None
    previous: str | None = None
    pending: bool = False
    unreachable: bool = False
    refuse_commit: str | None = None  # the reason a commit is refused, when set
    refuse_confirm: str | None = None  # the reason a confirmation fails, when set
    commits: list[str] = field(default_factory=list)


class Fleet:
    """The routers of one test, by hostname."""

    def __init__(self) -> None:
        self.routers: dict[str, MemoryRouter] = {}

    def router(self, hostname: str) -> MemoryRouter:
        return self.routers.setdefault(hostname, MemoryRouter())


CURRENT = Fleet()  # the fleet drivers open; each test installs its own with ``install``


class MemoryDriver(NetworkDriver):
    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        self.hostname = hostname
        self.name = (optional_args or {})["name"]

    @property
    def _router(self) -> MemoryRouter:
        router = CURRENT.router(self.name)
        if router.unreachable:
            raise ConnectionException(f"{self.name}: no answer from {self.hostname}")
        return router

    def open(self) -> None:
        _ = self._router

    def close(self) -> None:
        pass

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": not CURRENT.router(self.name).unreachable}

    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        self._router.candidate = config or ""

    def compare_config(self) -> str:
        router = self._router
        if router.candidate is None:
            return ""
        return "".join(
            difflib.unified_diff(
                router.running.splitlines(keepends=True),
                router.candidate.splitlines(keepends=True),
                "running",
                "candidate",
            )
        )

    def discard_config(self) -> None:
        self._router.candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        router = self._router
        if router.refuse_commit:
            raise CommitError(router.refuse_commit)
        router.previous, router.running = router.running, router.candidate or ""
        router.candidate, router.pending = None, revert_in is not None
        router.commits.append(message)

    def confirm_commit(self) -> None:
        router = self._router
        if router.refuse_confirm:
            raise CommitError(router.refuse_confirm)
        router.pending = False

    def has_pending_commit(self) -> bool:
        return self._router.pending

    def rollback(self) -> None:
        router = self._router
        if router.previous is not None:
            router.running, router.previous = router.previous, None
        router.pending = False

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> dict[str, str]:
        return {"running": self._router.running, "startup": "", "candidate": ""}


def install(fleet: Fleet) -> None:
    """Make ``fleet`` the one drivers open, and NAPALM find the ``memory`` driver."""
    global CURRENT  # noqa: PLW0603 - the drivers NAPALM builds have no other way in
    CURRENT = fleet
    module = types.ModuleType("napalm_memory")
    module.MemoryDriver = MemoryDriver  # type: ignore[attr-defined]
    sys.modules["napalm_memory"] = module


@dataclass
class MemoryAccess:
    """A job's access to the inventory's routers, in memory."""

    fleet: Fleet

    @property
    def target(self) -> str:
        return "inventory"  # these stand in for production routers

    def nornir(self, hostnames: Sequence[str]) -> Nornir:
        ConnectionPluginRegister.auto_register()
        defaults = Defaults()
        hosts = Hosts()
        for name in hostnames:
            hosts[name] = Host(
                name=name,
                hostname=f"{name}.invalid",  # never resolved: the driver is in memory
                platform="memory",
                connection_options={
                    NAPALM_CONNECTION: ConnectionOptions(extras={"optional_args": {"name": name}})
                },
                defaults=defaults,
            )
        inventory = Inventory(hosts=hosts, groups=Groups(), defaults=defaults)
        return Nornir(inventory=inventory, runner=ThreadedRunner(num_workers=10))

    def base_configs(self, session: Session) -> BaseConfigs:
        return production_base_configs(session)

    def refusals(self, session: Session, hostnames: Sequence[str]) -> list[FieldProblem]:
        return []  # these routers hold only what the tests' jobs put there
