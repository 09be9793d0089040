"""VLAN links emulated with a veth pair, tc and eBPF (``vlan_emulation``): read back from what
``ip -j -d link show`` and ``tc -j filter show`` printed on a kernel without 802.1Q
(``frr/recorded/vlan-emulation``), the commands planned, and how the driver runs them."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from gigalis_nms.devices.frr import ebpf
from gigalis_nms.devices.frr.kernel import (
    Bridge,
    KernelObjects,
    KernelSectionError,
    KernelState,
    Vlan,
    Vxlan,
    check_references,
    expected_objects,
    parse_kernel_intent,
    parse_kernel_section,
    parse_kernel_state,
    plan_kernel_changes,
    render_kernel_section,
)
from gigalis_nms.devices.frr.kernel_access import RouterKernel
from gigalis_nms.devices.frr.options import VlanMode, parse_optional_args
from gigalis_nms.devices.frr.revert import render_revert_script
from gigalis_nms.devices.frr.router import Router, StateFiles
from gigalis_nms.devices.frr.transport import CommandResult
from gigalis_nms.devices.frr.vlan_emulation import (
    DETECT_8021Q,
    EmulatedVlan,
    KernelChange,
    filter_devices,
    filter_dump_command,
    hidden_end,
    parse_filter_dump,
    plan_change,
    projected_state,
    read_emulated_vlans,
)
from tests.unit.devices.frr.replay import RECORDED

FOLDER = RECORDED / "vlan-emulation"
# Router A of the lab test: p1 to the CPE, p1.100 emulated in br100 with vx100.
LINKS: list[dict[str, Any]] = json.loads((FOLDER / "ip-j-d-link-show.json").read_text())
FILTERS_TEXT = (FOLDER / "tc-filter-dump.txt").read_text()
HIDDEN = hidden_end("p1.100")
STATE_DIR = "/var/lib/gigalis-frr"
OBJECT = f"{STATE_DIR}/gigalis-vlan-100.o"


def recorded_state(filters: dict[str, list[dict[str, Any]]] | None = None) -> KernelState:
    dump = parse_filter_dump(FILTERS_TEXT) if filters is None else filters
    return parse_kernel_state(LINKS, read_emulated_vlans(LINKS, dump))


# --- reading back -------------------------------------------------------------------------------


def test_the_filters_are_read_only_where_emulated_links_are() -> None:
    assert filter_devices(LINKS) == [HIDDEN, "p1"]
    r1 = json.loads(next((RECORDED / "r1").glob("13-ip-j-d-link-show*")).read_text())
    assert filter_devices(r1) == []  # a router without emulation: no tc command at all


def test_an_intact_emulated_link_reads_back_as_a_vlan_link() -> None:
    state = recorded_state()

    assert state.objects["p1.100"] == Vlan("p1.100", "p1", 100, master="br100", mtu=1500)
    assert state.emulated["p1.100"].intact
    assert HIDDEN not in state.objects  # the hidden end is no object, and no bridge port
    assert render_kernel_section(state.objects) == (
        "link br100 type bridge mtu 1500\n"
        "link p1.100 type vlan link p1 id 100 master br100 mtu 1500\n"
        "link vx100 type vxlan id 100 local 198.51.100.1 remote 198.51.100.2 dstport 4789"
        " nolearning master br100 mtu 1500\n"
    )


def test_a_recommit_of_what_runs_plans_nothing() -> None:
    state = recorded_state()
    intent = parse_kernel_section(render_kernel_section(state.objects))

    change = plan_change(
        state, expected_objects(state.objects, intent, replace=True), emulate=True, object_dir="/x"
    )

    assert not change
    assert change.lines() == []


def without_options(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in entries if "options" not in entry]


@pytest.mark.parametrize(
    ("broken", "receiving", "sending"),
    [
        ("p1", False, True),  # the parent lost its filter (the port was made again)
        (HIDDEN, True, False),
    ],
)
def test_a_link_whose_filter_is_gone_is_broken(broken: str, receiving: bool, sending: bool) -> None:
    filters = parse_filter_dump(FILTERS_TEXT)
    filters[broken] = without_options(filters[broken])

    state = recorded_state(filters)

    assert "p1.100" not in state.objects
    link = state.emulated["p1.100"]
    assert (link.receiving, link.sending, link.intact) == (receiving, sending, False)


def test_a_filter_that_redirects_elsewhere_does_not_count() -> None:
    filters = parse_filter_dump(FILTERS_TEXT)
    action = filters["p1"][1]["options"]["actions"][0]
    action["to_dev"] = "eth9"

    assert not recorded_state(filters).emulated["p1.100"].receiving


def test_a_broken_link_is_deleted_first_and_made_again_when_named() -> None:
    filters = parse_filter_dump(FILTERS_TEXT)
    filters["p1"] = without_options(filters["p1"])  # no filter of ours left on p1
    state = recorded_state(filters)
    wanted = {**state.objects, "p1.100": Vlan("p1.100", "p1", 100, master="br100")}

    change = plan_change(state, wanted, emulate=True, object_dir=STATE_DIR)

    assert change.filters_before == []  # nothing on p1 to delete
    assert change.links[0] == "link del dev p1.100"
    assert change.links[1].startswith("link add name p1.100 type veth")
    assert change.vlan_ids == {100}


def test_a_broken_link_does_not_count_as_a_link_the_driver_does_not_manage() -> None:
    filters = parse_filter_dump(FILTERS_TEXT)
    filters["p1"] = without_options(filters["p1"])
    intent = parse_kernel_intent("link p1.100 type vlan link p1 id 100 master br100\n")

    check_references(intent, recorded_state(filters), replace=False)


def test_unreadable_filters_are_named() -> None:
    with pytest.raises(ValueError, match="tc -j filter show dev p1: not JSON"):
        parse_filter_dump("@@ p1\nError: Cannot find device\n")


# --- planning -----------------------------------------------------------------------------------

PHYSICAL = frozenset({"lo", "eth1", "eth2"})


def native_state(objects: KernelObjects) -> KernelState:
    return KernelState(objects, PHYSICAL | set(objects))


def test_an_emulated_vlan_link_is_a_veth_pair_then_two_filters() -> None:
    wanted = parse_kernel_section(
        "link br100 type bridge\nlink eth1.100 type vlan link eth1 id 100 master br100 mtu 9000\n"
    )
    peer = hidden_end("eth1.100")

    change = plan_change(native_state({}), wanted, emulate=True, object_dir="/var/lib/g frr")

    assert change.links == [
        "link add name br100 type bridge",
        f"link add name eth1.100 mtu 9000 type veth peer name {peer} mtu 65535",
        "link set dev eth1.100 alias gigalis-vlan:eth1:100",
        f"link set dev {peer} alias gigalis-vlan-peer:eth1.100",
        f"link set dev {peer} addrgenmode none",
        "link set dev eth1 promisc on",
        f"link set dev {peer} up",
        "link set dev eth1.100 master br100",
        "link set dev br100 up",
        "link set dev eth1.100 up",
    ]
    common = 'ingress pref 40100 handle 1 protocol all bpf obj "/var/lib/g frr/gigalis-vlan-100.o"'
    assert change.filters_after == [
        "qdisc replace dev eth1 clsact",
        f"filter replace dev eth1 {common} sec vlan_rx action mirred egress redirect dev {peer}",
        f"qdisc replace dev {peer} clsact",
        f"filter replace dev {peer} {common} sec vlan_tx action mirred egress redirect dev eth1",
    ]
    assert change.filters_before == []
    assert (change.vlan_ids, change.emulated) == ({100}, {"eth1.100"})


def test_without_emulation_the_plan_is_the_ip_batch_alone() -> None:
    wanted = parse_kernel_section("link eth1.100 type vlan link eth1 id 100\n")

    change = plan_change(native_state({}), wanted, emulate=False, object_dir=STATE_DIR)

    assert change == KernelChange(links=plan_kernel_changes({}, wanted))
    assert change.links[0] == "link add link eth1 name eth1.100 type vlan id 100"


def test_removing_an_emulated_link_deletes_its_parent_filter_then_the_pair() -> None:
    state = recorded_state()
    wanted = {name: obj for name, obj in state.objects.items() if name != "p1.100"}

    change = plan_change(state, wanted, emulate=False, object_dir=STATE_DIR)

    assert change.filters_before == ["filter del dev p1 ingress pref 40100"]
    assert change.links == ["link del dev p1.100"]  # its hidden end and filter go with it
    assert change.filters_after == []


def test_a_new_vlan_id_makes_the_link_again_with_new_filters() -> None:
    state = recorded_state()
    wanted = {**state.objects, "p1.100": Vlan("p1.100", "p1", 200, master="br100")}

    change = plan_change(state, wanted, emulate=True, object_dir=STATE_DIR)

    assert change.filters_before == ["filter del dev p1 ingress pref 40100"]
    assert change.links[0] == "link del dev p1.100"
    assert "pref 40200" in change.filters_after[1]
    assert change.vlan_ids == {200}


def test_a_vlan_link_on_an_emulated_one_is_made_after_its_parent() -> None:
    wanted = parse_kernel_section(
        "link eth1.100 type vlan link eth1 id 100\nlink eth1.100.7 type vlan link eth1.100 id 7\n"
    )

    change = plan_change(native_state({}), wanted, emulate=True, object_dir=STATE_DIR)

    adds = [line for line in change.links if line.startswith("link add")]
    assert [line.split()[3] for line in adds] == ["eth1.100", "eth1.100.7"]
    parents = [line.split()[3] for line in change.filters_after if line.startswith("filter")]
    assert parents == ["eth1", hidden_end("eth1.100"), "eth1.100", hidden_end("eth1.100.7")]


def test_the_way_back_of_a_change_undoes_it() -> None:
    before = native_state({"br1": Bridge("br1")})
    vlan = Vlan("eth1.5", "eth1", 5, master="br1")
    wanted: KernelObjects = {"br1": Bridge("br1"), "eth1.5": vlan}
    forward = plan_change(before, wanted, emulate=True, object_dir=STATE_DIR)

    after = projected_state(before, wanted, forward)
    undo = plan_change(after, before.objects, emulate=True, object_dir=STATE_DIR)

    assert after.emulated["eth1.5"] == EmulatedVlan(vlan, hidden_end("eth1.5"), True, True, True)
    assert undo.filters_before == ["filter del dev eth1 ingress pref 40005"]
    assert undo.links == ["link del dev eth1.5"]


def test_the_way_back_of_a_removal_makes_the_link_again() -> None:
    state = recorded_state()
    wanted = {name: obj for name, obj in state.objects.items() if name != "p1.100"}
    forward = plan_change(state, wanted, emulate=True, object_dir=STATE_DIR)

    undo = plan_change(
        projected_state(state, wanted, forward), state.objects, emulate=True, object_dir=STATE_DIR
    )

    assert undo.links[0] == f"link add name p1.100 mtu 1500 type veth peer name {HIDDEN} mtu 65535"
    assert "link set dev p1.100 master br100" in undo.links
    assert undo.vlan_ids == {100}


def test_a_second_link_of_one_vlan_on_one_parent_is_refused_at_load() -> None:
    intent = parse_kernel_intent(
        "link a.7 type vlan link eth1 id 7\nlink b.7 type vlan link eth1 id 7\n", first_line=3
    )

    with pytest.raises(KernelSectionError) as refused:
        check_references(intent, native_state({}), replace=True)

    assert str(refused.value) == (
        "line 3: a.7: VLAN 7 of eth1 is link b.7 already;"
        " line 4: b.7: VLAN 7 of eth1 is link a.7 already"
    )


# --- the driver's side: reading, asking, running --------------------------------------------------


@dataclass
class FakeRouter:
    """Answers the commands of RouterKernel; records them, with their standard input."""

    links: list[dict[str, Any]]
    filters: str = ""
    has_8021q: bool = False
    failing: str | None = None
    calls: list[tuple[list[str], str | None]] = field(default_factory=list)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_alive(self) -> bool:
        return True

    def run(self, argv: Sequence[str], stdin: str | None = None) -> CommandResult:
        self.calls.append((list(argv), stdin))
        ok, stdout, stderr = True, "", ""
        if list(argv) == ["ip", "-j", "-d", "link", "show"]:
            stdout = json.dumps(self.links)
        elif list(argv) == DETECT_8021Q:
            ok = self.has_8021q
        elif list(argv[:3]) == ["sh", "-c", filter_dump_command([])[2]]:
            stdout = self.filters
        elif self.failing is not None and argv[0] == "tc" and self.failing in (stdin or ""):
            ok, stderr = False, "Error: Parent Qdisc doesn't exists.\nCommand failed -:2\n"
        return CommandResult(tuple(argv), 0 if ok else 1, stdout, stderr)

    def commands(self) -> list[str]:
        return [" ".join(argv) if argv[0] != "sh" else f"sh … {argv[-1]}" for argv, _ in self.calls]


def router_kernel(router: FakeRouter, vlan_mode: VlanMode = "auto") -> RouterKernel:
    return RouterKernel(Router("r1", router, None), STATE_DIR, vlan_mode)


def test_reading_a_router_with_emulated_links_takes_one_more_command() -> None:
    router = FakeRouter(LINKS, FILTERS_TEXT)

    state = router_kernel(router).state()

    assert state.emulated["p1.100"].intact
    assert [argv for argv, _ in router.calls][1] == filter_dump_command([HIDDEN, "p1"])


WANTED: KernelObjects = {"eth1.100": Vlan("eth1.100", "eth1", 100)}


def test_the_kernel_is_asked_about_8021q_once_and_only_when_a_vlan_link_is_made() -> None:
    router = FakeRouter([])
    kernel = router_kernel(router)
    state = native_state({})

    kernel.plan(state, {"br1": Bridge("br1")})
    assert router.calls == []
    first = kernel.plan(state, WANTED)
    second = kernel.plan(state, WANTED)

    assert [argv for argv, _ in router.calls] == [DETECT_8021Q]
    assert first == second
    assert first.vlan_ids == {100}


@pytest.mark.parametrize(
    ("vlan_mode", "has_8021q", "emulated"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("native", False, False),
        ("emulated", True, True),
    ],
)
def test_the_mode_decides_how_vlan_links_are_made(
    vlan_mode: VlanMode, has_8021q: bool, emulated: bool
) -> None:
    router = FakeRouter([], has_8021q=has_8021q)

    change = router_kernel(router, vlan_mode).plan(native_state({}), WANTED)

    assert bool(change.filters_after) is emulated
    assert (router.calls != []) is (vlan_mode == "auto")


def test_a_change_writes_its_objects_then_runs_tc_ip_and_tc() -> None:
    router = FakeRouter([])
    state = recorded_state()
    wanted = {**state.objects, "p1.100": Vlan("p1.100", "p1", 200, master="br100")}
    kernel = router_kernel(router, "emulated")
    change = kernel.plan(state, wanted)

    assert kernel.apply(change) is None

    argv, stdin = router.calls[0]
    assert argv == ["sh", "-c", argv[2], "sh", f"{STATE_DIR}/gigalis-vlan-200.o"]
    assert base64.b64decode(stdin or "") == ebpf.vlan_object(200)
    assert [argv for argv, _ in router.calls[1:]] == [
        ["tc", "-batch", "-"],
        ["ip", "-batch", "-"],
        ["tc", "-batch", "-"],
    ]
    assert router.calls[1][1] == "filter del dev p1 ingress pref 40100\n"


def test_the_object_writer_decodes_and_renames_into_place(tmp_path: Any) -> None:
    path = tmp_path / "gigalis-vlan-9.o"
    router = FakeRouter([])
    router_kernel(router).write_objects([KernelChange(vlan_ids=frozenset({9}))])
    argv, stdin = router.calls[0]

    subprocess.run([*argv[:-1], str(path)], input=stdin, text=True, check=True)

    assert path.read_bytes() == ebpf.vlan_object(9)
    assert path.stat().st_mode & 0o777 == 0o600
    assert not path.with_name("gigalis-vlan-9.o.tmp").exists()


def test_a_failing_tc_line_is_named_with_its_batch() -> None:
    router = FakeRouter([], failing="filter replace")
    kernel = router_kernel(router, "emulated")

    problem = kernel.apply(kernel.plan(native_state({}), WANTED))

    peer = hidden_end("eth1.100")
    assert problem == (
        f"eth1: `filter replace dev eth1 ingress pref 40100 handle 1 protocol all bpf obj"
        f" {STATE_DIR}/gigalis-vlan-100.o sec vlan_rx action mirred egress redirect dev {peer}`"
        " (line 2 of the tc batch): Error: Parent Qdisc doesn't exists."
    )


def test_the_revert_timer_runs_the_tc_batches_around_the_ip_batch() -> None:
    files = StateFiles("/var/lib/gigalis frr")
    script = render_revert_script(files, "gl-r1", delay=30, filters=True)

    checked = subprocess.run(
        ["sh", "-n"], input=script, text=True, capture_output=True, check=False
    )

    assert checked.returncode == 0, checked.stderr
    before = script.index("tc -force -batch '/var/lib/gigalis frr/revert-filters-before.batch'")
    ip = script.index("ip -force -batch '/var/lib/gigalis frr/revert-kernel.batch'")
    after = script.index("tc -force -batch '/var/lib/gigalis frr/revert-filters-after.batch'")
    assert before < ip < after
    assert "tc " not in render_revert_script(files, "gl-r1", delay=30)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("8021q", "vlan_mode: '8021q' is not one of auto, native, emulated"),
        (True, "vlan_mode: True is not a string"),
    ],
)
def test_a_bad_vlan_mode_is_refused(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^optional_args: {reason}"):
        parse_optional_args({"vlan_mode": value})


def test_the_vlan_mode_defaults_to_asking_the_kernel() -> None:
    assert parse_optional_args({}).vlan_mode == "auto"
    assert parse_optional_args({"vlan_mode": "emulated"}).vlan_mode == "emulated"


def test_vxlan_objects_of_the_recording_are_untouched_by_the_emulation() -> None:
    assert isinstance(recorded_state().objects["vx100"], Vxlan)
