"""Is the service up, and can it reach its database? For load balancers and monitoring."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gigalis_nms.api.deps import app_engine
from gigalis_nms.db.migrate import current_revision

logger = logging.getLogger(__name__)
router = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str  # ok, unavailable
    database: str  # ok, unreachable
    revision: str | None  # the schema's migration revision


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database cannot be reached"}},
)
def get_health(engine: Annotated[Engine, Depends(app_engine)]) -> JSONResponse:
    """Answers without a token: 200 when the database answers, 503 when it does not."""
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as error:
        logger.error("database %s unreachable: %s", engine.url, error)
        body = Health(status="unavailable", database="unreachable", revision=None)
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(Health(status="ok", database="ok", revision=revision).model_dump())
