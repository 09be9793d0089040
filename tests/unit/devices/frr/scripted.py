"""A scripted router for the configuration cycle's unit tests: r1's recorded answers, a small
kernel that runs ``ip -batch`` lines on a copy of r1's links, and files kept in memory.

It answers like r1 did, records every command (a command wrapped in ``sh -c … sh`` is
recorded as the command it wraps), fails the commands it is told to, answers others as it
is told to, and can lose the session at a given command, as a router whose management path
the change just cut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from napalm.base.exceptions import CommandTimeoutException

from gigalis_nms.devices.frr.transport import CommandResult
from tests.unit.devices.frr.replay import RECORDED

LINKS = next((RECORDED / "r1").glob("13-ip-j-d-link-show*")).read_text()
ADDRESSES = next((RECORDED / "r1").glob("09-ip-j-addr-show*")).read_text()
RUNNING = next((RECORDED / "r1").glob("14-vtysh-*running-config*")).read_text()
VTYSH_ERRORS = (RECORDED / "config-r1" / "vtysh-check-stderr.txt").read_text()


class BatchLineFailed(Exception):
    pass


@dataclass
class FakeKernel:
    """r1's links, changed by ``ip -batch`` lines as Linux would, quirks included: until its
    MTU is set with ``link set``, a bridge takes the smallest MTU of its ports as each joins.
    """

    links: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {link["ifname"]: link for link in json.loads(LINKS)}
    )
    mtu_set_by_hand: set[str] = field(default_factory=set)

    def dump(self) -> str:
        return json.dumps(list(self.links.values()))

    def run_batch(self, text: str, *, force: bool) -> CommandResult:
        errors = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                self._run(line.split())
            except BatchLineFailed as failed:
                errors.append(f"{failed}\nCommand failed -:{number}")
                if not force:
                    break
        return CommandResult(("ip", "-batch", "-"), 1 if errors else 0, "", "\n".join(errors))

    def _run(self, words: list[str]) -> None:
        if words[:2] == ["link", "add"]:
            self._add(words[2:])
            return
        name = words[3]
        if name not in self.links:
            raise BatchLineFailed(f'Cannot find device "{name}"')
        link = self.links[name]
        if words[1] == "del":
            del self.links[name]
            for port in self.links.values():
                if port.get("master") == name:
                    port.pop("master")
                    port["linkinfo"].pop("info_slave_kind", None)
        elif words[4:5] == ["master"]:
            self._enslave(link, words[5])
        elif words[4:5] == ["nomaster"]:
            link.pop("master", None)
            link["linkinfo"].pop("info_slave_kind", None)
        elif words[4:5] == ["mtu"]:
            link["mtu"] = int(words[5])
            self.mtu_set_by_hand.add(name)

    def _add(self, words: list[str]) -> None:
        options: dict[str, str] = {}
        flags = set()
        position = 0
        while position < len(words):
            if words[position] == "nolearning":
                flags.add("nolearning")
                position += 1
            else:
                options[words[position]] = words[position + 1]
                position += 2
        kind, name = options["type"], options["name"]
        data: dict[str, Any] = {"id": int(options["id"])} if "id" in options else {}
        if kind == "vxlan":
            data |= {
                "local": options["local"],
                "port": int(options["dstport"]),
                "learning": "nolearning" not in flags,
            }
            data |= {"remote": options["remote"]} if "remote" in options else {}
        link: dict[str, Any] = {
            "ifname": name,
            "mtu": int(options.get("mtu", "1500")),
            "link_type": "ether",
            "linkinfo": {"info_kind": kind, "info_data": data},
        }
        if "link" in options:
            link["link"] = options["link"]
        self.links[name] = link

    def _enslave(self, link: dict[str, Any], master: str) -> None:
        if link.get("link_type") == "loopback":
            raise BatchLineFailed("RTNETLINK answers: Invalid argument")
        link["master"] = master
        link["linkinfo"] = {**link.get("linkinfo", {}), "info_slave_kind": "bridge"}
        if master not in self.mtu_set_by_hand:
            ports = [other["mtu"] for other in self.links.values() if other.get("master") == master]
            self.links[master]["mtu"] = min(ports)


@dataclass
class ScriptedRouter:
    """Answers like r1 did; records every command; fails the commands it is told to."""

    failing: set[str] = field(default_factory=set)
    answers: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    lose_session_at: str | None = None
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    raw: list[list[str]] = field(default_factory=list)  # every command as it was sent
    files: dict[str, str] = field(default_factory=lambda: {"/etc/frr/frr.conf": "hostname r1\n"})
    kernel: FakeKernel = field(default_factory=FakeKernel)
    closed: bool = False

    def open(self) -> None: ...

    def close(self) -> None:
        self.closed = True

    def is_alive(self) -> bool:
        return not self.closed

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        self.raw.append(list(argv))
        if list(argv[:2]) == ["sh", "-c"] and argv[3] == "sh":
            argv = argv[4:]
        line = " ".join(argv)
        if self.lose_session_at is not None and line.startswith(self.lose_session_at):
            self.lose_session_at = ""  # every command from now on
        if self.lose_session_at == "" or self.closed:
            raise CommandTimeoutException(f"r1: {line} did not finish in 8 s")
        self.calls.append((line, stdin))
        for prefix, (exit_code, stdout, stderr) in self.answers.items():
            if line.startswith(prefix):
                return CommandResult(tuple(argv), exit_code, stdout, stderr)
        if any(line.startswith(prefix) for prefix in self.failing):
            return CommandResult(tuple(argv), 2, "", VTYSH_ERRORS)
        if argv[0] in ("dd", "mv", "cp", "rm", "test", "cat"):
            return self._file_command(argv, stdin)
        if line in ("ip -batch -", "ip -force -batch -"):
            result = self.kernel.run_batch(stdin or "", force="-force" in argv)
            return CommandResult(tuple(argv), result.exit_code, "", result.stderr)
        stdout = {
            "ip -j -d link show": self.kernel.dump(),
            "ip -j addr show": ADDRESSES,
            "vtysh -c show running-config": RUNNING,
        }
        return CommandResult(tuple(argv), 0, stdout.get(line, ""), "")

    def _file_command(self, argv: Sequence[str], stdin: str | None) -> CommandResult:
        """Keeps the files, as the session relies on test, cat, mv and cp."""
        ok, stdout = True, ""
        if argv[0] == "dd":
            self.files[argv[1].removeprefix("of=")] = stdin or ""
        elif argv[0] in ("mv", "cp"):
            source, target = argv[-2], argv[-1]
            ok = source in self.files
            if ok:
                self.files[target] = self.files[source]
            if ok and argv[0] == "mv":
                del self.files[source]
        elif argv[0] == "rm":
            for path in argv[2:]:
                self.files.pop(path, None)
        elif argv[0] == "cat":
            ok = argv[1] in self.files
            stdout = self.files.get(argv[1], "")
        else:
            ok = bool(set(self.files) & {word for word in argv[1:] if word.startswith("/")})
        return CommandResult(tuple(argv), 0 if ok else 1, stdout, "")

    def commands(self) -> list[str]:
        return [
            line
            for line, _ in self.calls
            if not line.startswith(("test ", "dd ", "mv ", "cat ", "install "))
        ]

    def stdin_of(self, line: str) -> str:
        """What the last command ``line`` was given on its standard input."""
        return next(stdin or "" for ran, stdin in reversed(self.calls) if ran == line)
