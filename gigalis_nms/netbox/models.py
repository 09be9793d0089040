"""The three tables NetBox has and the Gigalis inventory lacked: manufacturers, device types
and platforms, each with the Create and Update models its writes validate. A device points at
its type (``device.device_type_id``, nullable); its platform stays the string provisioning
reads (``device.platform``), and the dialect shows the platform row whose slug equals it.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

# A pattern, not Field(regex=…), which pydantic 2 no longer reads.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+$")]


class ManufacturerBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, unique=True)
    slug: Slug = Field(min_length=1, max_length=100, unique=True)
    description: str = Field(default="", max_length=200)


class Manufacturer(ManufacturerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class ManufacturerCreate(ManufacturerBase):
    pass


class ManufacturerUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    slug: Slug | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=200)


class DeviceTypeBase(SQLModel):
    manufacturer_id: int = Field(foreign_key="manufacturer.id", index=True, ondelete="RESTRICT")
    model: str = Field(min_length=1, max_length=100)
    slug: Slug = Field(min_length=1, max_length=100, unique=True)
    part_number: str = Field(default="", max_length=50)
    u_height: float = Field(default=1.0, ge=0, le=100)
    description: str = Field(default="", max_length=200)


class DeviceType(DeviceTypeBase, table=True):
    __tablename__ = "device_type"
    __table_args__ = (
        sa.UniqueConstraint("manufacturer_id", "model", name="uq_device_type_manufacturer_model"),
    )
    id: int | None = Field(default=None, primary_key=True)


class DeviceTypeCreate(DeviceTypeBase):
    pass


class DeviceTypeUpdate(SQLModel):
    manufacturer_id: int | None = None
    model: str | None = Field(default=None, min_length=1, max_length=100)
    slug: Slug | None = Field(default=None, min_length=1, max_length=100)
    part_number: str | None = Field(default=None, max_length=50)
    u_height: float | None = Field(default=None, ge=0, le=100)
    description: str | None = Field(default=None, max_length=200)


class PlatformBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, unique=True)
    slug: Slug = Field(min_length=1, max_length=100, unique=True)
    manufacturer_id: int | None = Field(
        default=None, foreign_key="manufacturer.id", index=True, ondelete="SET NULL"
    )
    napalm_driver: str = Field(default="", max_length=50, description="as NAPALM names it")
    description: str = Field(default="", max_length=200)


class Platform(PlatformBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class PlatformCreate(PlatformBase):
    pass


class PlatformUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    slug: Slug | None = Field(default=None, min_length=1, max_length=100)
    manufacturer_id: int | None = None
    napalm_driver: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=200)
