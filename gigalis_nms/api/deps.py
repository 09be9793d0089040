"""What every route depends on: one transaction, the caller, its role and its scope.

These checks are written once here and declared by the routes, never repeated inside them.

Who may do what (``Role`` in :mod:`gigalis_nms.auth.models`):

============  ==========================================  ======================
role          reads                                       writes
============  ==========================================  ======================
admin         everything, audit log included              everything
noc           everything, audit log included              inventory and circuits
viewer        inventory and circuits, organisations with  nothing
              their contacts (internal read-only staff:
              management, finance, support); no audit
operator      sites (public network information), its     its own qualifications,
              own organisation, its own circuits and      quotes, orders and
              their holdings, its own qualifications,     notification callbacks
              quotes, orders and callbacks
============  ==========================================  ======================

An operator asking for another operator's circuit or organisation gets 404, exactly as if it
did not exist: a 403 would tell it that the object is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import Principal, authenticate
from gigalis_nms.db import session_scope
from gigalis_nms.errors import NotAuthenticated, PermissionDenied, with_article
from gigalis_nms.settings import Settings

# Finance reads what management reads (the inventory, SLA reports) and alone with admins
# runs billing and issues documents (BILLERS).
STAFF = frozenset({Role.ADMIN, Role.NOC, Role.VIEWER, Role.FINANCE})
EVERYONE = STAFF | {Role.OPERATOR}
WRITERS = frozenset({Role.ADMIN, Role.NOC})
AUDITORS = frozenset({Role.ADMIN, Role.NOC})
BILLERS = frozenset({Role.ADMIN, Role.FINANCE})
# Who may qualify, quote, order and subscribe to notifications: operators for themselves, the
# NOC on an operator's behalf; viewers read only.
BUYERS = frozenset({Role.ADMIN, Role.NOC, Role.OPERATOR})
# NetBox clients send "Token <key>"; OAuth-style clients send "Bearer <key>".
AUTH_SCHEMES = frozenset({"bearer", "token"})


# Dependencies that do no I/O are coroutines: FastAPI would run a plain function in its thread
# pool, a hop that costs more than the function.


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def app_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def open_session(
    request: Request, engine: Annotated[Engine, Depends(app_engine)]
) -> Iterator[Session]:
    """The request's one transaction: committed when the route returns, rolled back if it
    raises. The caller's identity is filled in once the token is known."""
    # Reads open a read-only transaction, so on SQLite concurrent GETs do not queue behind
    # the write lock that every writing transaction takes at BEGIN (db/engine.py).
    read_only = request.method in READ_METHODS
    with session_scope(engine, actor="anonymous", read_only=read_only) as session:
        yield session


# "function" scope: the commit happens before the response leaves, so a client never sees a
# success for a write that failed to commit, nor reads before its own write is visible.
DbSession = Annotated[Session, Depends(open_session, scope="function")]

token_header = APIKeyHeader(
    name="Authorization",
    scheme_name="token",
    description="`Bearer <token>` (or `Token <token>`, as NetBox clients send it)",
    auto_error=False,
)


def token_from_header(value: str | None) -> str:
    """The token in an Authorization header value.

    >>> token_from_header("Bearer gig_abc"), token_from_header("Token gig_abc")
    ('gig_abc', 'gig_abc')
    """
    if not value:
        raise NotAuthenticated("no API token: send the header Authorization: Bearer <token>")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not token.strip():
        raise NotAuthenticated("the Authorization header must read Bearer <token>")
    return token.strip()


def authenticate_caller(
    session: DbSession,
    settings: Annotated[Settings, Depends(app_settings)],
    authorization: Annotated[str | None, Depends(token_header)],
) -> Principal:
    principal = authenticate(session, token_from_header(authorization), settings.secret_key)
    session.info["actor"] = principal.actor
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate_caller)]


class RoleRequirement:
    """A dependency admitting only some roles: ``Depends(RoleRequirement(WRITERS, "change
    sites"))``; the others get 403 naming what they tried."""

    def __init__(self, roles: Iterable[Role], action: str) -> None:
        self.roles = frozenset(roles)
        self.action = action

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        if principal.role not in self.roles:
            raise PermissionDenied(f"{with_article(principal.role)} token may not {self.action}")
        return principal


async def tenant_of(principal: CurrentPrincipal) -> int | None:
    """The organisation whose objects alone the caller may see, or None for staff."""
    if principal.role is not Role.OPERATOR:
        return None
    if principal.organisation_id is None:  # refused at creation; never read as "see all"
        raise PermissionDenied("this operator token belongs to no organisation")
    return principal.organisation_id


Tenant = Annotated[int | None, Depends(tenant_of)]
