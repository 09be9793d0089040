"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema, and the
modules whose session listeners must hold wherever a session is used (the audit log, the
guard that keeps circuit designs true to the inventory)."""

from sqlmodel import SQLModel

from gigalis_nms import audit  # noqa: F401
from gigalis_nms.auth import models as auth_models  # noqa: F401
from gigalis_nms.billing import models as billing_models  # noqa: F401
from gigalis_nms.billing import subscriptions as billing_subscriptions  # noqa: F401
from gigalis_nms.inventory import models as inventory_models  # noqa: F401
from gigalis_nms.monitoring import models as monitoring_models  # noqa: F401
from gigalis_nms.netbox import models as netbox_models  # noqa: F401
from gigalis_nms.ordering import models as ordering_models  # noqa: F401
from gigalis_nms.provisioning import design_guard  # noqa: F401
from gigalis_nms.provisioning import models as provisioning_models  # noqa: F401
from gigalis_nms.resource_centre import models as resource_centre_models  # noqa: F401

metadata = SQLModel.metadata
