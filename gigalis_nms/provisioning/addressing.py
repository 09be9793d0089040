"""The Gigalis address plan, computed over the whole inventory so that a router gets the
same addresses in production, in the whole-network lab and in a two-site lab.

- Loopbacks by device order (hostnames sorted, N from 1): 192.0.2.N/32 and 2001:db8::N/128,
  where the IPv6 N is written with the same digits as the IPv4 one (2001:db8::45 beside
  192.0.2.45) so that a person matches them at a glance.
- IS-IS NET from the IPv4 loopback: 49.0001.1920.0000.2045.00 for 192.0.2.45.
- Backbone link number i (link codes sorted, i from 0): 203.0.113.2i/31 on its A end and
  203.0.113.2i+1/31 on its Z end.

All three ranges are the documentation ranges of RFC 5737 and RFC 3849: the lab never uses
an address that could be routed anywhere.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gigalis_nms.errors import InvalidInput

if TYPE_CHECKING:
    # The inventory as the lab reads it; imported for its type only, as the lab imports this
    # module.
    from gigalis_nms.lab.network import Network

LOOPBACK_V4 = ipaddress.IPv4Network("192.0.2.0/24")
LOOPBACK_V6_PREFIX = "2001:db8::"
LINK_NETWORK = ipaddress.IPv4Network("203.0.113.0/24")
ISIS_AREA = "49.0001"
DEFAULT_IGP_METRIC = 10


@dataclass(frozen=True)
class LinkAddresses:
    a: str  # "203.0.113.0/31"
    z: str


@dataclass(frozen=True)
class AddressPlan:
    device_numbers: dict[str, int]  # hostname -> N
    links: dict[str, LinkAddresses]  # link code -> its two ends

    def loopback_ipv4(self, hostname: str) -> str:
        return str(LOOPBACK_V4.network_address + self.device_numbers[hostname])

    def loopback_ipv6(self, hostname: str) -> str:
        # Same digits as the IPv4 N, read as hexadecimal: distinct N give distinct addresses.
        return str(ipaddress.IPv6Address(f"{LOOPBACK_V6_PREFIX}{self.device_numbers[hostname]}"))

    def isis_net(self, hostname: str) -> str:
        return isis_net(self.loopback_ipv4(hostname))


def isis_net(loopback_ipv4: str) -> str:
    """The NET whose system id spells the loopback, each octet on three digits.

    >>> isis_net("192.0.2.45")
    '49.0001.1920.0000.2045.00'
    """
    digits = "".join(f"{int(octet):03d}" for octet in loopback_ipv4.split("."))
    system_id = ".".join(digits[index : index + 4] for index in range(0, 12, 4))
    return f"{ISIS_AREA}.{system_id}.00"


def plan_addresses(network: Network) -> AddressPlan:
    hostnames = sorted(router.hostname for router in network.routers)
    if len(hostnames) > LOOPBACK_V4.num_addresses - 2:
        raise InvalidInput.of(
            "devices", f"{len(hostnames)} routers do not fit in the loopbacks of {LOOPBACK_V4}"
        )
    codes = sorted(link.code for link in network.links)
    if 2 * len(codes) > LINK_NETWORK.num_addresses:
        raise InvalidInput.of(
            "links", f"{len(codes)} backbone links do not fit in the /31s of {LINK_NETWORK}"
        )
    base = LINK_NETWORK.network_address
    return AddressPlan(
        device_numbers={hostname: number for number, hostname in enumerate(hostnames, start=1)},
        links={
            code: LinkAddresses(f"{base + 2 * index}/31", f"{base + 2 * index + 1}/31")
            for index, code in enumerate(codes)
        },
    )
