"""API tokens: made, recognised, revoked.

A token is ``gig_`` followed by 32 random bytes in URL-safe base64. It is shown once, when it
is made; the database keeps only ``HMAC-SHA256(secret_key, token)``. The hash is keyed so that
a copy of the database alone does not let anyone check guesses, and it is fast on purpose:
tokens carry 256 random bits, so there is nothing for a slow password KDF (bcrypt, argon2) to
protect against, and every API request can afford to compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlmodel import Session, col, select

from gigalis_nms.auth.models import ApiToken, Role
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput, NotAuthenticated, NotFound
from gigalis_nms.inventory.enums import OrganisationKind
from gigalis_nms.inventory.models import Organisation

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "gig_"
PREFIX_LENGTH = 8  # characters after "gig_" kept in clear, to tell tokens apart in lists


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's identity, role and, for an operator, its organisation."""

    token_id: int
    name: str
    role: Role
    organisation_id: int | None

    @property
    def actor(self) -> str:
        """How the audit log names changes made with this token."""
        return f"token:{self.name}#{self.token_id}"


def _key_bytes(secret_key: str | SecretStr) -> bytes:
    if isinstance(secret_key, SecretStr):
        secret_key = secret_key.get_secret_value()
    return secret_key.encode()


def hash_token(plain_token: str, secret_key: str | SecretStr) -> str:
    """The hex HMAC-SHA256 of a token, which is all the database stores.

    >>> hash_token("gig_example", "key") == hash_token("gig_example", "key")
    True
    >>> hash_token("gig_example", "key") == hash_token("gig_example", "other key")
    False
    """
    return hmac.new(_key_bytes(secret_key), plain_token.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def prefix_of(plain_token: str) -> str:
    """The few characters kept in clear to recognise a token.

    >>> prefix_of("gig_AbCdEfGhIjKl")
    'AbCdEfGh'
    """
    return plain_token.removeprefix(TOKEN_PREFIX)[:PREFIX_LENGTH]


def _check_organisation(session: Session, role: Role, organisation_id: int | None) -> None:
    if role is not Role.OPERATOR:
        if organisation_id is not None:
            raise InvalidInput.of(
                "organisation_id", f"only an operator token belongs to an organisation, not {role}"
            )
        return
    if organisation_id is None:
        raise InvalidInput.of("organisation_id", "an operator token needs its operator")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise InvalidInput.of("organisation_id", f"no organisation with id {organisation_id}")
    if organisation.kind is not OrganisationKind.OPERATOR:
        raise InvalidInput.of(
            "organisation_id",
            f"{organisation.name} is a {organisation.kind}, not an operator",
        )


def create_token(
    session: Session,
    *,
    name: str,
    role: Role,
    organisation_id: int | None = None,
    expires_at: datetime | None = None,
    secret_key: str | SecretStr,
) -> tuple[ApiToken, str]:
    """A new token and its clear text, which the caller shows once and never keeps."""
    if not name.strip():
        raise InvalidInput.of("name", "a token needs a name")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput.of("expires_at", "already in the past")
    _check_organisation(session, role, organisation_id)

    plain = new_token()
    token = ApiToken(
        name=name,
        prefix=prefix_of(plain),
        token_hash=hash_token(plain, secret_key),
        role=role,
        organisation_id=organisation_id,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    logger.info("token %s#%s created with role %s", name, token.id, role)
    return token, plain


def check_usable(token: ApiToken, now: datetime) -> None:
    """Refuse a revoked or expired token."""
    if token.revoked_at is not None:
        raise NotAuthenticated("this API token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("this API token has expired")


def authenticate(
    session: Session, plain_token: str, secret_key: str | SecretStr, *, now: datetime | None = None
) -> Principal:
    """The principal a token stands for, or NotAuthenticated."""
    # Looked up by its keyed hash: the index lookup's timing tells an attacker nothing, since
    # they cannot compute the hash of a guess without the key.
    token_hash = hash_token(plain_token, secret_key)
    token = session.exec(select(ApiToken).where(col(ApiToken.token_hash) == token_hash)).first()
    if token is None or token.id is None:
        raise NotAuthenticated("unknown API token")
    check_usable(token, now or utcnow())
    return Principal(
        token_id=token.id, name=token.name, role=token.role, organisation_id=token.organisation_id
    )


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token for good; revoking it again changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound.of("token", f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        logger.info("token %s#%s revoked", token.name, token.id)
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))
