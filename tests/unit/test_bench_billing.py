"""The billing benchmark (bench/billing.py): its synthetic month holds what it says, and the
whole of it runs on a tiny month (SQLite in a temporary folder, one rendering worker)."""

from __future__ import annotations

import cProfile
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.billing import (
    DatabaseFigures,
    last_closed_month,
    parse_arguments,
    print_report,
    profile_summary,
)
from bench.billing_data import (
    ACTIVATED,
    CHANGED,
    FATES,
    IRU,
    TERMINATED,
    BillingMonth,
    luhn_completed,
    synthetic_month,
)
from bench.billing_month import compute, render
from bench.databases import migrated_database
from bench.monitoring import write_history
from gigalis_nms.billing.lines import early_termination_fee, invoice_lines
from gigalis_nms.billing.models import BillingAccount, LineKind, Subscription, SubscriptionEnd
from gigalis_nms.billing.money import month_days
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.tables import CIRCUIT, ORGANISATION
from gigalis_nms.inventory.validators import check_siren, luhn_valid
from gigalis_nms.monitoring.calendar import month_bounds
from gigalis_nms.monitoring.models import IncidentCircuit

MARCH = (2026, 3)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


@pytest.fixture(scope="module")
def month(catalogue: Catalogue) -> BillingMonth:
    return synthetic_month(600, *MARCH, catalogue, seed=7)


def subscriptions(built: BillingMonth) -> list[Subscription]:
    return [Subscription(**row) for row in built.rows_of(table_of(Subscription))]


def test_luhn_completed_numbers_pass_the_check_and_one_digit_off_fails() -> None:
    rng = random.Random(1)
    for _ in range(200):
        siren = luhn_completed(str(rng.randrange(10_000_000, 99_999_999)))
        assert check_siren(siren) == siren
        wrong = siren[:-1] + str((int(siren[-1]) + 1) % 10)
        assert not luhn_valid(wrong)


def test_operators_have_valid_sirens_and_sirets_of_them(month: BillingMonth) -> None:
    accounts = {row["operator_id"]: row for row in month.rows_of(table_of(BillingAccount))}
    organisations = month.rows_of(ORGANISATION)
    assert len(organisations) == month.operators == len(accounts)
    for organisation in organisations:
        siren = check_siren(organisation["siren"])
        account = accounts[organisation["id"]]
        assert account["siret"].startswith(siren)
        assert luhn_valid(account["siret"])
    assert any(account["public_buyer"] for account in accounts.values())


def test_every_fate_is_there_and_bills_its_own_kind_of_line(
    month: BillingMonth, catalogue: Catalogue
) -> None:
    assert set(month.fates) == set(FATES)
    lines = invoice_lines(subscriptions(month), catalogue, *MARCH)
    kinds = {line.kind for line in lines}
    assert kinds == {
        LineKind.RECURRING,
        LineKind.ONE_TIME_FEE,
        LineKind.IRU,
        LineKind.EARLY_TERMINATION,
    }
    assert month.subscriptions_in_month == len(subscriptions(month)) > month.circuits


def test_changes_and_terminations_fall_inside_the_month_as_billing_records_them(
    month: BillingMonth,
) -> None:
    first, last = month_days(*MARCH)
    by_circuit: dict[int | None, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions(month):
        by_circuit[subscription.circuit_id].append(subscription)
    changed = [periods for periods in by_circuit.values() if len(periods) == 2]
    assert len(changed) == month.fates[CHANGED]
    for before, after in changed:
        assert before.ended_by is SubscriptionEnd.CHANGE
        assert before.end_date is not None
        assert first <= before.end_date < last
        assert after.start_date == before.end_date + timedelta(days=1)
        assert after.replaces_id == before.id
        assert after.end_date is None
        assert after.contract_start == before.contract_start

    terminated = [s for s in subscriptions(month) if s.ended_by is SubscriptionEnd.TERMINATION]
    assert len(terminated) == month.fates[TERMINATED]
    for subscription in terminated:
        assert subscription.end_date is not None
        assert first <= subscription.end_date <= last
        assert early_termination_fee(subscription) is not None  # inside its commitment

    started = [s for s in subscriptions(month) if first <= s.start_date <= last]
    signed_iru = [s for s in started if s.offer_kind == "dark_fibre_iru"]
    assert 0 < len(signed_iru) <= month.fates[IRU]
    assert len(started) - len(changed) - len(signed_iru) == month.fates[ACTIVATED]


def test_outages_are_inside_the_month_on_circuits_in_service_all_month(
    month: BillingMonth,
) -> None:
    start, end = month_bounds(*MARCH)
    circuits = {row["id"]: row for row in month.rows_of(CIRCUIT)}
    outages = month.rows_of(table_of(IncidentCircuit))
    assert len(outages) == month.outages > 0
    for outage in outages:
        assert start <= outage["started_at"] < outage["ended_at"] <= end
        assert circuits[outage["circuit_id"]]["created_at"] < start


def test_the_same_seed_gives_the_same_month(catalogue: Catalogue) -> None:
    one = synthetic_month(100, *MARCH, catalogue, seed=3)
    two = synthetic_month(100, *MARCH, catalogue, seed=3)
    other = synthetic_month(100, *MARCH, catalogue, seed=4)
    assert one.history.rows == two.history.rows
    assert one.history.rows != other.history.rows


def test_a_tiny_month_is_run_checked_and_rendered(
    tmp_path: Path, catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    built = synthetic_month(40, *MARCH, catalogue, seed=11)
    figures = DatabaseFigures("sqlite")
    with migrated_database("sqlite", tmp_path) as url:
        write_history(url, built.history)
        figures.compute = compute(url, built.label, built.billing_day, None)
        figures.renders.append(render(url, built.label, 1))

    result = figures.compute
    assert result.draft is not None
    assert result.again is not None
    assert result.issue is not None
    assert result.draft.actions["invoice created"] == built.operators
    assert all(action.endswith(" unchanged") for action in result.again.actions)
    assert result.again_changed == []
    assert result.numbering_problems == []
    assert result.bare_lines == result.draft.lines > built.circuits
    assert all(count == 0 for count in result.draft.synced.values())
    issued = sum(result.issue.actions.values())
    assert result.issued_numbers["invoice"] == ["FAC-0000001", f"FAC-{built.operators:07d}"]
    assert figures.problems == []
    assert figures.passed

    (rendered,) = figures.renders
    assert rendered.documents == rendered.stored == issued
    assert rendered.failed == []
    assert rendered.pdf_bytes_mean > 10_000

    print_report(built, [figures], parse_arguments(["--sqlite", "--circuits", "40"]))
    assert "PASS" in capsys.readouterr().out


def test_arguments_refuse_a_month_not_over_and_too_few_circuits() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["--month", "2999-01"])
    with pytest.raises(SystemExit):
        parse_arguments(["--month", "2026-13"])
    with pytest.raises(SystemExit):
        parse_arguments(["--circuits", "5"])
    assert parse_arguments(["--quick"]).circuits == 1_000


def test_the_month_billed_by_default_is_the_last_closed_in_paris() -> None:
    assert last_closed_month(datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"
    # 23:30 UTC on 28 February is already 1 March in Paris: February is closed.
    assert last_closed_month(datetime(2026, 2, 28, 23, 30, tzinfo=UTC)) == "2026-02"
    assert last_closed_month(datetime(2026, 2, 28, 22, 30, tzinfo=UTC)) == "2026-01"


def _slow() -> int:
    return sum(i * i for i in range(300_000))


def test_the_profile_summary_puts_the_costliest_function_first(tmp_path: Path) -> None:
    profile = cProfile.Profile()
    profile.enable()
    _slow()
    month_days(2026, 2)
    profile.disable()
    path = tmp_path / "run.pstats"
    profile.dump_stats(str(path))

    summary = profile_summary(path, top=3)
    assert "<genexpr>" in summary["own_time"][0]
    assert any("billing/money.py" in line for line in summary["gigalis_cumulative"])
