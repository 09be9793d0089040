"""The base configuration of an FRR router, rendered from
``provisioning/templates/frr/base.j2``: hostname, forwarding, loopbacks, IS-IS on every
backbone port and iBGP with route reflection.

The context holds only what the inventory determines (names, addresses, metrics, peers), so
that issue 4's ``gigalis provision base`` renders the same text for a production router as
the lab does for its namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

# The templates live beside the code in the repository (provisioning/), where the people who
# maintain configurations edit them; an installed wheel without the repository has none.
TEMPLATES = Path(__file__).resolve().parents[2] / "provisioning" / "templates"
BASE_TEMPLATE = "frr/base.j2"
# A private AS number from the documentation range (RFC 5398): the lab's iBGP is never
# meant to speak to the outside world.
GIGALIS_ASN = 64496


@dataclass(frozen=True)
class InterfaceConfig:
    name: str  # Linux name
    description: str | None
    enabled: bool
    ipv4: str | None = None  # "203.0.113.0/31" on backbone ports
    isis_metric: int | None = None  # set on backbone ports only

    @property
    def backbone(self) -> bool:
        return self.isis_metric is not None


@dataclass(frozen=True)
class BgpConfig:
    asn: int
    reflector_peers: tuple[str, ...]  # loopbacks: a client's reflectors, or the other RRs
    client_peers: tuple[str, ...]  # loopbacks of a reflector's clients


@dataclass(frozen=True)
class BaseConfig:
    hostname: str
    loopback_ipv4: str
    loopback_ipv6: str
    isis_net: str
    interfaces: tuple[InterfaceConfig, ...]
    bgp: BgpConfig


def template_environment(folder: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # router configuration, not HTML
    )


def render_base_config(config: BaseConfig, environment: jinja2.Environment | None = None) -> str:
    template = (environment or template_environment()).get_template(BASE_TEMPLATE)
    return template.render(router=config)
