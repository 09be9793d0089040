"""A router's whole intended configuration: its base plus every circuit it carries, rendered
from the templates in ``provisioning/templates``.

For FRR the result is one configuration document (gigalis_nms.devices.frr.document): the
kernel section holds every circuit's bridges, VLAN and VXLAN links, in the order the driver
itself prints them, and the FRR section is the base with the circuits' interface
descriptions folded into its interface blocks. For the other platforms it is the base
followed by each circuit's part, by circuit reference, in the platform's syntax.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from gigalis_nms.devices.frr.document import parse_document, render_document
from gigalis_nms.devices.frr.kernel import (
    KernelObjects,
    parse_kernel_section,
    render_kernel_section,
)
from gigalis_nms.errors import Conflict, FieldProblem, InvalidInput
from gigalis_nms.provisioning.base import (
    BaseConfigs,
    RouterBase,
    lab_base_configs,
    production_base_configs,
)
from gigalis_nms.provisioning.baseconfig import BaseConfig, InterfaceConfig
from gigalis_nms.provisioning.context import ElineEnd, configured_elines, eline_ends
from gigalis_nms.provisioning.templates import linux_vlan_link, render_base, render_service

__all__ = [
    "BaseConfigs",
    "RouterBase",
    "intended_configs",
    "lab_base_configs",
    "production_base_configs",
    "render_base",
    "render_service",
    "router_config",
]

log = logging.getLogger(__name__)

FRR = "frr"
# Platforms whose bridging VLANs are device-wide: two circuits must not share one.
DEVICE_WIDE_VLANS = frozenset({"eos"})


def intended_configs(
    session: Session,
    hostnames: Sequence[str] | None = None,
    *,
    base: BaseConfigs,
    include: Collection[int] = (),
    exclude: Collection[int] = (),
    templates: Path | None = None,
) -> dict[str, str]:
    """The whole intended configuration of each router of ``hostnames`` (every router of
    ``base`` when None), by hostname, in the order given.

    A router carries every designed E-Line that ends on it and is being provisioned or
    active (not a suspended one), plus the circuits of ``include`` (the circuit being
    provisioned, still designed), minus those of ``exclude`` (the circuit being
    deprovisioned). Circuits of the inventory
    without a design are not rendered: they were configured before Gigalis managed the
    routers, by hand, and a replace of the intended configuration would remove them.
    Transit routers carry a circuit's tunnel as plain routed traffic: nothing is rendered
    for them. An unknown hostname is refused, every one named.
    """
    wanted = base.check_known(base.hostnames if hostnames is None else hostnames)
    here = set(wanted)
    ends: dict[str, list[ElineEnd]] = defaultdict(list)
    for eline in configured_elines(session, include=include, exclude=exclude):
        for end in eline_ends(eline, base.loopbacks):
            if end.hostname in here:
                ends[end.hostname].append(end)
    return {
        hostname: router_config(base.router(hostname), ends[hostname], templates=templates)
        for hostname in wanted
    }


def router_config(
    router: RouterBase, ends: Iterable[ElineEnd], *, templates: Path | None = None
) -> str:
    """One router's intended configuration: its base and ``ends``, its part of each circuit
    (ports by their inventory names)."""
    named = [end.with_port_names(router.port_names) for end in ends]
    named.sort(key=lambda end: end.circuit_ref)
    _check_shared(router, named)
    config = _with_port_descriptions(router.config, named)
    log.debug("%s: rendering the base and %d circuits", router.hostname, len(named))
    if router.platform == FRR:
        return _frr_document(router.hostname, config, named, templates)
    parts = [render_base(router.platform, config, templates=templates)]
    parts += [render_service(router.platform, end, templates=templates) for end in named]
    return "".join(parts)


def _with_port_descriptions(config: BaseConfig, ends: Sequence[ElineEnd]) -> BaseConfig:
    """The base with each port-based circuit's label as its port's description: the whole
    port is the circuit's, and one block per interface holds one description. Every side
    must be on a customer port of the router."""
    ports = {interface.name: interface for interface in config.interfaces}
    for end in ends:
        for side in end.sides:
            port = ports.get(side.port)
            if port is None:
                reason = f"{end.circuit_ref}: {config.hostname} has no customer port {side.port!r}"
                raise InvalidInput.of("interface", reason)
            if port.backbone:
                reason = f"{end.circuit_ref}: {config.hostname} {side.port} is a backbone port"
                raise Conflict.of("interface", reason)
    labels = {side.port: end.label for end in ends for side in end.sides if side.port_based}
    interfaces = tuple(
        replace(interface, description=labels.get(interface.name, interface.description))
        for interface in config.interfaces
    )
    return replace(config, interfaces=interfaces)


def _frr_document(
    hostname: str, config: BaseConfig, ends: Sequence[ElineEnd], templates: Path | None
) -> str:
    """The kernel section of every circuit, then the base with the circuits' VLAN links
    described in it (what frr/eline.j2's FRR section says, folded in)."""
    objects: KernelObjects = {}
    owners: dict[str, str] = {}
    problems = []
    for end in ends:
        section = parse_document(render_service(FRR, end, templates=templates)).kernel
        for name, obj in parse_kernel_section(section.text if section else "").items():
            owner = owners.setdefault(name, end.circuit_ref)
            if owner != end.circuit_ref:
                reason = f"{hostname}: {name} is both {owner}'s and {end.circuit_ref}'s"
                problems.append(FieldProblem("interface", reason))
            objects[name] = obj
    if problems:
        raise Conflict(str(problems[0]), problems)
    vlan_links = sorted(
        (
            InterfaceConfig(linux_vlan_link(side, end.vni), end.label, enabled=True)
            for end in ends
            for side in end.sides
            if not side.port_based
        ),
        key=lambda interface: interface.name,
    )
    described = replace(config, interfaces=config.interfaces + tuple(vlan_links))
    frr = render_base(FRR, described, templates=templates)
    return render_document(render_kernel_section(objects), frr)


def _check_shared(router: RouterBase, ends: Sequence[ElineEnd]) -> None:
    """Refuse what two circuits, or two ends of one, cannot share on one router: a port one
    of them takes whole, a VLAN of one port, a device-wide bridging VLAN."""
    problems = _port_problems(router.hostname, ends)
    if router.platform in DEVICE_WIDE_VLANS:
        problems += _bridge_vlan_problems(router.hostname, ends)
    if problems:
        raise Conflict(str(problems[0]), problems)


def _port_problems(hostname: str, ends: Sequence[ElineEnd]) -> list[FieldProblem]:
    users: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for end in ends:
        for side in end.sides:
            users[side.port].append((end.circuit_ref, side.vlan))
    problems = []
    for port, uses in users.items():
        whole = [ref for ref, vlan in uses if vlan is None]
        if whole and len(uses) > 1:
            other = next((ref for ref, _ in uses if ref != whole[0]), whole[0])
            reason = f"{hostname}: {port} is all {whole[0]}'s, yet {other} uses it too"
            problems.append(FieldProblem("interface", reason))
        counts = Counter(vlan for _, vlan in uses if vlan is not None)
        for vlan in sorted(vlan for vlan, count in counts.items() if count > 1):
            refs = " and ".join(sorted({ref for ref, used in uses if used == vlan}))
            problems.append(FieldProblem("vlan", f"{hostname}: {port} VLAN {vlan}: {refs}"))
    return problems


def _bridge_vlan_problems(hostname: str, ends: Sequence[ElineEnd]) -> list[FieldProblem]:
    bridges: dict[int, list[str]] = defaultdict(list)
    for end in ends:
        bridges[end.bridge_vlan].append(end.circuit_ref)
    return [
        FieldProblem("vni", f"{hostname}: {' and '.join(refs)} would share bridging VLAN {vlan}")
        for vlan, refs in sorted(bridges.items())
        if len(refs) > 1
    ]
