"""The public map page at /map."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["public"])
