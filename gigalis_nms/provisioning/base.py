"""Where routers' base configurations come from: the whole inventory for production, or
exactly what the running lab built for its routers.

Both give, per router, the base configuration, the platform whose templates render it and
the router's own names for the inventory's ports, plus every router's loopback (a circuit's
far end may be a router outside the lab: its VTEP address is the same everywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gigalis_nms.errors import FieldProblem, NotFound
from gigalis_nms.lab.network import Network, read_network
from gigalis_nms.lab.plan import plan_lab
from gigalis_nms.lab.state import LabState
from gigalis_nms.provisioning.addressing import plan_addresses
from gigalis_nms.provisioning.baseconfig import BaseConfig, plan_base_configs

# Every lab router runs FRR, whatever platform the inventory gives the router it stands in for.
LAB_PLATFORM = "frr"


@dataclass(frozen=True)
class RouterBase:
    hostname: str
    platform: str  # whose templates render the router
    config: BaseConfig
    port_names: Mapping[str, str]  # inventory port name -> the router's own name


@dataclass(frozen=True)
class BaseConfigs:
    """The routers a configuration can be rendered for, and every router's loopback."""

    source: str  # "the inventory", "the lab": named in errors
    routers: Mapping[str, RouterBase]
    loopbacks: Mapping[str, str]  # hostname -> IPv4 loopback, every router of the inventory

    @property
    def hostnames(self) -> list[str]:
        return sorted(self.routers)

    def router(self, hostname: str) -> RouterBase:
        try:
            return self.routers[hostname]
        except KeyError:
            raise NotFound.of("device", f"no router {hostname!r} in {self.source}") from None

    def check_known(self, hostnames: Iterable[str]) -> list[str]:
        """``hostnames`` without repeats, in their order; every unknown one named at once."""
        wanted = list(dict.fromkeys(hostnames))
        problems = [
            FieldProblem("device", f"no router {hostname!r} in {self.source}")
            for hostname in wanted
            if hostname not in self.routers
        ]
        if problems:
            raise NotFound(str(problems[0]), problems)
        return wanted


def production_base_configs(session: Session) -> BaseConfigs:
    """Every router of the inventory, on its own platform, ports by their inventory names."""
    network = read_network(_engine_of(session))
    configs = plan_base_configs(network)
    routers = {
        router.hostname: RouterBase(
            router.hostname,
            router.platform,
            configs[router.hostname],
            {port.name: port.name for port in router.ports},
        )
        for router in network.routers
    }
    return BaseConfigs("the inventory", routers, _loopbacks(network))


def lab_base_configs(session: Session, lab_state: LabState) -> BaseConfigs:
    """The routers of the running lab as the lab built them: FRR, Linux port names, the iBGP
    plan of the lab's own routers (gigalis_nms.lab.plan)."""
    network = read_network(_engine_of(session))
    plan = plan_lab(network, lab_state.sites, Path(lab_state.runtime_dir))
    running = {router.hostname for router in lab_state.routers}
    routers = {
        planned.lab.hostname: RouterBase(
            planned.lab.hostname, LAB_PLATFORM, planned.config, planned.lab.port_names
        )
        for planned in plan.routers
        if planned.lab.hostname in running
    }
    return BaseConfigs("the lab", routers, _loopbacks(network))


def _loopbacks(network: Network) -> dict[str, str]:
    addresses = plan_addresses(network)
    return {hostname: addresses.loopback_ipv4(hostname) for hostname in addresses.device_numbers}


def _engine_of(session: Session) -> Engine:
    # Shortcoming: the lab's reader opens a transaction of its own, so the routers, ports and
    # links are those committed, not those changed in ``session`` and not yet committed.
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
