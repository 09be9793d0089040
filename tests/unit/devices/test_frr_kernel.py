"""The kernel section: parsing with line numbers, reference checks, and the ip batch plan."""

from __future__ import annotations

import pytest

from gigalis_nms.devices.frr.kernel import (
    Bridge,
    KernelObjects,
    KernelSectionError,
    KernelState,
    Port,
    Vlan,
    Vxlan,
    check_references,
    diff_kernel_sections,
    expected_objects,
    explain_batch_failure,
    parse_kernel_intent,
    parse_kernel_section,
    plan_kernel_changes,
    render_kernel_section,
)

SECTION = """\
! the bridge of circuit C-0001
link br100 type bridge mtu 9000
link eth1.100 type vlan link eth1 id 100 master br100
link vx100 type vxlan id 100 local 192.0.2.1 remote 192.0.2.2 dstport 4789 nolearning master br100
link eth1.100.7 type vlan link eth1.100 id 7
port eth3 master br100
"""
PHYSICAL = frozenset({"lo", "eth1", "eth2", "eth3"})


def state(objects: KernelObjects) -> KernelState:
    return KernelState(objects, PHYSICAL | set(objects))


def test_every_kind_of_line_is_read() -> None:
    objects = parse_kernel_section(SECTION)

    assert objects == {
        "br100": Bridge("br100", mtu=9000),
        "eth1.100": Vlan("eth1.100", "eth1", 100, master="br100"),
        "vx100": Vxlan(
            "vx100", 100, "192.0.2.1", remote="192.0.2.2", learning=False, master="br100"
        ),
        "eth1.100.7": Vlan("eth1.100.7", "eth1.100", 7),
        "eth3": Port("eth3", "br100"),
    }


def test_rendering_reads_back_the_same_objects() -> None:
    objects = parse_kernel_section(SECTION)
    assert parse_kernel_section(render_kernel_section(objects)) == objects


def test_vxlan_defaults_to_the_iana_port_and_learning() -> None:
    (vxlan,) = parse_kernel_section("link vx1 type vxlan id 1 local 2001:db8::1").values()
    assert vxlan == Vxlan("vx1", 1, "2001:db8::1", dstport=4789, learning=True)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("link br1 type bond", "line 3: type: 'bond' is not one of bridge, vlan, vxlan"),
        ("link v1 type vlan link eth1", "line 3: id: required for a vlan link"),
        ("link v1 type vlan link eth1 id 4095", "line 3: id: 4095 is not between 1 and 4094"),
        ("link v1 type vlan link eth1 id 10 mtu", "line 3: mtu: needs a value"),
        ("link br1 type bridge master br2", "line 3: master: not an option of a bridge link"),
        ("link br1 type bridge mtu 1500 mtu 9000", "line 3: mtu: given twice"),
        ("link x type vxlan id 5 local 192.0.2.300", "line 3: local: '192.0.2.300' is not an IP"),
        ("link x type vxlan id 5 local 192.0.2.1 remote 2001:db8::2", "line 3: remote: not of"),
        ("link averyveryverylongname type bridge", "line 3: name: 'averyveryverylongname'"),
        ("link br:1 type bridge", "line 3: name: 'br:1' is not a valid interface name: holds"),
        ("link br/1 type bridge", "line 3: name: 'br/1' is not a valid interface name: holds"),
        ("link .. type bridge", "line 3: name: '..' is not a valid interface name: reserved"),
        ("port . master br9", "line 3: name: '.' is not a valid interface name: reserved"),
        # 15 characters, but 16 bytes: the kernel counts bytes.
        (
            "link brücke-circuit1 type bridge",
            "line 3: name: 'brücke-circuit1' is not a valid interface",
        ),
        ("link v1 type vlan link eth:1 id 5", "line 3: name: 'eth:1' is not a valid"),
        ("port eth3 br100", "line 3: port: expected 'port NAME master BRIDGE'"),
        ("bridge br1", "line 3: bridge: expected 'link NAME type bridge|vlan|vxlan"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_and_reason(line: str, reason: str) -> None:
    text = f"! comment\nlink br9 type bridge\n{line}\n"
    with pytest.raises(KernelSectionError) as refused:
        parse_kernel_section(text)
    assert str(refused.value).startswith(reason)


def test_every_bad_line_is_reported_at_once_numbered_in_the_document() -> None:
    text = "link br1 type bridge\nlink br1 type bridge\nlink v1 type vlan id 3\n"
    with pytest.raises(KernelSectionError) as refused:
        parse_kernel_section(text, first_line=20)
    assert [problem.location for problem in refused.value.problems] == ["line 21", "line 22"]
    assert str(refused.value) == (
        "line 21: br1: declared twice; line 22: link: required for a vlan link"
    )


def test_references_must_resolve_against_intent_and_router() -> None:
    intended = parse_kernel_intent(
        "link v1 type vlan link eth9 id 3 master br7\n"
        "port eth5 master br100\n"
        "link eth2 type bridge\n"
        "link vx1 type vxlan id 1 local 192.0.2.1 master v1\n",
        first_line=10,
    )
    with pytest.raises(KernelSectionError) as refused:
        check_references(intended, state({}), replace=True)

    assert [str(problem) for problem in refused.value.problems] == [
        "line 10: v1: master br7 is not a bridge",
        "line 10: v1: parent link eth9 does not exist",
        "line 11: eth5: master br100 is not a bridge",
        "line 11: eth5: a port must be an existing link the driver does not manage",
        "line 12: eth2: exists as a link the driver does not manage",
        "line 13: vx1: master v1 is not a bridge",
    ]


def test_a_merge_may_refer_to_a_bridge_already_on_the_router() -> None:
    intended = parse_kernel_intent("port eth3 master br100\n")
    check_references(intended, state({"br100": Bridge("br100")}), replace=False)
    with pytest.raises(KernelSectionError, match="master br100 is not a bridge"):
        check_references(intended, state({"br100": Bridge("br100")}), replace=True)


def test_a_loopback_or_a_link_with_an_address_cannot_join_a_bridge() -> None:
    intended = parse_kernel_intent(
        "link br1 type bridge\nport lo master br1\nport eth1 master br1\nport eth2 master br1\n"
    )
    actual = KernelState({}, PHYSICAL, loopbacks=frozenset({"lo"}))
    addresses = {"eth1": ["198.51.100.11/24", "2001:db8::11/64"]}

    with pytest.raises(KernelSectionError) as refused:
        check_references(intended, actual, replace=False, addresses=addresses)

    assert [str(problem) for problem in refused.value.problems] == [
        "line 2: lo: a loopback cannot be a bridge port",
        "line 3: eth1: holds the address 198.51.100.11/24, 2001:db8::11/64; a bridge port"
        " answers on no address of its own (the management session may be using it):"
        " remove the address first",
    ]


def test_creation_puts_parents_first_then_masters_settings_and_up() -> None:
    intended = parse_kernel_section(SECTION)

    batch = plan_kernel_changes({}, expected_objects({}, intended, replace=True))

    assert batch == [
        "link add name br100 type bridge",
        "link add link eth1 name eth1.100 type vlan id 100",
        "link add name vx100 type vxlan id 100 local 192.0.2.1 remote 192.0.2.2 dstport 4789"
        " nolearning",
        "link add link eth1.100 name eth1.100.7 type vlan id 7",
        "link set dev eth1.100 master br100",
        "link set dev eth3 master br100",
        "link set dev vx100 master br100",
        # Last: the kernel lowers a bridge's MTU to its ports' as each joins.
        "link set dev br100 mtu 9000",
        "link set dev br100 up",
        "link set dev eth1.100 up",
        "link set dev vx100 up",
        "link set dev eth1.100.7 up",
    ]


def test_a_replace_deletes_children_first_and_releases_ports() -> None:
    actual = parse_kernel_section(SECTION)

    batch = plan_kernel_changes(actual, expected_objects(actual, {}, replace=True))

    assert batch == [
        "link set dev eth3 nomaster",
        "link del dev eth1.100.7",
        "link del dev eth1.100",
        "link del dev vx100",
        "link del dev br100",
    ]


def test_a_merge_never_deletes() -> None:
    actual = parse_kernel_section(SECTION)
    intended = parse_kernel_section("link br200 type bridge\n")

    batch = plan_kernel_changes(actual, expected_objects(actual, intended, replace=False))

    assert batch == ["link add name br200 type bridge", "link set dev br200 up"]


def test_a_changed_vni_recreates_the_tunnel_but_a_new_mtu_does_not() -> None:
    actual = parse_kernel_section(SECTION)
    intended = parse_kernel_section(
        SECTION.replace("mtu 9000", "mtu 1500").replace("vxlan id 100", "vxlan id 101")
    )

    batch = plan_kernel_changes(actual, expected_objects(actual, intended, replace=True))

    assert batch == [
        "link del dev vx100",
        "link add name vx100 type vxlan id 101 local 192.0.2.1 remote 192.0.2.2 dstport 4789"
        " nolearning",
        "link set dev vx100 master br100",
        "link set dev br100 mtu 1500",
        "link set dev vx100 up",
    ]


def test_a_moved_port_and_a_dropped_master_are_settings() -> None:
    actual = parse_kernel_section(
        "link br1 type bridge\nlink br2 type bridge\nport eth3 master br1\n"
        "link v5 type vlan link eth1 id 5 master br1\n"
    )
    intended = parse_kernel_section(
        "link br1 type bridge\nlink br2 type bridge\nport eth3 master br2\n"
        "link v5 type vlan link eth1 id 5\n"
    )

    batch = plan_kernel_changes(actual, expected_objects(actual, intended, replace=True))

    assert batch == ["link set dev v5 nomaster", "link set dev eth3 master br2"]


def test_an_intent_without_mtu_keeps_the_current_mtu() -> None:
    actual = {"br1": Bridge("br1", mtu=9000)}
    intended = parse_kernel_section("link br1 type bridge\n")

    expected = expected_objects(actual, intended, replace=True)

    assert expected == actual
    assert plan_kernel_changes(actual, expected) == []


def test_the_kernel_diff_is_a_unified_diff_and_empty_when_equal() -> None:
    running = "link br1 type bridge mtu 1500\n"
    candidate = "link br1 type bridge mtu 1500\nlink br2 type bridge\n"

    assert diff_kernel_sections(running, running) == ""
    assert diff_kernel_sections(running, candidate) == (
        "--- running\n+++ candidate\n@@ -1 +1,2 @@\n"
        " link br1 type bridge mtu 1500\n+link br2 type bridge\n"
    )


def test_undoing_a_plan_returns_to_the_start() -> None:
    before = parse_kernel_section("link br1 type bridge mtu 1500\nport eth3 master br1\n")
    after = expected_objects(before, parse_kernel_section(SECTION), replace=True)

    undo = plan_kernel_changes(after, before)

    assert undo == [
        "link del dev eth1.100.7",
        "link del dev eth1.100",
        "link del dev vx100",
        "link del dev br100",
        "link add name br1 type bridge",
        "link set dev eth3 master br1",
        "link set dev br1 mtu 1500",
        "link set dev br1 up",
    ]


def test_a_bridge_gaining_a_member_has_its_mtu_set_again_after_it_joins() -> None:
    actual = parse_kernel_section("link br1 type bridge mtu 9000\n")
    intended = parse_kernel_section(
        "link vx1 type vxlan id 1 local 192.0.2.1 master br1 mtu 9000\nport eth3 master br1\n"
    )

    batch = plan_kernel_changes(actual, expected_objects(actual, intended, replace=False))

    assert batch == [
        "link add name vx1 mtu 9000 type vxlan id 1 local 192.0.2.1 dstport 4789",
        "link set dev eth3 master br1",
        "link set dev vx1 master br1",
        "link set dev br1 mtu 9000",
        "link set dev vx1 up",
    ]


def test_a_failing_batch_line_is_named_with_its_link() -> None:
    batch = ["link add name br1 type bridge", "link set dev lo master br1", "link del dev x"]
    output = (
        "RTNETLINK answers: Invalid argument\nCommand failed -:2\n"
        'Cannot find device "x"\nCommand failed -:3\n'
    )

    assert explain_batch_failure(batch, output) == (
        "lo: `link set dev lo master br1` (line 2 of the ip batch): RTNETLINK answers: Invalid"
        ' argument; x: `link del dev x` (line 3 of the ip batch): Cannot find device "x"'
    )
