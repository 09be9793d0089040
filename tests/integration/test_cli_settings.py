"""The command line with bad settings: every mistake names its GIGALIS_* variable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigalis_nms.cli import app
from gigalis_nms.settings import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIGALIS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_command_on_a_new_database_creates_its_schema(tmp_path: Path) -> None:
    code, output = run("inventory", "sites")
    assert code == 0, output
    assert "Sites (0)" in output


def test_production_refuses_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGALIS_ENVIRONMENT", "production")
    code, output = run("token", "list")
    assert code == 1
    assert "GIGALIS_SECRET_KEY: still the development default" in output
    assert "GIGALIS_DATABASE_URL: not set; production needs PostgreSQL" in output


def test_production_refuses_sqlite_and_a_repetitive_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GIGALIS_ENVIRONMENT", "production")
    monkeypatch.setenv("GIGALIS_SECRET_KEY", "a" * 40)
    monkeypatch.setenv("GIGALIS_DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    code, output = run("inventory", "sites")
    assert code == 1
    assert "GIGALIS_SECRET_KEY: too few distinct characters" in output
    assert "GIGALIS_DATABASE_URL: production needs PostgreSQL" in output
    assert not (tmp_path / "p.sqlite3").exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nonsense", "not a usable database URL"),
        ("sqlite://", "an in-memory SQLite database is empty for every connection"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot use the database"),
    ],
)
def test_an_unusable_database_url_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("GIGALIS_DATABASE_URL", url)
    code, output = run("inventory", "sites")
    assert code == 1
    assert f"GIGALIS_DATABASE_URL: {reason}" in output


def test_invalid_values_name_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGALIS_PORT", "abc")
    monkeypatch.setenv("GIGALIS_LOG_LEVEL", "LOUD")
    code, output = run("token", "list")
    assert code == 1
    assert "GIGALIS_PORT:" in output
    assert "GIGALIS_LOG_LEVEL:" in output


def test_unknown_revision_is_named() -> None:
    code, output = run("db", "upgrade", "9999")
    assert code == 1
    assert "revision: Can't locate revision identified by '9999'" in output
