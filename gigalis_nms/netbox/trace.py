"""``interfaces/{id}/trace/``: the path from an interface along its backbone link, in
NetBox's segments ``[near ends, cable, far ends]``.

A link riding one cable is one segment, interface to interface. A link riding several
cables is one segment per cable, in route order from the asked interface: the first starts
at the interface, the last ends at the far interface, and the ends in between are empty
because the splices and patch panels where cables meet are not in the inventory (NetBox
would show front and rear ports there). A link on no cable of the inventory (a patch cord
inside one room) is one segment with no cable. An interface on no link has no path: ``[]``.
"""

from __future__ import annotations

from typing import Any

from gigalis_nms.inventory.models import Interface
from gigalis_nms.netbox import serializers as out
from gigalis_nms.netbox.context import Context

Segment = list[Any]


def trace_interface(ctx: Context, port: Interface) -> list[Segment]:
    routes = [
        r
        for r in ctx.link_routes.values()
        if port.id in (r.link.a_interface_id, r.link.z_interface_id)
    ]
    if not routes:
        return []
    route = routes[0]
    from_a = port.id == route.link.a_interface_id
    far_id = route.link.z_interface_id if from_a else route.link.a_interface_id
    far = ctx.interfaces({far_id})[far_id]
    near_end, far_end = [out.interface_brief(ctx, port)], [out.interface_brief(ctx, far)]
    cable_ids = route.cable_ids if from_a else list(reversed(route.cable_ids))
    if not cable_ids:
        return [[near_end, None, far_end]]
    cables = ctx.cables_by_id(set(cable_ids))
    last = len(cable_ids) - 1
    return [
        [
            near_end if index == 0 else [],
            out.cable_brief(ctx, cables[cable_id]),
            far_end if index == last else [],
        ]
        for index, cable_id in enumerate(cable_ids)
    ]
