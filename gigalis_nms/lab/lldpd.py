"""One lldpd per router, on its backbone ports only, so that the driver's get_lldp_neighbors
sees the routers at the other end of each link.

Instances do not clash: each has its own control socket (``-u``) and configuration file
(``-O``), stays in the foreground (``-d``, so it writes no /run/lldpd.pid), and all share
lldpd's chroot /run/lldpd, which they only read.
"""

from __future__ import annotations

import json

from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.state import LabRouter, StartedProcess
from gigalis_nms.lab.system import in_router, run, start_daemon, tool

# LLDP's default is a frame every 30 s: a neighbour would take that long to appear.
LLDPD_CONFIG = "configure lldp tx-interval 5\n"
NO_PORT = "!*"  # lldpd's pattern for "no interface", for a router without a lab link


def start_lldpd(layout: RuntimeLayout, router: LabRouter) -> StartedProcess:
    config = layout.lldpd_config(router.hostname)
    config.write_text(LLDPD_CONFIG)
    log_file = layout.lldpd_log(router.hostname)
    ports = ",".join(router.backbone_ports) or NO_PORT
    command = [
        tool("lldpd"),
        "-d",
        "-u",
        router.lldpd_socket,
        "-I",
        ports,
        "-O",
        str(config),
    ]
    return start_daemon(
        "lldpd", router.hostname, in_router(router.netns, router.uts_file, command), log_file
    )


def lldp_neighbors(router: LabRouter) -> dict[str, str]:
    """Port -> the neighbour's system name, from the router's lldpd."""
    result = run(
        [tool("lldpcli"), "-u", router.lldpd_socket, "-f", "json", "show", "neighbors"],
        check=False,
    )
    if result.returncode != 0:
        return {}
    interfaces = json.loads(result.stdout or "{}").get("lldp", {}).get("interface", {})
    # lldpcli gives a mapping for one neighbour and a list of one-key mappings for several.
    entries = interfaces if isinstance(interfaces, list) else [interfaces]
    neighbours: dict[str, str] = {}
    for entry in entries:
        for port, details in entry.items():
            neighbours[port] = next(iter(details.get("chassis", {})), "")
    return neighbours
