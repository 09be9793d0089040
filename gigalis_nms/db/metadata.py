"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema."""

from sqlmodel import SQLModel

from gigalis_nms import audit  # noqa: F401
from gigalis_nms.auth import models as auth_models  # noqa: F401
from gigalis_nms.inventory import models as inventory_models  # noqa: F401
from gigalis_nms.provisioning import models as provisioning_models  # noqa: F401

metadata = SQLModel.metadata
