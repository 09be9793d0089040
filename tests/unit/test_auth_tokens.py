"""API tokens: their form, the keyed hash that alone is stored, expiry and revocation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gigalis_nms.api.deps import token_from_header
from gigalis_nms.auth.models import ApiToken, Role
from gigalis_nms.auth.service import (
    PREFIX_LENGTH,
    TOKEN_PREFIX,
    Principal,
    check_usable,
    hash_token,
    new_token,
    prefix_of,
)
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import NotAuthenticated

KEY = "unit-test-secret-key-0123456789abcdef"


def stored(**fields: object) -> ApiToken:
    values: dict[str, object] = {
        "name": "t",
        "prefix": "x",
        "token_hash": "0" * 64,
        "role": Role.NOC,
        **fields,
    }
    return ApiToken(**values)


def test_tokens_are_random_urlsafe_and_prefixed() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert re.fullmatch(r"gig_[A-Za-z0-9_-]{43}", token)


def test_prefix_is_the_first_characters_after_gig() -> None:
    token = new_token()
    assert prefix_of(token) == token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + PREFIX_LENGTH]
    assert len(prefix_of(token)) == 8


def test_hash_is_hex_sha256_keyed_and_deterministic() -> None:
    token = new_token()
    digest = hash_token(token, KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hash_token(token, KEY)
    assert digest != hash_token(token, KEY + "other")
    assert digest != hash_token(new_token(), KEY)
    assert token not in digest


def test_an_unexpired_token_is_usable() -> None:
    now = utcnow()
    check_usable(stored(expires_at=now + timedelta(seconds=1)), now)
    check_usable(stored(expires_at=None), now)


@pytest.mark.parametrize("age", [timedelta(0), timedelta(seconds=1), timedelta(days=400)])
def test_an_expired_token_is_refused(age: timedelta) -> None:
    now = utcnow()
    with pytest.raises(NotAuthenticated, match="expired"):
        check_usable(stored(expires_at=now - age), now)


def test_a_revoked_token_is_refused_even_before_it_expires() -> None:
    now = utcnow()
    token = stored(expires_at=now + timedelta(days=1), revoked_at=now - timedelta(seconds=1))
    with pytest.raises(NotAuthenticated, match="revoked"):
        check_usable(token, now)


def test_the_audit_log_names_a_token_by_name_and_id() -> None:
    principal = Principal(token_id=7, name="netbox-sync", role=Role.NOC, organisation_id=None)
    assert principal.actor == "token:netbox-sync#7"


@pytest.mark.parametrize(
    "header", ["Bearer gig_abc", "bearer gig_abc", "Token gig_abc", "  Bearer   gig_abc "]
)
def test_bearer_and_token_schemes_are_accepted(header: str) -> None:
    assert token_from_header(header) == "gig_abc"


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "gig_abc"])
def test_other_authorization_headers_are_refused(header: str | None) -> None:
    with pytest.raises(NotAuthenticated):
        token_from_header(header)
