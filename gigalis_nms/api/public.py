"""The public read-only view under /api/v1/public/, with no token: PoPs, simplified cable
routes, services per commune, sites needing THD — never a price, an operator's name on a
circuit, or a contact."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/public", tags=["public"])
