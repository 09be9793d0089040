"""Record what real FRR routers print, and replay it to the driver without a router.

A recording is a folder: ``commands.json`` says how the driver was opened and lists each
command it ran (argument vector, exit code, standard error, and the file holding standard
output); the outputs are plain text files, readable and diffable on their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gigalis_nms.devices.frr.driver import FrrDriver
from gigalis_nms.devices.frr.transport import CommandResult, Transport

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class RecordingTransport:
    """Passes every command to a real transport and keeps what it answered."""

    inner: Transport
    results: list[CommandResult] = field(default_factory=list)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def is_alive(self) -> bool:
        return self.inner.is_alive()

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        result = self.inner.run(argv, stdin)
        # The first answer is the one replayed: a getter sees one consistent router state.
        if all(kept.argv != result.argv for kept in self.results):
            self.results.append(result)
        return result

    def save(self, folder: Path, hostname: str, optional_args: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.txt"):
            old.unlink()
        index = []
        for number, result in enumerate(self.results, start=1):
            slug = re.sub(r"[^a-z0-9]+", "-", " ".join(result.argv[:6]).lower()).strip("-")
            name = f"{number:02d}-{slug[:60]}.txt"
            (folder / name).write_text(result.stdout)
            index.append(
                {
                    "argv": list(result.argv),
                    "exit_code": result.exit_code,
                    "stdout": name,
                    "stderr": result.stderr,
                }
            )
        document = {"hostname": hostname, "optional_args": optional_args, "commands": index}
        (folder / "commands.json").write_text(json.dumps(document, indent=2) + "\n")


class ReplayTransport:
    """Answers each command with its recorded output; an unrecorded command is a test error."""

    def __init__(self, folder: Path) -> None:
        document = json.loads((folder / "commands.json").read_text())
        self.results = {
            tuple(entry["argv"]): CommandResult(
                tuple(entry["argv"]),
                entry["exit_code"],
                (folder / entry["stdout"]).read_text(),
                entry["stderr"],
            )
            for entry in document["commands"]
        }
        self._open = False

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def is_alive(self) -> bool:
        return self._open

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        try:
            return self.results[tuple(argv)]
        except KeyError:
            raise AssertionError(f"no recorded output for {list(argv)}") from None


class ReplayDriver(FrrDriver):
    """The real driver, fed from a recording instead of a router."""

    folder: Path

    def make_transport(self) -> Transport:
        return ReplayTransport(self.folder)


def replay_driver(name: str) -> ReplayDriver:
    """A driver opened on the recording ``recorded/<name>``, as it was opened when recorded."""
    folder = RECORDED / name
    document = json.loads((folder / "commands.json").read_text())
    driver = ReplayDriver(document["hostname"], "root", "", optional_args=document["optional_args"])
    driver.folder = folder
    return driver


def recording_names() -> list[str]:
    return sorted(path.parent.name for path in RECORDED.glob("*/commands.json"))
