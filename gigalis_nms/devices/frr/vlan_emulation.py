"""VLAN links on a kernel built without 802.1Q, emulated with a veth pair, tc and eBPF.

A kernel without ``CONFIG_VLAN_8021Q`` refuses ``ip link add … type vlan``. The VLAN link
``P.V`` (parent ``P``, VLAN ID ``V``) is then made of:

- a veth pair: ``P.V`` itself, the link the configuration names (it joins a bridge, holds an
  address), and its hidden end, named from a hash of ``P.V`` (:func:`hidden_end`);
- on ``P``'s ingress (a ``clsact`` qdisc), a ``bpf`` filter at preference 40000 + V: a frame
  tagged V loses its tag and is redirected (``mirred``) out of the hidden end, so it arrives
  on ``P.V`` untagged; any other frame goes on to the next filter, untouched;
- on the hidden end's ingress, what ``P.V`` sends: tagged V, and redirected out of ``P``.

Frames of a VLAN without a link, and untagged frames, are left to the kernel, which treats
them as it would with 802.1Q and no link of that VLAN: a frame tagged with a VLAN ID is not
delivered to ``P``'s own addresses, and goes on tagged into ``P``'s bridge when ``P`` is a
bridge port. No VLAN reaches another's link. The programs are assembled by ``ebpf``; tc loads
them from an ELF object written in the driver's state folder (``gigalis-vlan-V.o``).

``P.V`` carries the alias ``gigalis-vlan:P:V``, by which :func:`read_emulated_vlans` finds it
again in ``ip -j -d link show``; ``tc -j filter show`` then says whether both filters are in
place. An intact one reads back as a :class:`Vlan`, so a configuration names it exactly as a
real one and a commit that changes nothing plans nothing. Deleting ``P.V`` deletes its hidden
end and that end's filter; the filter on ``P`` is deleted by its own ``tc`` line.

Every function here is pure; ``kernel_access.RouterKernel`` runs the commands, for the
driver's session and for the lab's CPEs alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gigalis_nms.devices.frr import ebpf
from gigalis_nms.devices.frr.kernel import must_recreate, plan_kernel_changes
from gigalis_nms.devices.frr.kernel_model import (
    EmulatedVlan,
    KernelObjects,
    KernelState,
    Vlan,
)

ALIAS_PREFIX = "gigalis-vlan"
PEER_ALIAS_PREFIX = "gigalis-vlan-peer"
# Above the preferences people give their own filters by hand (1, 10, 100 …), so that theirs
# run first, and within tc's 16 bits for any VLAN ID.
FILTER_PREFERENCE_BASE = 40000
# The hidden end never limits what the link sends; the parent does, as for a real VLAN link.
HIDDEN_END_MTU = 65535
_HIDDEN_PREFIX = "gvl"
_ALIAS = re.compile(rf"^{ALIAS_PREFIX}:(?P<parent>[^:\s]+):(?P<vid>\d+)$")

# Exits 0 when the kernel has 802.1Q: loaded or built in (then every network namespace has
# /proc/net/vlan), or a module that `ip link add … type vlan` will load. /proc/net/vlan goes
# as an argument, so that test doubles that read "sh -c SCRIPT sh ARGS…" find one.
DETECT_8021Q = [
    "sh",
    "-c",
    'test -d "$1" || grep -qs "/8021q\\.ko" "/lib/modules/$(uname -r)/modules.dep"'
    ' "/lib/modules/$(uname -r)/modules.builtin"',
    "sh",
    "/proc/net/vlan",
]


# --- names ------------------------------------------------------------------------------------


def hidden_end(name: str) -> str:
    """The hidden end of the emulated link ``name``: 14 bytes, the same on every router.

    >>> hidden_end("eth10.100")
    'gvla544bab7931'
    """
    return _HIDDEN_PREFIX + hashlib.sha1(name.encode()).hexdigest()[:11]


def alias(vlan: Vlan) -> str:
    """
    >>> alias(Vlan("eth10.100", "eth10", 100))
    'gigalis-vlan:eth10:100'
    """
    return f"{ALIAS_PREFIX}:{vlan.parent}:{vlan.vlan_id}"


def filter_preference(vlan_id: int) -> int:
    return FILTER_PREFERENCE_BASE + vlan_id


def object_file(vlan_id: int) -> str:
    return f"gigalis-vlan-{vlan_id}.o"


def object_path(directory: str, vlan_id: int) -> str:
    return f"{directory}/{object_file(vlan_id)}"


# --- reading the actual state -----------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
    vlan: Vlan
    peer: str


def _pairs(links: Iterable[Mapping[str, Any]]) -> dict[str, _Pair]:
    """The veths that carry our alias, by name, with the link each stands for."""
    pairs = {}
    for link in links:
        kind = link.get("linkinfo", {}).get("info_kind")
        found = _ALIAS.match(link.get("ifalias", ""))
        if kind != "veth" or found is None:
            continue
        name = link["ifname"]
        vlan = Vlan(name, found["parent"], int(found["vid"]), link.get("master"), link.get("mtu"))
        # A veth names its peer in "link" when both ends are in the same namespace.
        pairs[name] = _Pair(vlan, link.get("link", ""))
    return pairs


def filter_devices(links: Iterable[Mapping[str, Any]]) -> list[str]:
    """The links whose ingress filters say whether the emulated VLAN links are intact: the
    parents and the hidden ends that exist. Empty when there is no emulated link."""
    names = {link["ifname"] for link in links}
    devices = set()
    for pair in _pairs(links).values():
        devices |= {pair.vlan.parent, pair.peer} & names
    return sorted(devices)


# One tc per device, in one command: a section of ``tc -j`` output after each marker line.
_DUMP_MARKER = "@@ "
_DUMP_SCRIPT = (
    'for dev in "$@"; do echo "@@ $dev"; tc -j filter show dev "$dev" ingress 2>/dev/null;'
    " echo; done"
)


def filter_dump_command(devices: Sequence[str]) -> list[str]:
    """One command printing the ingress filters of each device (none without clsact)."""
    return ["sh", "-c", _DUMP_SCRIPT, "sh", *devices]


def parse_filter_dump(text: str) -> dict[str, list[dict[str, Any]]]:
    """The filters of each device in the output of :func:`filter_dump_command`.

    >>> parse_filter_dump('@@ eth1\\n[{"pref":40100,"kind":"bpf"}]\\n@@ lo\\n\\n')
    {'eth1': [{'pref': 40100, 'kind': 'bpf'}], 'lo': []}
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_DUMP_MARKER):
            current = sections.setdefault(line[len(_DUMP_MARKER) :].strip(), [])
        elif current is not None and line.strip():
            current.append(line)
    filters = {}
    for device, lines in sections.items():
        body = "\n".join(lines).strip()
        try:
            filters[device] = json.loads(body) if body else []
        except ValueError as error:
            raise ValueError(f"tc -j filter show dev {device}: not JSON: {error}") from error
    return filters


def _filter_at(filters: Iterable[Mapping[str, Any]], vlan_id: int) -> Mapping[str, Any] | None:
    """The options of the bpf filter at this VLAN's preference, if there is one: ours, as the
    preference is in our range. tc lists a chain head without options first; skip it."""
    for entry in filters:
        options = entry.get("options")
        ours = entry.get("pref") == filter_preference(vlan_id) and entry.get("kind") == "bpf"
        if ours and options:
            return dict(options)
    return None


def _redirects(options: Mapping[str, Any] | None, vlan_id: int, section: str, device: str) -> bool:
    """The filter runs ``section`` of this VLAN's object and redirects what matches out of
    ``device``."""
    if options is None or options.get("bpf_name") != f"{object_file(vlan_id)}:[{section}]":
        return False
    return any(
        action.get("kind") == "mirred"
        and action.get("mirred_action") == "redirect"
        and action.get("direction") == "egress"
        and action.get("to_dev") == device
        for action in options.get("actions", [])
    )


def read_emulated_vlans(
    links: Iterable[Mapping[str, Any]], filters: Mapping[str, list[dict[str, Any]]]
) -> dict[str, EmulatedVlan]:
    """The emulated VLAN links among ``ip -j -d link show``'s, each with which of its
    filters are in place, from :func:`parse_filter_dump`'s answer for
    :func:`filter_devices`."""
    emulated = {}
    for name, pair in _pairs(links).items():
        vlan, peer = pair.vlan, pair.peer
        vid = vlan.vlan_id
        on_parent = _filter_at(filters.get(vlan.parent, []), vid)
        on_peer = _filter_at(filters.get(peer, []), vid)
        emulated[name] = EmulatedVlan(
            vlan,
            peer,
            receiving=_redirects(on_parent, vid, ebpf.RECEIVE_SECTION, peer),
            sending=_redirects(on_peer, vid, ebpf.SEND_SECTION, vlan.parent),
            parent_filter=on_parent is not None,
        )
    return emulated


# --- planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelChange:
    """What turns the actual links into the expected ones, in the order it runs: the
    ``tc -batch`` lines that delete the parent filters of emulated links going away, the
    ``ip -batch`` lines, then the ``tc -batch`` lines of emulated links made; and the VLAN
    IDs whose eBPF objects (:func:`ebpf.vlan_object`) those load. Without emulation it is
    the ``ip`` batch alone."""

    links: list[str] = field(default_factory=list)
    filters_before: list[str] = field(default_factory=list)
    filters_after: list[str] = field(default_factory=list)
    vlan_ids: frozenset[int] = frozenset()
    emulated: frozenset[str] = frozenset()  # the VLAN links it creates as emulated ones

    def __bool__(self) -> bool:
        return bool(self.links or self.filters_before or self.filters_after)

    def lines(self) -> list[str]:
        """Every line, the tc ones marked, for messages."""
        return [
            *(f"tc {line}" for line in self.filters_before),
            *self.links,
            *(f"tc {line}" for line in self.filters_after),
        ]


def creates_vlans(actual: KernelObjects, expected: KernelObjects) -> bool:
    """Whether going from ``actual`` to ``expected`` creates a VLAN link (and so needs to
    know whether the kernel has 802.1Q)."""
    return bool(_created_vlans(actual, expected))


def _created_vlans(actual: KernelObjects, expected: KernelObjects) -> list[Vlan]:
    return [
        obj
        for name, obj in sorted(expected.items())
        if isinstance(obj, Vlan) and (name not in actual or must_recreate(actual[name], obj))
    ]


def plan_change(
    state: KernelState, expected: KernelObjects, *, emulate: bool, object_dir: str
) -> KernelChange:
    """The change from ``state`` to ``expected``. With ``emulate``, the VLAN links it creates
    are emulated ones, whose objects are in ``object_dir``. Emulated links in ``state``
    are deleted as such whatever ``emulate`` says, and a broken one first of all, so that
    the expected objects find its name free."""
    actual = state.objects
    broken = [link for link in state.emulated.values() if not link.intact]
    going = broken + [
        link
        for name, link in state.emulated.items()
        if link.intact and (name not in expected or must_recreate(link.vlan, expected[name]))
    ]
    created = _created_vlans(actual, expected) if emulate else []

    links = [f"link del dev {link.vlan.name}" for link in broken]
    links += plan_kernel_changes(actual, expected, add_vlan=_add_lines if emulate else None)
    before = [
        _delete_parent_filter(link.vlan)
        for link in sorted(going, key=_by_name)
        if link.parent_filter
    ]
    after = [line for vlan in created for line in _filter_lines(vlan, object_dir)]
    return KernelChange(
        links,
        before,
        after,
        frozenset(vlan.vlan_id for vlan in created),
        frozenset(vlan.name for vlan in created),
    )


def _by_name(link: EmulatedVlan) -> str:
    return link.vlan.name


def _add_lines(vlan: Vlan) -> list[str]:
    """The ``ip -batch`` lines that make the veth pair of an emulated link. Its master, MTU
    changes and ``up`` come from the plan like any link's."""
    name, peer = vlan.name, hidden_end(vlan.name)
    mtu = ["mtu", str(vlan.mtu)] if vlan.mtu is not None else []
    add = ["link", "add", "name", name, *mtu, "type", "veth", "peer", "name", peer]
    return [
        " ".join([*add, "mtu", str(HIDDEN_END_MTU)]),
        f"link set dev {name} alias {alias(vlan)}",
        f"link set dev {peer} alias {PEER_ALIAS_PREFIX}:{name}",
        # The hidden end carries no IPv6 link-local address: it sends nothing of its own.
        f"link set dev {peer} addrgenmode none",
        # A real VLAN link puts its parent in promiscuous mode when it is a bridge port, and
        # its MAC address is the parent's. Here the link's address is its own, so a physical
        # parent must accept every frame. Shortcoming: never turned off again.
        f"link set dev {vlan.parent} promisc on",
        f"link set dev {peer} up",
    ]


def _filter_lines(vlan: Vlan, object_dir: str) -> list[str]:
    """The ``tc -batch`` lines of an emulated link, each one idempotent (``replace``)."""
    parent, peer = vlan.parent, hidden_end(vlan.name)
    preference = filter_preference(vlan.vlan_id)
    obj = _batch_word(object_path(object_dir, vlan.vlan_id))
    common = f"ingress pref {preference} handle 1 protocol all bpf obj {obj} sec"
    return [
        f"qdisc replace dev {parent} clsact",
        f"filter replace dev {parent} {common} {ebpf.RECEIVE_SECTION}"
        f" action mirred egress redirect dev {peer}",
        f"qdisc replace dev {peer} clsact",
        f"filter replace dev {peer} {common} {ebpf.SEND_SECTION}"
        f" action mirred egress redirect dev {parent}",
    ]


def _delete_parent_filter(vlan: Vlan) -> str:
    return f"filter del dev {vlan.parent} ingress pref {filter_preference(vlan.vlan_id)}"


def _batch_word(word: str) -> str:
    """A word of a tc batch line; the batch reader splits on spaces outside double quotes."""
    if any(character in word for character in "\"'\n"):
        raise ValueError(f"{word!r}: a quote or a line break cannot be written in a tc batch")
    return f'"{word}"' if any(character.isspace() for character in word) else word


def projected_state(
    state: KernelState, expected: KernelObjects, change: KernelChange
) -> KernelState:
    """The state once ``change`` has taken ``state`` to ``expected``, as the plan back (the
    revert timer's) starts from: the emulated links that stay, and those it creates."""
    emulated = {}
    for name, obj in expected.items():
        kept = state.emulated.get(name)
        if not isinstance(obj, Vlan):
            continue
        if name in change.emulated:
            emulated[name] = EmulatedVlan(obj, hidden_end(name), True, True, True)
        elif kept is not None and kept.intact and not must_recreate(kept.vlan, obj):
            emulated[name] = EmulatedVlan(obj, kept.peer, True, True, True)
    return KernelState(dict(expected), state.links | frozenset(expected), state.loopbacks, emulated)


# --- writing the objects --------------------------------------------------------------------

# A command's standard input is text (over SSH as through a namespace): the object goes as
# base64, decoded on the router, written to a temporary name and renamed, owner-only.
_WRITE_OBJECT = 'umask 077 && base64 -d >"$1.tmp" && mv -f "$1.tmp" "$1"'


def write_object_command(path: str) -> list[str]:
    return ["sh", "-c", _WRITE_OBJECT, "sh", path]


def object_text(vlan_id: int) -> str:
    """The ELF object of ``vlan_id`` as the standard input of :func:`write_object_command`."""
    return base64.b64encode(ebpf.vlan_object(vlan_id)).decode() + "\n"
