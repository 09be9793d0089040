"""The three tables NetBox has and the Gigalis inventory lacked: manufacturers, device types
and platforms. A device points at its type (``device.device_type_id``, nullable); its
platform stays the string provisioning reads (``device.platform``), and the dialect shows
the platform row whose slug equals it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Manufacturer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=100, unique=True)
    slug: str = Field(min_length=1, max_length=100, unique=True, regex=r"^[a-z0-9_-]+$")
    description: str = Field(default="", max_length=200)


class DeviceType(SQLModel, table=True):
    __tablename__ = "device_type"
    __table_args__ = (
        sa.UniqueConstraint("manufacturer_id", "model", name="uq_device_type_manufacturer_model"),
    )
    id: int | None = Field(default=None, primary_key=True)
    manufacturer_id: int = Field(foreign_key="manufacturer.id", index=True, ondelete="RESTRICT")
    model: str = Field(min_length=1, max_length=100)
    slug: str = Field(min_length=1, max_length=100, unique=True, regex=r"^[a-z0-9_-]+$")
    part_number: str = Field(default="", max_length=50)
    u_height: float = Field(default=1.0, ge=0, le=100)
    description: str = Field(default="", max_length=200)


class Platform(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=100, unique=True)
    slug: str = Field(min_length=1, max_length=100, unique=True, regex=r"^[a-z0-9_-]+$")
    manufacturer_id: int | None = Field(
        default=None, foreign_key="manufacturer.id", index=True, ondelete="SET NULL"
    )
    napalm_driver: str = Field(default="", max_length=50, description="as NAPALM names it")
    description: str = Field(default="", max_length=200)
