"""The catalogue's ``site_connection`` rates: shipped and valid, each mistake refused naming
file, line and field, optional, and never offered through TMF620."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from gigalis_nms.catalogue import tmf620
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import band_order_problem
from gigalis_nms.errors import InvalidInput

SHIPPED = REPOSITORY_CATALOGUE.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        load_catalogue(write(tmp_path, text))
    return [str(problem) for problem in refused.value.problems]


def line_of(text: str, fragment: str) -> int:
    """The number of the only line of ``text`` holding ``fragment``."""
    (number,) = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return number


def bands_line(text: str) -> int:
    """The number of the line of ``site_connection``'s ``bands:`` key."""
    lines = text.splitlines()
    start = lines.index("site_connection:")
    return next(n for n in range(start, len(lines)) if lines[n].startswith("  bands:")) + 1


def changed(old: str, new: str) -> str:
    assert SHIPPED.count(old) == 1, old
    return SHIPPED.replace(old, new)


def test_the_shipped_rates_load_in_ascending_bands() -> None:
    rates = load_catalogue(REPOSITORY_CATALOGUE).site_connection

    assert rates is not None
    assert Decimal("1.2") <= rates.route_factor <= Decimal("1.5")
    assert band_order_problem(rates.bands) is None
    assert rates.bands[-1].to_km is None
    fees = (rates.cable_splice_fee, rates.pop_termination_fee, rates.site_termination_fee)
    assert all(fee > 0 for fee in fees)
    # Longer jobs spread their fixed costs: the rate per metre never rises with the length.
    rates_per_metre = [band.per_metre for band in rates.bands]
    assert rates_per_metre == sorted(rates_per_metre, reverse=True)


def test_a_negative_rate_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    text = changed("per_metre: 42.00}", "per_metre: -42.00}")

    assert problems_of(tmp_path, text) == [
        f"catalogue.yaml:{line_of(text, '-42.00')}: site_connection.bands.1.per_metre: "
        "a price may not be negative"
    ]


def test_a_negative_fee_is_refused(tmp_path: Path) -> None:
    text = changed("cable_splice_fee: 1500.00", "cable_splice_fee: -1")

    assert problems_of(tmp_path, text) == [
        f"catalogue.yaml:{line_of(text, 'cable_splice_fee')}: site_connection.cable_splice_fee: "
        "a price may not be negative"
    ]


def test_unordered_bands_are_refused(tmp_path: Path) -> None:
    text = changed("{from_km: 2, to_km: 10,", "{from_km: 1.5, to_km: 10,")

    assert problems_of(tmp_path, text) == [
        f"catalogue.yaml:{bands_line(text)}: "
        "site_connection.bands: band 2 starts at 1.5 km, inside band 1"
    ]


def test_a_gap_between_bands_is_refused(tmp_path: Path) -> None:
    text = changed("{from_km: 10, per_metre", "{from_km: 12, per_metre")

    (problem,) = problems_of(tmp_path, text)
    assert problem.endswith("site_connection.bands: band 3 starts at 12 km, leaving a gap after 10")


def test_a_route_shorter_than_the_straight_line_is_refused(tmp_path: Path) -> None:
    text = changed("route_factor: 1.3", "route_factor: 0.9")

    (problem,) = problems_of(tmp_path, text)
    assert problem.startswith(f"catalogue.yaml:{line_of(text, 'route_factor')}: ")
    assert "site_connection.route_factor: Input should be greater than or equal to 1" in problem


def test_an_unknown_or_missing_key_is_refused(tmp_path: Path) -> None:
    typo = changed("  pop_termination_fee:", "  pop_terminaison_fee:")

    problems = problems_of(tmp_path, typo)

    assert any("site_connection.pop_termination_fee: Field required" in p for p in problems)
    assert any(
        p.startswith(f"catalogue.yaml:{line_of(typo, 'pop_terminaison_fee')}: ")
        and "site_connection.pop_terminaison_fee: Extra inputs are not permitted" in p
        for p in problems
    )


def test_a_catalogue_without_the_section_loads_without_rates(tmp_path: Path) -> None:
    text = SHIPPED[: SHIPPED.index("\n# Bringing fibre to a site")] + "\n"

    catalogue = load_catalogue(write(tmp_path, text))

    assert catalogue.site_connection is None
    assert len(catalogue.offers) == len(load_catalogue(REPOSITORY_CATALOGUE).offers)


def test_the_rates_are_not_offered_through_tmf620() -> None:
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    documents = [
        *tmf620.product_offerings(catalogue),
        *tmf620.product_offering_prices(catalogue),
    ]

    text = json.dumps(documents, default=str)
    assert documents
    for word in ("site_connection", "per_metre", "splice", "route_factor", "termination_fee"):
        assert word not in text
