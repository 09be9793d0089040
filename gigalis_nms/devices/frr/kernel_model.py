"""The kernel objects the driver manages, as read from a router and as a document declares
them: bridges, VLAN and VXLAN links, and the ports attached to a bridge.

A VLAN link made by ``vlan_emulation`` on a kernel without 802.1Q reads back as the same
:class:`Vlan`; :class:`EmulatedVlan` keeps what it is made of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The VXLAN port IANA assigned; Linux's own default (8472) predates it and no peer expects it.
VXLAN_PORT = 4789
MANAGED_KINDS = ("bridge", "vlan", "vxlan")


@dataclass(frozen=True)
class Bridge:
    name: str
    mtu: int | None = None
    master: None = None  # a bridge is never a port of another bridge here


@dataclass(frozen=True)
class Vlan:
    name: str
    parent: str
    vlan_id: int
    master: str | None = None
    mtu: int | None = None


@dataclass(frozen=True)
class Vxlan:
    name: str
    vni: int
    local: str
    remote: str | None = None
    dstport: int = VXLAN_PORT
    learning: bool = True
    master: str | None = None
    mtu: int | None = None


@dataclass(frozen=True)
class Port:
    """A link the driver did not create (a physical port) attached to a managed bridge."""

    name: str
    master: str


KernelObject = Bridge | Vlan | Vxlan | Port
KernelObjects = dict[str, KernelObject]


@dataclass(frozen=True)
class KernelIntent:
    """A parsed kernel section: its objects, and the line of the document each one is on."""

    objects: KernelObjects
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EmulatedVlan:
    """A VLAN link emulated with a veth pair and two tc filters, as read back: the link it
    stands for, its hidden end, and which filters are in place. Only an intact one counts as
    a :class:`Vlan`; a broken one (a filter gone) is deleted and made again by the next
    change that names it."""

    vlan: Vlan
    peer: str
    receiving: bool  # the parent's filter untags the VLAN's frames into the hidden end
    sending: bool  # the hidden end's filter tags what the link sends, out of the parent
    parent_filter: bool = False  # a filter of ours holds this VLAN's place on the parent

    @property
    def intact(self) -> bool:
        return self.receiving and self.sending


@dataclass(frozen=True)
class KernelState:
    """What ``ip -j -d link show`` says: the managed objects, every link's name (needed to
    check that a VLAN's parent or a port exists) and the loopback links; ``emulated``, the
    emulated VLAN links by name, intact or not (``tc -j filter show`` says which)."""

    objects: KernelObjects
    links: frozenset[str]
    loopbacks: frozenset[str] = frozenset()
    emulated: dict[str, EmulatedVlan] = field(default_factory=dict)
