"""The router's command runner: an inconsistent kernel dump is taken again, a failure is not.

The transport here is a scripted stand-in: an interrupted netlink dump cannot be produced on
demand on a live router."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from napalm.base.exceptions import CommandErrorException

from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.router import Router
from gigalis_nms.devices.frr.transport import CommandResult

GOOD_DUMP = '[{"ifindex":1,"ifname":"lo"}]'
BROKEN_DUMP = '[{"ifindex":1,"ifname":"lo"} {"ifin'


class ScriptedTransport:
    """Answers each command with the next of the given (exit code, stdout, stderr)."""

    def __init__(self, answers: list[tuple[int, str, str]]) -> None:
        self.answers = answers
        self.calls = 0

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def is_alive(self) -> bool:
        return True

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        exit_code, stdout, stderr = self.answers[self.calls]
        self.calls += 1
        return CommandResult(tuple(argv), exit_code, stdout, stderr)


def router_answering(*answers: tuple[int, str, str]) -> tuple[Router, ScriptedTransport]:
    transport = ScriptedTransport(list(answers))
    return Router("r1", transport, pathspace=None), transport


def test_a_broken_dump_is_taken_again() -> None:
    router, transport = router_answering((0, BROKEN_DUMP, ""), (0, GOOD_DUMP, ""))
    assert router.check_kernel_dump(commands.IP_LINKS) == GOOD_DUMP
    assert transport.calls == 2


def test_an_interrupted_dump_is_taken_again() -> None:
    interrupted = "Dump was interrupted and may be inconsistent.\n"
    router, transport = router_answering((2, GOOD_DUMP[:10], interrupted), (0, GOOD_DUMP, ""))
    assert router.check_kernel_dump(commands.IP_LINKS) == GOOD_DUMP
    assert transport.calls == 2


def test_a_dump_broken_three_times_goes_to_the_parser() -> None:
    router, transport = router_answering(*[(0, BROKEN_DUMP, "")] * 3)
    assert router.check_kernel_dump(commands.IP_LINKS) == BROKEN_DUMP
    assert transport.calls == 3


def test_a_failing_command_is_not_retried() -> None:
    router, transport = router_answering((1, "", 'Cannot find device "eth9"'))
    with pytest.raises(CommandErrorException, match="eth9"):
        router.check_kernel_dump(commands.IP_LINKS)
    assert transport.calls == 1
