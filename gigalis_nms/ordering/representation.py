"""Orders as TMF622 ``ProductOrder`` documents (JSON-ready dicts).

To be written with the order service: ``order_resource`` is what the API answers and what
every event carries.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from gigalis_nms.ordering.models import ProductOrder


def order_resource(session: Session, order: ProductOrder) -> dict[str, Any]:
    raise NotImplementedError("written with the order service")
