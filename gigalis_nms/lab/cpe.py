"""An operator's CPE in the lab: the address it has on a circuit.

On a port-based E-Line the CPE's address sits on its port itself; on a VLAN-based one, on a
VLAN sub-interface of that port, ``<port>.<vlan>``. The sub-interface is made the way the FRR
driver makes a router's: ``ip link add … type vlan`` on a kernel with 802.1Q, else the
emulation of ``devices/frr/vlan_emulation.py`` (a veth pair and two tc eBPF filters), so
the CPE tags its frames exactly as a router's sub-interface expects them.

Every function here is idempotent, and names the CPE in its errors.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from napalm.base.exceptions import NapalmException

from gigalis_nms.devices.frr.kernel import expected_objects
from gigalis_nms.devices.frr.kernel_access import RouterKernel
from gigalis_nms.devices.frr.kernel_model import KernelObjects, Vlan
from gigalis_nms.devices.frr.options import VlanMode
from gigalis_nms.devices.frr.router import Router
from gigalis_nms.devices.frr.transport import NetnsTransport
from gigalis_nms.devices.frr.vlan_emulation import KernelChange
from gigalis_nms.lab.errors import LabCommandFailed
from gigalis_nms.lab.names import is_linux_ifname
from gigalis_nms.lab.state import LabState
from gigalis_nms.lab.system import run, tool

log = logging.getLogger(__name__)


def vlan_interface(port: str, vlan: int) -> str:
    """The sub-interface of ``port`` for ``vlan``.

    >>> vlan_interface("cr1-eth10", 100)
    'cr1-eth10.100'
    """
    if not 1 <= vlan <= 4094:
        raise LabCommandFailed.of("vlan", f"{vlan} is not between 1 and 4094")
    name = f"{port}.{vlan}"
    if not is_linux_ifname(name):
        raise LabCommandFailed.of("port", f"{name!r} is not a valid interface name")
    return name


def add_cpe_vlan(
    namespace: str, port: str, vlan: int, address_cidr: str, *, vlan_mode: VlanMode = "auto"
) -> str:
    """Give the CPE ``namespace`` the sub-interface ``port.vlan``, up, holding
    ``address_cidr`` ("203.0.113.1/24", "2001:db8::1/64"); its name. Called again, it changes
    nothing (a second address is added beside the first)."""
    name = vlan_interface(port, vlan)
    wanted: KernelObjects = {name: Vlan(name, port, vlan)}
    with _cpe_kernel(namespace, vlan_mode) as kernel:
        state = kernel.state()
        _apply(
            namespace,
            kernel,
            kernel.plan(state, expected_objects(state.objects, wanted, replace=False)),
        )
    set_cpe_port_address(namespace, name, address_cidr)
    log.info("%s: %s holds %s", namespace, name, address_cidr)
    return name


def remove_cpe_vlan(namespace: str, port: str, vlan: int) -> None:
    """Remove the sub-interface ``port.vlan`` (its filters with it, when emulated), if it
    exists."""
    name = vlan_interface(port, vlan)
    with _cpe_kernel(namespace, "auto") as kernel:
        state = kernel.state()
        if name not in state.objects and name not in state.emulated:
            return
        left = {key: obj for key, obj in state.objects.items() if key != name}
        _apply(namespace, kernel, kernel.plan(state, left))
    log.info("%s: %s removed", namespace, name)


def set_cpe_port_address(namespace: str, port: str, address_cidr: str) -> None:
    """Put ``address_cidr`` on a CPE's interface (its port, for a port-based E-Line), and
    bring it up. An IPv6 address skips duplicate address detection: each lab address is
    unique, and DAD would hold it back for a second or more."""
    interface = ipaddress.ip_interface(address_cidr)
    nodad = ["nodad"] if interface.version == 6 else []
    ip = [tool("ip"), "-n", namespace]
    run([*ip, "addr", "replace", str(interface), "dev", port, *nodad])
    run([*ip, "link", "set", "dev", port, "up"])


def remove_cpe_port_address(namespace: str, port: str, address_cidr: str) -> None:
    """Remove ``address_cidr`` from a CPE's interface, if it holds it."""
    interface = ipaddress.ip_interface(address_cidr)
    run([tool("ip"), "-n", namespace, "addr", "del", str(interface), "dev", port], check=False)


@contextmanager
def _cpe_kernel(namespace: str, vlan_mode: VlanMode) -> Iterator[RouterKernel]:
    """The CPE's links, seen as the driver sees a router's; the emulation's eBPF objects go
    to a private temporary folder (tc reads them only while adding a filter)."""
    transport = NetnsTransport(namespace)
    objects = tempfile.mkdtemp(prefix="gigalis-cpe-vlan-")
    try:
        transport.open()
        yield RouterKernel(Router(namespace, transport, None), objects, vlan_mode)
    except NapalmException as error:
        raise LabCommandFailed.of("cpe", f"{namespace}: {error}") from error
    finally:
        transport.close()
        shutil.rmtree(objects, ignore_errors=True)


def _apply(namespace: str, kernel: RouterKernel, change: KernelChange) -> None:
    problem = kernel.apply(change) if change else None
    if problem is not None:
        raise LabCommandFailed.of("cpe", f"{namespace}: {problem}")


def cpe_behind(state: LabState, router: str, port: str) -> tuple[str, str]:
    """The CPE namespace and its interface facing ``router``'s hand-off ``port``."""
    for cpe in state.cpes:
        for cpe_port in cpe.ports:
            if cpe_port.router == router and cpe_port.router_port == port:
                return cpe.namespace, cpe_port.cpe_ifname
    handoffs = sorted(f"{p.router}:{p.router_port}" for c in state.cpes for p in c.ports)
    raise LabCommandFailed.of(
        "port", f"{router}:{port} hands off to no CPE in this lab; hand-offs: {', '.join(handoffs)}"
    )
