"""Fixtures for API tests: a small inventory, one token per kind of caller, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from gigalis_nms.api.app import create_app
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.console import console
from gigalis_nms.db import session_scope
from gigalis_nms.settings import Environment, Settings, get_settings
from tests.integration.builders import Inventory, build_inventory

TEST_SECRET_KEY = "test-secret-key-for-the-hmac-of-api-tokens"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment=Environment.TEST, database_url=database_url, secret_key=TEST_SECRET_KEY
    )


@pytest.fixture
def inventory(engine: Engine) -> Inventory:
    return build_inventory(engine)


class TwoOperators(Protocol):
    """A test network's two operators (builders.Inventory, ordering_support.Network)."""

    @property
    def operator_a(self) -> int: ...

    @property
    def operator_b(self) -> int: ...


def make_tokens(engine: Engine, inventory: TwoOperators) -> dict[str, str]:
    """One token per kind of caller: admin, noc, viewer, finance, operator_a, operator_b."""
    wanted = {
        "admin": (Role.ADMIN, None),
        "noc": (Role.NOC, None),
        "viewer": (Role.VIEWER, None),
        "finance": (Role.FINANCE, None),
        "operator_a": (Role.OPERATOR, inventory.operator_a),
        "operator_b": (Role.OPERATOR, inventory.operator_b),
    }
    tokens = {}
    with session_scope(engine, actor="test:tokens") as session:
        for name, (role, organisation_id) in wanted.items():
            _, plain = create_token(
                session,
                name=name,
                role=role,
                organisation_id=organisation_id,
                secret_key=TEST_SECRET_KEY,
            )
            tokens[name] = plain
    return tokens


class Api:
    """A test client that calls as one of the fixture's tokens: ``api.get("noc", "/…")``."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def request(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update(kwargs.pop("headers", {}))
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "GET", path, **kwargs)

    def post(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "POST", path, **kwargs)

    def put(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "PUT", path, **kwargs)

    def patch(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "PATCH", path, **kwargs)

    def delete(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "DELETE", path, **kwargs)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, engine: Engine, inventory: Inventory) -> Api:
    return Api(client, make_tokens(engine, inventory))


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command line over the test's database, on a wide console (no wrapped tables)."""
    # rich's own field, not the width property: restoring the property would fix the
    # console at the width it had, and later tests would lose their COLUMNS.
    monkeypatch.setattr(console, "_width", 250)
    monkeypatch.setenv("GIGALIS_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGALIS_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
