"""A Nornir inventory of the lab's routers, reached over SSH on the management network like
production routers, through the stock nornir_napalm connection plugin and our FRR driver.

The database-backed Nornir inventory of the whole network belongs to provisioning; this one
is built from the running lab's state, so it names exactly the routers that are up and
carries the lab's SSH key and known-hosts file.
"""

from __future__ import annotations

from nornir.core import Nornir
from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Groups,
    Host,
    Hosts,
    Inventory,
)
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnerPlugin
from nornir.plugins.runners import ThreadedRunner

from gigalis_nms.lab.state import LabState

NAPALM_CONNECTION = "napalm"  # the name nornir_napalm registers its connection plugin under


def lab_hosts(state: LabState, defaults: Defaults, transport: str = "ssh") -> Hosts:
    """One Nornir host per lab router: hostname is its management address, platform frr."""
    hosts = Hosts()
    for router in state.routers:
        optional_args = state.napalm_optional_args(router, transport=transport)
        hosts[router.hostname] = Host(
            name=router.hostname,
            hostname=router.management_address,
            username=state.ssh_user,
            password="",
            platform="frr",
            data={"site": router.site, "netns": router.netns},
            connection_options={
                NAPALM_CONNECTION: ConnectionOptions(extras={"optional_args": optional_args})
            },
            defaults=defaults,
        )
    return hosts


def lab_nornir(
    state: LabState, runner: RunnerPlugin | None = None, transport: str = "ssh"
) -> Nornir:
    """A Nornir over the lab's routers; threaded with one worker per router by default."""
    # InitNornir registers the connection plugins of installed packages (nornir_napalm's
    # "napalm" among them); a Nornir built directly has to ask for it.
    ConnectionPluginRegister.auto_register()
    # Hosts fall back on the inventory's own defaults, as Nornir's inventory plugins build them.
    defaults = Defaults()
    inventory = Inventory(
        hosts=lab_hosts(state, defaults, transport), groups=Groups(), defaults=defaults
    )
    return Nornir(
        inventory=inventory,
        runner=runner or ThreadedRunner(num_workers=max(1, len(state.routers))),
    )
