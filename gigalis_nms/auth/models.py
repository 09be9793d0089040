"""API tokens. Only an HMAC of each token is stored; the token itself is shown once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from gigalis_nms.db.types import UTCDateTime, enum_column, utcnow


class Role(StrEnum):
    ADMIN = "admin"  # everything, including tokens
    NOC = "noc"  # reads and writes the inventory and circuits
    OPERATOR = "operator"  # reads its own organisation's circuits; scoped to it
    VIEWER = "viewer"  # reads the inventory
    FINANCE = "finance"  # runs billing, issues invoices and credit notes; reads the inventory


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, index=True, description="first characters, to recognise it")
    token_hash: str = Field(max_length=64, unique=True)
    role: Role = Field(sa_column=enum_column(Role, nullable=False))
    # RESTRICT: deleting an organisation must not take its tokens with it, unaudited; the
    # delete answers 409 naming them. Tokens are revoked, never deleted, so an organisation
    # that ever had one cannot be deleted: a purge of revoked tokens is still to come.
    organisation_id: int | None = Field(
        None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
