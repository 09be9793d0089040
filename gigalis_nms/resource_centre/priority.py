"""The priority of a site needing THD: a score from 0 (nothing to do) to 100 (first in line).

The score is a weighted sum of four parts, each between 0 and 1::

    priority = 100 × (0.35 need_of_connectivity + 0.15 need_of_bandwidth
                      + 0.25 category_weight + 0.25 cheapness)

- *need of connectivity*: how badly today's access serves the site (none 1.0 … FTTE 0.15);
- *need of bandwidth*: log-scaled from 1 Mb/s (0) to 1 Gb/s and more (1); unknown 0.5;
- *category weight*: hospitals and schools first, single businesses after public sites;
- *cheapness*: 1 for a connection costing nothing, falling linearly to 0 at
  :data:`COST_CEILING` EUR and beyond, or when the cost could not be estimated.

A site already connected, or already on dedicated fibre (FTTO), scores 0 whatever else.
The weights are here and only here; the resource centre's README explains them.

>>> from decimal import Decimal
>>> priority_of(SiteCategory.HOSPITAL, Connectivity.NONE, 1000, NeedStatus.IDENTIFIED,
...             Decimal(0))
100
>>> priority_of(SiteCategory.SCHOOL, Connectivity.FTTO, 1000, NeedStatus.IDENTIFIED,
...             Decimal(0))
0
"""

from __future__ import annotations

import math
from decimal import Decimal

from gigalis_nms.resource_centre.models import Connectivity, NeedStatus, SiteCategory

WEIGHTS = {"connectivity": 0.35, "bandwidth": 0.15, "category": 0.25, "cost": 0.25}
CONNECTIVITY_NEED = {
    Connectivity.NONE: 1.0,
    Connectivity.SATELLITE: 0.9,
    Connectivity.RADIO: 0.7,
    Connectivity.DSL: 0.6,
    Connectivity.UNKNOWN: 0.5,  # most unsurveyed sites are on copper: close to DSL
    Connectivity.CABLE: 0.4,
    Connectivity.FTTH: 0.3,
    Connectivity.FTTE: 0.15,
    Connectivity.FTTO: 0.0,
}
CATEGORY_WEIGHT = {
    SiteCategory.HOSPITAL: 1.0,
    SiteCategory.SCHOOL: 0.9,
    SiteCategory.HIGHER_EDUCATION: 0.9,
    SiteCategory.HEALTH_CENTRE: 0.8,
    SiteCategory.BUSINESS_PARK: 0.8,
    SiteCategory.TOWN_HALL: 0.7,
    SiteCategory.ADMINISTRATION: 0.7,
    SiteCategory.CULTURE_SPORT: 0.5,
    SiteCategory.BUSINESS: 0.5,
    SiteCategory.OTHER: 0.4,
}
UNKNOWN_BANDWIDTH_NEED = 0.5
FULL_NEED_MBPS = 1000  # a need of 1 Gb/s or more counts fully
COST_CEILING = Decimal("200000")  # EUR: a connection this dear or dearer earns no cost points


def bandwidth_need(needed_mbps: int | None) -> float:
    """0 at 1 Mb/s or less, 1 at :data:`FULL_NEED_MBPS` or more, log-scaled between.

    >>> bandwidth_need(1), bandwidth_need(100), bandwidth_need(10_000)
    (0.0, 0.6666666666666666, 1.0)
    """
    if needed_mbps is None:
        return UNKNOWN_BANDWIDTH_NEED
    if needed_mbps <= 1:
        return 0.0
    return min(1.0, math.log10(needed_mbps) / math.log10(FULL_NEED_MBPS))


def cheapness(cost: Decimal | None) -> float:
    """1 for a free connection, 0 at :data:`COST_CEILING` or above, or for an unknown cost."""
    if cost is None:
        return 0.0
    return float(max(Decimal(0), 1 - cost / COST_CEILING))


def priority_of(
    category: SiteCategory,
    connectivity: Connectivity,
    needed_mbps: int | None,
    status: NeedStatus,
    cost: Decimal | None,
) -> int:
    """The score of the module's rule, rounded half up to a whole number."""
    if status == NeedStatus.CONNECTED or connectivity == Connectivity.FTTO:
        return 0
    score = (
        WEIGHTS["connectivity"] * CONNECTIVITY_NEED[connectivity]
        + WEIGHTS["bandwidth"] * bandwidth_need(needed_mbps)
        + WEIGHTS["category"] * CATEGORY_WEIGHT[category]
        + WEIGHTS["cost"] * cheapness(cost)
    )
    # A tiny epsilon so that 0.5 points written as 49.99999… in binary still round up.
    return min(100, math.floor(100 * score + 0.5 + 1e-9))
