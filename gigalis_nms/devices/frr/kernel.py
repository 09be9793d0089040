"""The kernel part of a router's configuration: bridges, VLAN and VXLAN links, bridge ports.

FRR configures routing but creates no link: the bridge and the VXLAN tunnel that carry a
customer's Ethernet circuit are kernel objects, made with iproute2. This module describes
them as a declarative intended state, one object per line::

    link br100 type bridge mtu 9000
    link eth1.100 type vlan link eth1 id 100 master br100
    link vx100 type vxlan id 100 local 192.0.2.1 remote 192.0.2.2 dstport 4789 nolearning
    port eth3 master br100

reads the actual state from ``ip -j -d link show``, and turns the difference into an
``ip -batch`` script: deletions children first, creations parents first, then settings, the
MTU of bridges once their members have joined, then ``link set … up`` for what was created.
Every function here is pure.

The driver manages links of kind bridge, vlan and vxlan, and the master of physical ports
enslaved to a bridge. Everything else (physical interfaces, loopback, veth, tunnels) is
left alone, even by a replace.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gigalis_nms.devices.frr.kernel_model import (
    MANAGED_KINDS,
    VXLAN_PORT,
    Bridge,
    EmulatedVlan,
    KernelIntent,
    KernelObject,
    KernelObjects,
    KernelState,
    Port,
    Vlan,
    Vxlan,
)
from gigalis_nms.errors import FieldProblem, InvalidInput

_MAX_NAME = 15  # bytes: IFNAMSIZ - 1


class KernelSectionError(InvalidInput):
    """The kernel section was refused; each problem names its line and the reason."""


# --- parsing the intended state -------------------------------------------------------------


def parse_kernel_section(text: str, first_line: int = 1) -> KernelObjects:
    """The objects a kernel section declares; every bad line is reported, with its number in
    the whole document (``first_line`` is the number of the section's first line).

    >>> parse_kernel_section("link br1 type bridge\\nport eth3 master br1")["eth3"]
    Port(name='eth3', master='br1')
    >>> parse_kernel_section("link br1 type bridge mtu 40", first_line=7)
    Traceback (most recent call last):
    ...
    gigalis_nms.devices.frr.kernel.KernelSectionError: line 7: mtu: 40 is not between 68 and 65535
    """
    return parse_kernel_intent(text, first_line).objects


def parse_kernel_intent(text: str, first_line: int = 1) -> KernelIntent:
    """As :func:`parse_kernel_section`, keeping each object's line number for later checks.

    >>> parse_kernel_intent("! circuit C-0001\\nlink br1 type bridge\\n", first_line=4).lines
    {'br1': 5}
    """
    objects: KernelObjects = {}
    lines: dict[str, int] = {}
    problems: list[FieldProblem] = []
    for number, line in enumerate(text.splitlines(), start=first_line):
        words = line.split()
        if not words or words[0].startswith(("!", "#")):
            continue
        try:
            parsed = _parse_line(words)
        except _LineError as error:
            problems.append(FieldProblem(error.field, error.reason, f"line {number}"))
            continue
        if parsed.name in objects:
            problems.append(FieldProblem(parsed.name, "declared twice", f"line {number}"))
            continue
        objects[parsed.name] = parsed
        lines[parsed.name] = number
    if problems:
        raise KernelSectionError("; ".join(str(problem) for problem in problems), problems)
    return KernelIntent(objects, lines)


class _LineError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# Options each kind accepts after "link NAME type KIND": value-taking keys, then flags.
_KIND_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bridge": (frozenset({"mtu"}), frozenset()),
    "vlan": (frozenset({"link", "id", "master", "mtu"}), frozenset()),
    "vxlan": (
        frozenset({"id", "local", "remote", "dstport", "master", "mtu"}),
        frozenset({"nolearning"}),
    ),
}
_REQUIRED = {"bridge": (), "vlan": ("link", "id"), "vxlan": ("id", "local")}
_GRAMMAR = "expected 'link NAME type bridge|vlan|vxlan …' or 'port NAME master BRIDGE'"


def _parse_line(words: list[str]) -> KernelObject:
    if words[0] == "port":
        if len(words) != 4 or words[2] != "master":
            raise _LineError("port", "expected 'port NAME master BRIDGE'")
        return Port(_name(words[1]), _name(words[3]))
    if words[0] != "link" or len(words) < 4 or words[2] != "type":
        raise _LineError(words[0], _GRAMMAR)
    name, kind = _name(words[1]), words[3]
    if kind not in _KIND_OPTIONS:
        raise _LineError("type", f"{kind!r} is not one of {', '.join(MANAGED_KINDS)}")
    options, flags = _options(kind, words[4:])
    missing = [key for key in _REQUIRED[kind] if key not in options]
    if missing:
        raise _LineError(missing[0], f"required for a {kind} link")
    mtu = _number("mtu", options["mtu"], 68, 65535) if "mtu" in options else None
    master = _name(options["master"]) if "master" in options else None
    if kind == "bridge":
        return Bridge(name, mtu=mtu)
    if kind == "vlan":
        vlan_id = _number("id", options["id"], 1, 4094)
        return Vlan(name, _name(options["link"]), vlan_id, master=master, mtu=mtu)
    return _vxlan(name, options, flags, master, mtu)


def _vxlan(
    name: str, options: dict[str, str], flags: set[str], master: str | None, mtu: int | None
) -> Vxlan:
    local = _address("local", options["local"])
    remote = _address("remote", options["remote"]) if "remote" in options else None
    if remote is not None and ipaddress.ip_address(remote).version != (
        ipaddress.ip_address(local).version
    ):
        raise _LineError("remote", "not of the same IP version as local")
    return Vxlan(
        name,
        vni=_number("id", options["id"], 1, 16777215),
        local=local,
        remote=remote,
        dstport=_number("dstport", options["dstport"], 1, 65535)
        if "dstport" in options
        else VXLAN_PORT,
        learning="nolearning" not in flags,
        master=master,
        mtu=mtu,
    )


def _options(kind: str, words: list[str]) -> tuple[dict[str, str], set[str]]:
    keys, known_flags = _KIND_OPTIONS[kind]
    options: dict[str, str] = {}
    flags: set[str] = set()
    position = 0
    while position < len(words):
        word = words[position]
        if word in known_flags:
            flags.add(word)
            position += 1
            continue
        if word not in keys:
            raise _LineError(word, f"not an option of a {kind} link")
        if word in options:
            raise _LineError(word, "given twice")
        if position + 1 >= len(words):
            raise _LineError(word, "needs a value")
        options[word] = words[position + 1]
        position += 2
    return options, flags


def _name(word: str) -> str:
    """A name the kernel accepts for a link (its ``dev_valid_name``)."""
    reason = None
    if len(word.encode()) > _MAX_NAME:
        reason = f"longer than {_MAX_NAME} bytes"
    elif word in (".", ".."):
        reason = "reserved"
    elif any(character in "/:" or character.isspace() for character in word):
        reason = "holds '/', ':' or a space"
    if reason is not None:
        raise _LineError("name", f"{word!r} is not a valid interface name: {reason}")
    return word


def _number(field: str, word: str, low: int, high: int) -> int:
    if not word.isdigit() or not low <= int(word) <= high:
        raise _LineError(field, f"{word} is not between {low} and {high}")
    return int(word)


def _address(field: str, word: str) -> str:
    try:
        return str(ipaddress.ip_address(word))
    except ValueError as error:
        raise _LineError(field, f"{word!r} is not an IP address") from error


def check_references(
    intent: KernelIntent,
    actual: KernelState,
    *,
    replace: bool,
    addresses: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Refuse an intent that names what will not exist (a master that is not a bridge, a VLAN
    parent or a port that is no link), a managed line that would overwrite a physical port,
    or a port that must not join a bridge: a loopback, or a link holding an address other
    than a link-local one (``addresses``, by link name), which would stop answering there;
    the management session may well be using it. Each problem names its line."""
    result = expected_objects(actual.objects, intent.objects, replace=replace)
    # An emulated VLAN link is the driver's even when broken (then it is not an object).
    managed = {name for name, obj in actual.objects.items() if not isinstance(obj, Port)}
    unmanaged = actual.links - managed - set(actual.emulated)
    problems: list[FieldProblem] = []
    for obj in intent.objects.values():
        where = f"line {intent.lines[obj.name]}" if obj.name in intent.lines else None
        reasons = _reference_problems(obj, result, unmanaged)
        if isinstance(obj, Port) and actual.objects.get(obj.name) != obj:
            reasons += _port_problems(obj, actual, addresses or {})
        problems += [FieldProblem(obj.name, reason, where) for reason in reasons]
    if problems:
        raise KernelSectionError("; ".join(str(problem) for problem in problems), problems)


def _reference_problems(
    obj: KernelObject, result: KernelObjects, unmanaged: frozenset[str]
) -> list[str]:
    problems = []
    if obj.master is not None and not isinstance(result.get(obj.master), Bridge):
        problems.append(f"master {obj.master} is not a bridge")
    if isinstance(obj, Vlan) and obj.parent not in unmanaged and obj.parent not in result:
        problems.append(f"parent link {obj.parent} does not exist")
    if isinstance(obj, Vlan):
        # The kernel refuses a second link of one VLAN on one parent (an emulated one would
        # take the first one's frames): said at load rather than half-way through a commit.
        twins = [
            other.name
            for other in result.values()
            if isinstance(other, Vlan)
            and other.name != obj.name
            and (other.parent, other.vlan_id) == (obj.parent, obj.vlan_id)
        ]
        problems += [f"VLAN {obj.vlan_id} of {obj.parent} is link {name} already" for name in twins]
    if isinstance(obj, Port) and obj.name not in unmanaged:
        problems.append("a port must be an existing link the driver does not manage")
    if not isinstance(obj, Port) and obj.name in unmanaged:
        problems.append("exists as a link the driver does not manage")
    return problems


def _port_problems(
    port: Port, actual: KernelState, addresses: Mapping[str, Iterable[str]]
) -> list[str]:
    """Why a link may not be attached to a bridge (one it is not in yet)."""
    if port.name in actual.loopbacks:
        return ["a loopback cannot be a bridge port"]
    held = list(addresses.get(port.name, ()))
    if held:
        return [
            f"holds the address {', '.join(held)}; a bridge port answers on no address of its"
            " own (the management session may be using it): remove the address first"
        ]
    return []


# --- reading the actual state ---------------------------------------------------------------


def parse_kernel_state(
    links: list[dict[str, Any]], emulated: Mapping[str, EmulatedVlan] | None = None
) -> KernelState:
    """The managed objects among the links of ``ip -j -d link show``. The veths of the
    ``emulated`` VLAN links (``vlan_emulation.read_emulated_vlans``) stand for VLAN links
    when intact, and for nothing else in any case: not a bridge port, for one."""
    emulated = dict(emulated or {})
    objects: KernelObjects = {}
    for link in links:
        obj = None if link["ifname"] in emulated else _object_of(link)
        if obj is not None:
            objects[obj.name] = obj
    objects |= {name: link.vlan for name, link in emulated.items() if link.intact}
    return KernelState(
        objects,
        frozenset(link["ifname"] for link in links),
        frozenset(link["ifname"] for link in links if link.get("link_type") == "loopback"),
        emulated,
    )


def routable_addresses(links: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The addresses of ``ip -j addr show`` by link, link-local ones left out (every IPv6 link
    has one; it carries no service).

    >>> routable_addresses([{"ifname": "eth1", "addr_info": [
    ...     {"local": "198.51.100.11", "prefixlen": 24},
    ...     {"local": "fe80::1", "prefixlen": 64}]}])
    {'eth1': ['198.51.100.11/24']}
    """
    result: dict[str, list[str]] = {}
    for link in links:
        for address in link.get("addr_info", []):
            if "local" in address and not ipaddress.ip_address(address["local"]).is_link_local:
                held = result.setdefault(link["ifname"], [])
                held.append(f"{address['local']}/{address['prefixlen']}")
    return result


def _object_of(link: dict[str, Any]) -> KernelObject | None:
    # Shortcoming: attributes outside the grammar (bridge VLAN filtering and STP, 802.1ad,
    # VXLAN multicast groups) are not read, so a difference there is neither shown nor fixed.
    info = link.get("linkinfo", {})
    kind, data = info.get("info_kind"), info.get("info_data", {})
    name, master, mtu = link["ifname"], link.get("master"), link.get("mtu")
    if kind == "bridge":
        return Bridge(name, mtu=mtu)
    if kind == "vlan":
        # The parent is named only when it lives in the same namespace (else "link_index").
        parent = link.get("link", f"if{link.get('link_index', '?')}")
        return Vlan(name, parent, int(data["id"]), master=master, mtu=mtu)
    if kind == "vxlan":
        return Vxlan(
            name,
            vni=int(data["id"]),
            local=data.get("local") or data.get("local6") or "",
            remote=data.get("remote") or data.get("remote6"),
            dstport=int(data.get("port", VXLAN_PORT)),
            learning=bool(data.get("learning", True)),
            master=master,
            mtu=mtu,
        )
    if master is not None and info.get("info_slave_kind") == "bridge":
        return Port(name, master)
    return None


# --- rendering ----------------------------------------------------------------------------------

_KIND_ORDER = {Bridge: 0, Vlan: 1, Vxlan: 2, Port: 3}


def render_object(obj: KernelObject) -> str:
    """One line of the kernel section; parse_kernel_section reads it back unchanged."""
    if isinstance(obj, Port):
        return f"port {obj.name} master {obj.master}"
    words = ["link", obj.name, "type"]
    if isinstance(obj, Bridge):
        words.append("bridge")
    elif isinstance(obj, Vlan):
        words += ["vlan", "link", obj.parent, "id", str(obj.vlan_id)]
    else:
        words += ["vxlan", "id", str(obj.vni), "local", obj.local]
        words += ["remote", obj.remote] if obj.remote else []
        words += ["dstport", str(obj.dstport)]
        words += [] if obj.learning else ["nolearning"]
    words += ["master", obj.master] if obj.master else []
    words += ["mtu", str(obj.mtu)] if obj.mtu is not None else []
    return " ".join(words)


def render_kernel_section(objects: Mapping[str, KernelObject]) -> str:
    """Bridges first, then VLANs, VXLANs and ports, each sorted by name."""
    ordered = sorted(objects.values(), key=lambda obj: (_KIND_ORDER[type(obj)], obj.name))
    return "".join(f"{render_object(obj)}\n" for obj in ordered)


def diff_kernel_sections(running: str, candidate: str) -> str:
    """A unified diff of two rendered kernel sections, empty when they are equal."""
    lines = difflib.unified_diff(
        running.splitlines(), candidate.splitlines(), "running", "candidate", lineterm=""
    )
    return "".join(f"{line}\n" for line in lines)


# --- planning the change ------------------------------------------------------------------------


def expected_objects(
    actual: KernelObjects, intended: KernelObjects, *, replace: bool
) -> KernelObjects:
    """The managed objects once the intent is applied. A replace drops what the intent does
    not name; a merge keeps it. An intent without ``mtu`` keeps the link's current MTU."""
    result: KernelObjects = {} if replace else dict(actual)
    for name, wanted in intended.items():
        current = actual.get(name)
        if (
            not isinstance(wanted, Port)
            and wanted.mtu is None
            and current is not None
            and not isinstance(current, Port)
            and not must_recreate(current, wanted)
        ):
            result[name] = dataclasses.replace(wanted, mtu=current.mtu)
        else:
            result[name] = wanted
    return result


def _creation_attributes(obj: KernelObject) -> tuple[object, ...]:
    """What ``ip link add`` fixes for the life of a link: changing it means recreating."""
    if isinstance(obj, Vlan):
        return (obj.parent, obj.vlan_id)
    if isinstance(obj, Vxlan):
        return (obj.vni, obj.local, obj.remote, obj.dstport, obj.learning)
    return ()


def must_recreate(current: KernelObject, wanted: KernelObject) -> bool:
    return type(current) is not type(wanted) or (
        _creation_attributes(current) != _creation_attributes(wanted)
    )


def _depths(objects: KernelObjects) -> dict[str, int]:
    """How many managed objects each one stands on (its master, its VLAN parent), so that
    sorting by depth puts parents before children."""
    depths: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in depths:
            return depths[name]
        obj = objects.get(name)
        if obj is None or name in seen:
            return -1
        below = [obj.master, obj.parent if isinstance(obj, Vlan) else None]
        value = 1 + max((depth(other, seen | {name}) for other in below if other), default=-1)
        depths[name] = value
        return value

    for name in objects:
        depth(name, frozenset())
    return depths


def plan_kernel_changes(
    actual: KernelObjects,
    expected: KernelObjects,
    *,
    add_vlan: Callable[[Vlan], list[str]] | None = None,
) -> list[str]:
    """The ``ip -batch`` lines that turn the actual managed objects into the expected ones.
    ``add_vlan`` gives the lines that create a VLAN link, in place of ``link add … type
    vlan`` (the emulation's, on a kernel without 802.1Q)."""
    removed = [obj for name, obj in actual.items() if name not in expected]
    added = [obj for name, obj in expected.items() if name not in actual]
    kept = [(actual[name], obj) for name, obj in expected.items() if name in actual]
    for current, wanted in kept:
        if must_recreate(current, wanted):
            removed.append(current)
            added.append(wanted)
    recreated = {obj.name for obj in added}
    changed = [(old, new) for old, new in kept if new.name not in recreated and old != new]

    old_depth, new_depth = _depths(actual), _depths(expected)
    by_old_depth = sorted(removed, key=lambda obj: (-old_depth[obj.name], obj.name))
    by_new_depth = sorted(added, key=lambda obj: (new_depth[obj.name], obj.name))
    changed.sort(key=lambda pair: (new_depth[pair[1].name], pair[1].name))

    batch = [f"link set dev {obj.name} nomaster" for obj in removed if isinstance(obj, Port)]
    batch += [f"link del dev {obj.name}" for obj in by_old_depth if not isinstance(obj, Port)]
    for obj in by_new_depth:
        if isinstance(obj, Vlan) and add_vlan is not None:
            batch += add_vlan(obj)
        elif not isinstance(obj, Port):
            batch.append(_add_command(obj))
    batch += [_master_command(obj.name, obj.master) for obj in by_new_depth if obj.master]
    for old, new in changed:
        batch += _settings_commands(old, new)
    batch += _bridge_mtu_commands(actual, expected, added, changed)
    batch += [f"link set dev {obj.name} up" for obj in by_new_depth if not isinstance(obj, Port)]
    return batch


def _add_command(obj: Bridge | Vlan | Vxlan) -> str:
    words = ["link", "add"]
    if isinstance(obj, Vlan):
        words += ["link", obj.parent]
    words += ["name", obj.name]
    # A bridge's MTU is set once its members have joined (see _bridge_mtu_commands).
    words += ["mtu", str(obj.mtu)] if obj.mtu is not None and not isinstance(obj, Bridge) else []
    if isinstance(obj, Bridge):
        words += ["type", "bridge"]
    elif isinstance(obj, Vlan):
        words += ["type", "vlan", "id", str(obj.vlan_id)]
    else:
        words += ["type", "vxlan", "id", str(obj.vni), "local", obj.local]
        words += ["remote", obj.remote] if obj.remote else []
        words += ["dstport", str(obj.dstport)]
        words += [] if obj.learning else ["nolearning"]
    return " ".join(words)


def _master_command(name: str, master: str | None) -> str:
    if master is None:
        return f"link set dev {name} nomaster"
    return f"link set dev {name} master {master}"


def _settings_commands(old: KernelObject, new: KernelObject) -> list[str]:
    commands = []
    if old.master != new.master:
        commands.append(_master_command(new.name, new.master))
    old_mtu = None if isinstance(old, Port) else old.mtu
    # A bridge's MTU comes after every member has joined: see _bridge_mtu_commands.
    if isinstance(new, Vlan | Vxlan) and new.mtu is not None and new.mtu != old_mtu:
        commands.append(f"link set dev {new.name} mtu {new.mtu}")
    return commands


def _bridge_mtu_commands(
    actual: KernelObjects,
    expected: KernelObjects,
    added: list[KernelObject],
    changed: list[tuple[KernelObject, KernelObject]],
) -> list[str]:
    """The MTU of bridges, set last: until its MTU is set by hand, the kernel lowers a
    bridge's MTU to the smallest of its ports' as each one joins, so an MTU given at
    creation is lost to the first 1500-byte port. Set with ``link set``, it stays. A bridge
    gaining a member has its MTU set again, as its MTU may never have been set by hand."""
    joining = {obj.master for obj in added if obj.master is not None}
    joining |= {new.master for old, new in changed if new.master and new.master != old.master}
    commands = []
    for bridge in sorted(expected.values(), key=lambda obj: obj.name):
        if not isinstance(bridge, Bridge) or bridge.mtu is None:
            continue
        current = actual.get(bridge.name)
        stale = not isinstance(current, Bridge) or current.mtu != bridge.mtu
        if stale or bridge.name in joining:
            commands.append(f"link set dev {bridge.name} mtu {bridge.mtu}")
    return commands


_BATCH_FAILED = re.compile(r"^Command failed (?P<file>\S+):(?P<line>\d+)\s*$", re.MULTILINE)
_BATCH_OBJECT = re.compile(r"\b(?:dev|name) (?P<name>\S+)")


def explain_batch_failure(batch: list[str], output: str, tool: str = "ip") -> str:
    """``ip -batch``'s complaint (or ``tool``'s: tc's reads alike), with each failing line of
    the batch and the link it is about, rather than ``Command failed -:2``.

    >>> explain_batch_failure(
    ...     ["link add name br1 type bridge", "link set dev lo master br1"],
    ...     "RTNETLINK answers: Invalid argument\\nCommand failed -:2\\n",
    ... )
    'lo: `link set dev lo master br1` (line 2 of the ip batch): RTNETLINK answers: Invalid argument'
    """
    failures = []
    reasons: list[str] = []
    for line in output.splitlines():
        failed = _BATCH_FAILED.match(line)
        if failed is None:
            if line.strip():
                reasons.append(line.strip())
            continue
        number = int(failed["line"])
        command = batch[number - 1] if 0 < number <= len(batch) else "?"
        subject = _BATCH_OBJECT.search(command)
        who = f"{subject['name']}: " if subject else ""
        why = "; ".join(reasons) or "no reason given"
        failures.append(f"{who}`{command}` (line {number} of the {tool} batch): {why}")
        reasons = []
    if not failures:
        return "; ".join(reasons) or f"{tool} -batch failed without a reason"
    return "; ".join(failures)


def render_batch(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)
