"""One router as the driver talks to it: a transport plus the checks every command needs.

Errors name the router (the host name the driver was given) and say what failed, so that a
Nornir run over forty routers reports each failure on its own line without a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from napalm.base.exceptions import CommandErrorException, ConnectionException

from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.parsers import load_json
from gigalis_nms.devices.frr.transport import CommandResult, Transport, read_file, write_file

log = logging.getLogger(__name__)

# What vtysh says, and exits 1 on, when no daemon of the instance answers on its socket.
_FRR_DOWN = "failed to connect to any daemons"


@dataclass(frozen=True)
class StateFiles:
    """The driver's files in the router's state folder; only shell tools ever read them."""

    directory: str

    def _path(self, name: str) -> str:
        return f"{self.directory}/{name}"

    @property
    def candidate_frr(self) -> str:
        return self._path("candidate-frr.conf")

    @property
    def merged_frr(self) -> str:
        """Running configuration followed by a merge candidate, for frr-reload to diff."""
        return self._path("merged-frr.conf")

    @property
    def before_commit(self) -> str:
        """The whole document the router ran before the commit under way or pending. It
        becomes ``rollback`` only once that commit has succeeded and is not pending."""
        return self._path("before-commit.conf")

    @property
    def before_commit_frr(self) -> str:
        """Its FRR section, which a failed commit and the revert timer put back."""
        return self._path("before-commit-frr.conf")

    @property
    def revert_batch(self) -> str:
        """The ip batch from the commit's intended links back to ``before_commit``'s."""
        return self._path("revert-kernel.batch")

    @property
    def revert_filters_before(self) -> str:
        """For emulated VLAN links: the tc batch the timer runs before ``revert_batch``."""
        return self._path("revert-filters-before.batch")

    @property
    def revert_filters_after(self) -> str:
        """And the one it runs after it."""
        return self._path("revert-filters-after.batch")

    @property
    def rollback(self) -> str:
        """The whole document the router ran before the last commit that succeeded."""
        return self._path("rollback.conf")

    @property
    def rollback_frr(self) -> str:
        """The FRR section of the snapshot a rollback applies."""
        return self._path("rollback-frr.conf")

    @property
    def startup_before_commit(self) -> str:
        return self._path("startup-frr-before-commit.conf")

    @property
    def kernel_startup(self) -> str:
        """The saved kernel section: the kernel half of the startup configuration."""
        return self._path("kernel.conf")

    @property
    def pending(self) -> str:
        """Present while a commit with revert_in waits for its confirmation."""
        return self._path("pending")

    @property
    def reverting(self) -> str:
        """The pending marker, renamed by the timer while it puts the snapshot back."""
        return self._path("pending.reverting")

    @property
    def revert_script(self) -> str:
        return self._path("revert.sh")

    @property
    def revert_pid(self) -> str:
        return self._path("revert.pid")

    @property
    def revert_log(self) -> str:
        return self._path("revert.log")


_DUMP_ATTEMPTS = 3
_DUMP_INTERRUPTED = "Dump was interrupted"  # iproute2's warning on NLM_F_DUMP_INTR


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class Router:
    """Runs commands on one router and turns failures into NAPALM's exceptions."""

    def __init__(self, name: str, transport: Transport, pathspace: str | None) -> None:
        self.name = name
        self.transport = transport
        self.pathspace = pathspace

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        log.debug("%s: running %s", self.name, " ".join(argv))
        return self.transport.run(argv, stdin)

    def check(self, argv: Sequence[str], stdin: str | None = None) -> str:
        """Run a command that must succeed; its standard output."""
        result = self.run(argv, stdin)
        self.raise_if_frr_down(result)
        if not result.ok:
            raise CommandErrorException(self.failure(result))
        return result.stdout

    def check_kernel_dump(self, argv: Sequence[str]) -> str:
        """Run an ``ip -j`` dump that must succeed; its output, as valid JSON text.

        Seen in the lab just after it came up, with every router read at once: ``ip -j -d -s
        link show`` once printed JSON broken in the middle, and never again on a retry. The
        likely cause is a netlink dump interrupted by a concurrent change (zebra or lldpd
        touching an interface), which iproute2 reports as "Dump was interrupted". Such a dump
        is taken again, up to three times; a failing command is not retried."""
        for _ in range(_DUMP_ATTEMPTS):
            result = self.run(argv)
            interrupted = _DUMP_INTERRUPTED in result.stderr
            if not interrupted and (not result.ok or _is_json(result.stdout)):
                break
            log.info("%s: %s gave an inconsistent dump; taking it again", self.name, argv[0])
        if not result.ok:
            raise CommandErrorException(self.failure(result))
        return result.stdout  # the parser names what is wrong with it

    def failure(self, result: CommandResult) -> str:
        return (
            f"{self.name}: {result.command_line} failed (exit {result.exit_code}):"
            f" {result.output or 'no output'}"
        )

    def raise_if_frr_down(self, result: CommandResult) -> None:
        if not result.ok and _FRR_DOWN in result.output:
            instance = f"pathspace {self.pathspace}" if self.pathspace else "default instance"
            raise ConnectionException(
                f"{self.name}: FRR is not running ({instance}): vtysh cannot connect to any"
                " of its daemons"
            )

    def vtysh(self, command: str) -> str:
        return self.check(commands.vtysh(self.pathspace, command))

    def vtysh_json(self, command: str) -> Any:
        text = self.vtysh(command)
        try:
            return load_json(text, command)
        except ValueError as error:
            raise CommandErrorException(f"{self.name}: {error}") from error

    def read_file(self, path: str) -> str | None:
        try:
            return read_file(self.transport, path)
        except OSError as error:
            raise CommandErrorException(f"{self.name}: {error}") from error

    def write_file(self, path: str, text: str) -> None:
        """Write one of the driver's files: private, as they hold FRR's secrets."""
        try:
            write_file(self.transport, path, text, private=True)
        except OSError as error:
            raise CommandErrorException(f"{self.name}: {error}") from error

    def copy_file(self, source: str, target: str) -> None:
        """Copy a file into the state folder, private like the driver's own."""
        self.check(commands.private(["cp", source, target]))

    def make_state_dir(self, files: StateFiles) -> None:
        # 0700 even when the folder exists already: the snapshots hold FRR's configuration,
        # passwords included.
        self.check(commands.make_private_dir(files.directory))
