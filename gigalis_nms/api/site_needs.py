"""Sites needing THD under /api/v1/site-needs (staff tokens)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["resource centre"])
