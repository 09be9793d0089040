"""The kernel half of a router's configuration, read and changed through the router's tools.

Reading is ``ip -j -d link show``, plus, only when the router has emulated VLAN links,
one ``tc -j filter show`` per parent and hidden end, all in one command. A change runs as
``tc -batch`` (filters going away), ``ip -batch`` (links), ``tc -batch`` (filters of the
emulated links made): on a kernel with 802.1Q, or without VLAN links to make, only the
``ip`` batch, exactly as before emulation existed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from napalm.base.exceptions import CommandErrorException

from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.kernel import explain_batch_failure, parse_kernel_state, render_batch
from gigalis_nms.devices.frr.kernel_model import EmulatedVlan, KernelObjects, KernelState
from gigalis_nms.devices.frr.options import VlanMode
from gigalis_nms.devices.frr.parsers import parse_links
from gigalis_nms.devices.frr.router import Router
from gigalis_nms.devices.frr.vlan_emulation import (
    DETECT_8021Q,
    KernelChange,
    creates_vlans,
    filter_devices,
    filter_dump_command,
    object_path,
    object_text,
    parse_filter_dump,
    plan_change,
    read_emulated_vlans,
    write_object_command,
)

log = logging.getLogger(__name__)


def tc_batch(*, force: bool) -> list[str]:
    return ["tc", *(["-force"] if force else []), "-batch", "-"]


class RouterKernel:
    """A router's links: their state, the change to an expected state, and applying it.

    ``vlan_mode``: "native" makes VLAN links with ``ip link add … type vlan``, "emulated"
    with ``vlan_emulation``; "auto" asks the router once, when a change first makes one,
    whether its kernel has 802.1Q. ``object_dir`` holds the eBPF objects of the emulation.
    """

    def __init__(self, router: Router, object_dir: str, vlan_mode: VlanMode = "auto") -> None:
        self.router = router
        self.object_dir = object_dir
        self.vlan_mode = vlan_mode
        self._has_8021q: bool | None = None

    @property
    def _name(self) -> str:
        return self.router.name

    def state(self) -> KernelState:
        text = self.router.check_kernel_dump(commands.IP_LINKS)
        try:
            links = parse_links(text)
        except (ValueError, KeyError) as error:
            raise CommandErrorException(f"{self._name}: ip link: {error}") from error
        emulated = self._emulated_vlans(links)
        try:
            return parse_kernel_state(links, emulated)
        except (ValueError, KeyError) as error:
            raise CommandErrorException(f"{self._name}: ip link: {error}") from error

    def _emulated_vlans(self, links: list[dict[str, Any]]) -> dict[str, EmulatedVlan]:
        devices = filter_devices(links)
        if not devices:
            return {}
        text = self.router.check(filter_dump_command(devices))
        try:
            return read_emulated_vlans(links, parse_filter_dump(text))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CommandErrorException(f"{self._name}: tc filter show: {error}") from error

    def emulates_vlans(self) -> bool:
        if self.vlan_mode != "auto":
            return self.vlan_mode == "emulated"
        if self._has_8021q is None:
            self._has_8021q = self.router.run(DETECT_8021Q).ok
            how = "with 802.1Q" if self._has_8021q else "without 802.1Q: VLAN links emulated"
            log.info("%s: kernel %s", self._name, how)
        return not self._has_8021q

    def plan(self, state: KernelState, expected: KernelObjects) -> KernelChange:
        """The change from ``state`` to ``expected``; asks about 802.1Q only when it makes a
        VLAN link."""
        emulate = creates_vlans(state.objects, expected) and self.emulates_vlans()
        return plan_change(state, expected, emulate=emulate, object_dir=self.object_dir)

    def write_objects(self, changes: Iterable[KernelChange]) -> None:
        """The eBPF objects the changes load, in ``object_dir`` (one small file per VLAN ID,
        rewritten each time: they are the same for a given ID)."""
        for vlan_id in sorted({vlan_id for change in changes for vlan_id in change.vlan_ids}):
            path = object_path(self.object_dir, vlan_id)
            self.router.check(write_object_command(path), stdin=object_text(vlan_id))

    def apply(self, change: KernelChange, *, force: bool = False) -> str | None:
        """Run the change; None when every line ran, else what failed, line by line. Without
        ``force`` it stops at the first failing line; with it, it goes on past each (to undo
        as much as possible) and reports them all."""
        self.write_objects([change])
        ip = ["ip", "-force", "-batch", "-"] if force else commands.IP_BATCH_FROM_STDIN
        steps = [
            (tc_batch(force=force), change.filters_before, "tc"),
            (ip, change.links, "ip"),
            (tc_batch(force=force), change.filters_after, "tc"),
        ]
        problems = []
        for argv, lines, tool in steps:
            if not lines:
                continue
            result = self.router.run(argv, stdin=render_batch(lines))
            if result.ok:
                continue
            problems.append(explain_batch_failure(lines, result.output, tool=tool))
            if not force:
                break
        return "; ".join(problems) or None
