"""The inventory's Core tables, for bulk statements and reports that read columns directly
(SQLModel types class attributes as Python values, which SQL expressions cannot use)."""

from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.models import (
    BackboneLink,
    BandwidthHolding,
    Circuit,
    Device,
    FibreCable,
    FibreStrand,
    Interface,
    Organisation,
    Site,
    StrandHolding,
    VlanHolding,
)

ORGANISATION = table_of(Organisation)
SITE = table_of(Site)
DEVICE = table_of(Device)
INTERFACE = table_of(Interface)
CABLE = table_of(FibreCable)
STRAND = table_of(FibreStrand)
LINK = table_of(BackboneLink)
CIRCUIT = table_of(Circuit)
STRAND_HOLDING = table_of(StrandHolding)
VLAN_HOLDING = table_of(VlanHolding)
BANDWIDTH_HOLDING = table_of(BandwidthHolding)
