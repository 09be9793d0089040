"""A Nornir of the lab's routers, reached over SSH on the management network like production
routers, through the stock nornir_napalm connection plugin and our FRR driver.

Its hosts are built by the provisioning inventory (:mod:`gigalis_nms.provisioning.
nornir_inventory`), from the running lab's state alone: they name exactly the routers that
are up and carry the lab's SSH key and known-hosts file. Code that has the database too uses
the ``GigalisInventory`` plugin with ``lab_state``, whose hosts also carry role and device id.
"""

from __future__ import annotations

from nornir.core import Nornir
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnerPlugin
from nornir.plugins.runners import ThreadedRunner

from gigalis_nms.lab.state import LabState
from gigalis_nms.provisioning.nornir_inventory import lab_inventory


def lab_nornir(
    state: LabState, runner: RunnerPlugin | None = None, transport: str = "ssh"
) -> Nornir:
    """A Nornir over the lab's routers; threaded with one worker per router by default."""
    # InitNornir registers the connection plugins of installed packages (nornir_napalm's
    # "napalm" among them); a Nornir built directly has to ask for it.
    ConnectionPluginRegister.auto_register()
    return Nornir(
        inventory=lab_inventory(state, transport),
        runner=runner or ThreadedRunner(num_workers=max(1, len(state.routers))),
    )
