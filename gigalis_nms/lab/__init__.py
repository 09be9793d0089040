"""The lab: the Gigalis routers as FRR instances in network namespaces on this machine, built
from the inventory (``gigalis lab up|down|status``). See lab/README.md."""

from gigalis_nms.lab.build import lab_up
from gigalis_nms.lab.health import LabHealth, RouterHealth, lab_status
from gigalis_nms.lab.plan import DEFAULT_SITES
from gigalis_nms.lab.state import (
    DEFAULT_RUNTIME_DIR,
    LabCpe,
    LabCpePort,
    LabLink,
    LabRouter,
    LabState,
    read_lab_state,
)
from gigalis_nms.lab.teardown import Teardown, lab_down

__all__ = [
    "DEFAULT_RUNTIME_DIR",
    "DEFAULT_SITES",
    "LabCpe",
    "LabCpePort",
    "LabHealth",
    "LabLink",
    "LabRouter",
    "LabState",
    "RouterHealth",
    "Teardown",
    "lab_down",
    "lab_status",
    "lab_up",
    "read_lab_state",
]
