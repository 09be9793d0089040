"""`gigalis inventory …` on both databases: load with its diff, the views and the path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigalis_nms.cli import app
from gigalis_nms.settings import get_settings

SMALL_NETWORK = Path(__file__).resolve().parents[1] / "data" / "small-network"
runner = CliRunner()


@pytest.fixture(autouse=True)
def configured(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[None]:
    monkeypatch.setenv("GIGALIS_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGALIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables print whole cells
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def gigalis(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_load_shows_the_plan_then_nothing_to_do() -> None:
    dry = gigalis("inventory", "load", str(SMALL_NETWORK), "--dry-run", "--show", "0")
    assert "+ cable C-NTE1-ANG1" in dry
    assert "Dry run: nothing was written." in dry
    assert "Sites (0)" in gigalis("inventory", "sites")

    assert "Applied 26 changes." in gigalis("inventory", "load", str(SMALL_NETWORK))
    again = gigalis("inventory", "load", str(SMALL_NETWORK))
    assert "No change: the database already matches the files." in again


def test_views_show_what_is_used_and_free() -> None:
    gigalis("inventory", "load", str(SMALL_NETWORK))

    sites = gigalis("inventory", "sites", "--departement", "49")
    assert "Sites (1)" in sites
    assert "ANG1" in sites
    # C-NTE1-ANC1: 24 fibres, 2 held by its link, 1 faulty, 21 free.
    cable = next(
        line for line in gigalis("inventory", "cables").splitlines() if "C-NTE1-ANC1" in line
    )
    assert [cell.strip() for cell in cable.split("│")][5:9] == ["24", "2", "1", "21"]
    link = next(
        line for line in gigalis("inventory", "links").splitlines() if "BL-ANC1-ANG1" in line
    )
    assert "10 Gb/s" in link
    assert "9 Gb/s" in link
    assert "10%" in link
    circuits = gigalis("inventory", "circuits", "--operator", "Opérateur Alpha")
    assert "GIG-ETH-000001" in circuits
    assert "GIG-DF-000001" not in circuits
    assert "nte1-cr1" in gigalis("inventory", "devices", "--site", "NTE1")


def test_path_is_the_shortest_by_route_length() -> None:
    gigalis("inventory", "load", str(SMALL_NETWORK))
    output = gigalis("inventory", "path", "NTE1", "ANG1")
    # 98.0 km direct against 40.2 + 58.1 = 98.3 km through Ancenis.
    assert "NTE1 → ANG1: 1 cables, 98.0 km" in output

    result = runner.invoke(app, ["inventory", "path", "NTE1", "XXX"])
    assert result.exit_code == 1
    assert "z: no site with code 'XXX'" in result.output
