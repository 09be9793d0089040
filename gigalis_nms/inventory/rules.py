"""Rules about the shape of a circuit, shared by the API and the inventory loader so that a
circuit one accepts the other accepts too."""

from __future__ import annotations

from gigalis_nms.errors import FieldProblem
from gigalis_nms.inventory.enums import SERVICE_REF_CODES, ServiceType

# Services sold by their bandwidth: a circuit of these states it.
CARRY_BANDWIDTH = frozenset({ServiceType.ETHERNET_ELINE, ServiceType.WAVELENGTH})


def circuit_shape_problems(
    *,
    ref: str,
    service_type: ServiceType,
    bandwidth_mbps: int | None,
    has_z_end: bool,
    holds_strands: bool,
) -> list[FieldProblem]:
    """What is wrong with a circuit's combination of service, ends and bandwidth.

    >>> [p.field for p in circuit_shape_problems(ref="GIG-DF-000001",
    ...     service_type=ServiceType.DARK_FIBRE, bandwidth_mbps=100, has_z_end=True,
    ...     holds_strands=True)]
    ['bandwidth_mbps']
    >>> circuit_shape_problems(ref="GIG-ETH-000001", service_type=ServiceType.ETHERNET_ELINE,
    ...     bandwidth_mbps=1000, has_z_end=True, holds_strands=False)
    []
    """
    problems = []
    code = SERVICE_REF_CODES[service_type]
    if not ref.startswith(f"GIG-{code}-"):
        problems.append(
            FieldProblem("ref", f"a {service_type} circuit's reference is GIG-{code}-…")
        )
    is_dark_fibre = service_type == ServiceType.DARK_FIBRE
    if is_dark_fibre and bandwidth_mbps is not None:
        problems.append(FieldProblem("bandwidth_mbps", "dark fibre has no bandwidth"))
    # Hosting may state the bandwidth of its uplink, or none: a rack is sold by the unit.
    if service_type in CARRY_BANDWIDTH and bandwidth_mbps is None:
        problems.append(FieldProblem("bandwidth_mbps", f"required for {service_type}"))
    if service_type == ServiceType.HOSTING and has_z_end:
        problems.append(FieldProblem("z_site_id", "hosting has one end only"))
    if service_type != ServiceType.HOSTING and not has_z_end:
        problems.append(FieldProblem("z_site_id", f"required for {service_type}"))
    if not is_dark_fibre and holds_strands:
        problems.append(FieldProblem("strands", "only dark fibre holds strands"))
    return problems
