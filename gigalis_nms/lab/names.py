"""Names of what the lab creates on this machine, and Linux names for inventory ports.

Every namespace, link and folder of the lab starts with ``gl-`` (``glm-`` for the root side
of management links), so that ``lab down`` can find leftovers of an interrupted build by
prefix. Other labs on the same machine must use other prefixes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gigalis_nms.lab.network import Port

LAB_PREFIX = "gl-"
MANAGEMENT_BRIDGE = "gl-mgmt"
MANAGEMENT_VETH_PREFIX = "glm-"  # root side of each router's mgmt0
MANAGEMENT_PORT = "mgmt0"  # inside each router
LINUX_LOOPBACK = "lo"
IFNAME_MAX = 15  # the kernel's IFNAMSIZ, less the terminating NUL

# Vendor spellings shortened the way their own CLIs abbreviate them, so that a stand-in's
# port still reads like the real one: HundredGigE0/0/0/0 -> hu0-0-0-0.
_ABBREVIATIONS = (
    ("FourHundredGigE", "fh"),
    ("HundredGigE", "hu"),
    ("FortyGigE", "fo"),
    ("TwentyFiveGigE", "twe"),
    ("TenGigE", "te"),
    ("GigabitEthernet", "gi"),
    ("Ethernet", "et"),
    ("MgmtEth", "mg"),
    ("Management", "ma"),
)
_UNSAFE = str.maketrans({"/": "-", ":": "-", ".": "-", " ": "-"})


def router_netns(hostname: str) -> str:
    """The router's network namespace, also its FRR pathspace: ``gl-nte1-cr1``."""
    return f"{LAB_PREFIX}{hostname}"


def cpe_netns(site: str, operator: str) -> str:
    """One operator's CPE at one site: ``gl-cpe-nte1-orng``."""
    return f"{LAB_PREFIX}cpe-{site.lower()}-{operator.lower()}"


def management_veth(hostname: str, number: int) -> str:
    """Root side of a router's management link, on the gl-mgmt bridge."""
    name = f"{MANAGEMENT_VETH_PREFIX}{hostname}"
    return name if len(name) <= IFNAME_MAX else f"{MANAGEMENT_VETH_PREFIX}{number}"


def is_linux_ifname(name: str) -> bool:
    """Whether the kernel accepts ``name`` for an interface (see dev_valid_name)."""
    return (
        0 < len(name) <= IFNAME_MAX
        and name not in {".", ".."}
        and not any(character in name for character in "/:")
        and not any(character.isspace() for character in name)
    )


def linux_port_names(platform: str, ports: Iterable[Port]) -> dict[str, str]:
    """Inventory port name -> Linux name, injective for one device and the same every time.

    FRR routers already use Linux names. The stand-ins for other platforms get their
    vendor's abbreviation with '/' turned into '-'; a name that would still be too long, or
    that two ports would share, falls back to ``port<N>`` by the port's rank.

    >>> from gigalis_nms.lab.network import Port
    >>> ports = [Port("lo0", "loopback", True, None), Port("et-0/0/0", "other", True, None)]
    >>> linux_port_names("junos", ports)
    {'et-0/0/0': 'et-0-0-0', 'lo0': 'lo'}
    """
    wanted = {port.name: _natural_name(platform, port) for port in ports}
    counts = Counter(wanted.values())
    kept = {
        name: linux
        for name, linux in wanted.items()
        if counts[linux] == 1 and is_linux_ifname(linux)
    }
    used = set(kept.values())
    names: dict[str, str] = {}
    for rank, name in enumerate(sorted(wanted)):
        if name in kept:
            names[name] = kept[name]
            continue
        fallback, suffix = f"port{rank}", 0
        while fallback in used:
            suffix += 1
            fallback = f"port{rank}-{suffix}"
        used.add(fallback)
        names[name] = fallback
    return names


def _natural_name(platform: str, port: Port) -> str:
    if port.is_loopback:
        return LINUX_LOOPBACK
    if platform == "frr":
        return port.name
    name = port.name
    for long, short in _ABBREVIATIONS:
        if name.startswith(long):
            name = short + name[len(long) :]
            break
    return name.translate(_UNSAFE)


def operator_of(description: str | None, operator_codes: frozenset[str]) -> str | None:
    """The operator a port hands off to, named by its code in the port's description:
    "NNI ORNG" and "wavelength GIG-WAV-000001 ORNG" both hand off to ORNG.

    >>> operator_of("wavelength GIG-WAV-000001 ORNG", frozenset({"ORNG", "SFRB"}))
    'ORNG'
    >>> operator_of("spare", frozenset({"ORNG"})) is None
    True
    """
    for word in (description or "").split():
        if word in operator_codes:
            return word
    return None


def cpe_ifnames(ports: Iterable[tuple[str, str]]) -> list[str]:
    """Short names inside a CPE namespace for (router hostname, Linux port) pairs, in order:
    ``cr1-eth10`` (the router's unit and its port), or ``p<N>`` when that is too long or
    taken. The full "<router> <port>" goes into the interface's alias."""
    names: list[str] = []
    for rank, (hostname, linux_port) in enumerate(ports):
        unit = hostname.split("-", 1)[-1]
        name = f"{unit}-{linux_port}"
        if not is_linux_ifname(name) or name in names:
            name = f"p{rank}"
        names.append(name)
    return names
