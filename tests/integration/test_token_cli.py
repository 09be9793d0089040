"""`gigalis token create | list | revoke`, against both databases."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from gigalis_nms.audit import AuditEntry
from gigalis_nms.auth.cli import app
from gigalis_nms.auth.models import ApiToken, Role
from gigalis_nms.auth.service import authenticate
from gigalis_nms.db import session_scope
from gigalis_nms.errors import NotAuthenticated
from tests.integration.builders import Inventory
from tests.integration.conftest import TEST_SECRET_KEY


def test_create_prints_the_token_once_and_stores_its_hash(
    runner: CliRunner, engine: Engine, inventory: Inventory
) -> None:
    result = runner.invoke(app, ["create", "--role", "operator", "--operator", "Opérateur A"])

    assert result.exit_code == 0, result.output
    plain = result.stdout.strip()
    assert plain.startswith("gig_")
    assert "cannot show it again" in result.stderr
    with session_scope(engine) as session:
        principal = authenticate(session, plain, TEST_SECRET_KEY)
        assert principal.role is Role.OPERATOR
        assert principal.organisation_id == inventory.operator_a
        assert principal.name == "operator Opérateur A"
        stored = session.exec(select(ApiToken.token_hash)).all()
        assert plain not in stored
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.entity) == "api_token")).one()
        assert entry.actor == f"cli:{getpass.getuser()}"
        assert entry.after is not None
        assert entry.after["token_hash"] == "***"


def test_an_operator_token_needs_an_operator(runner: CliRunner, inventory: Inventory) -> None:
    result = runner.invoke(app, ["create", "--role", "operator"])
    assert result.exit_code == 1
    assert "organisation_id" in result.stderr
    result = runner.invoke(app, ["create", "--role", "operator", "--operator", "Syndicat Fibre"])
    assert result.exit_code == 1
    assert "not an operator" in result.stderr
    result = runner.invoke(
        app, ["create", "--role", "noc", "--operator", str(inventory.operator_a)]
    )
    assert result.exit_code == 1
    assert "only an operator token" in result.stderr


def test_list_and_revoke(runner: CliRunner, engine: Engine, inventory: Inventory) -> None:
    created = runner.invoke(app, ["create", "--role", "noc", "--name", "netbox-sync"])
    plain = created.stdout.strip()

    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert "netbox-sync" in listed.stdout
    assert plain[:12] in listed.stdout
    assert plain not in listed.stdout
    with session_scope(engine) as session:
        token = session.exec(select(ApiToken)).one()
        assert token.token_hash not in listed.stdout

    revoked = runner.invoke(app, ["revoke", str(token.id)])
    assert revoked.exit_code == 0, revoked.output
    with session_scope(engine) as session, pytest.raises(NotAuthenticated):
        authenticate(session, plain, TEST_SECRET_KEY)
    assert "revoked" in runner.invoke(app, ["list"]).stdout
    assert runner.invoke(app, ["revoke", "999"]).exit_code == 1
