"""Database layer: engines, sessions, column types and Alembic migrations."""

from gigalis_nms.db.engine import make_engine, session_scope
from gigalis_nms.db.migrate import upgrade

__all__ = ["make_engine", "session_scope", "upgrade"]
