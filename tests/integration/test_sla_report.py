"""The monthly SLA report over the incident log, stored results and `gigalis sla report`, on
both databases, with figures worked out by hand.

October 2026 in Paris runs from 30 September 22:00 UTC to 31 October 23:00 UTC: 745 hours
(2,682,000 s), the clocks going back on the 25th. The circuits built below:

- 000001 (A, eline-100m, standard: business hours, GTR 8 h, 99.5 %, 5 % per started hour,
  fee 600.00 on its order item): an unplanned outage from Tuesday 13 October 09:00 to
  Wednesday 14 12:30 Paris (27 h 30 down; 9 h + 4 h 30 = 13 h 30 in business hours, 5 h 30
  beyond the GTR, 6 started hours: 30 % of 600.00 = 180.00); and planned work overrunning its
  window (22:00–02:00 Paris) by 1 h 15: 3 h 30 excluded, the 1 h 15 tail counted, restored
  at night, within the GTR.
- 000002 (A, modified to eline-10g, premium: 24x7, GTR 4 h, 99.9 %, 10 % per started hour;
  no price on the item, so the list fee 1500.00): a customer-caused outage (4 h excluded) and
  an unplanned one over the night the clocks go back, 23:00 CEST to 05:00 CET: 7 hours, 3
  beyond the GTR: 30 % of 1500.00 = 450.00.
- 000003 (B, eline-100m at 350.00): down from Friday 30 October 16:00 to Monday 2 November
  15:30: 32 h in October, 39 h 30 in November, assessed in November only: 2 h on Friday and
  7 h 30 on Monday in business hours (the weekend, and 1 November a Sunday holiday, do not
  count), 9 h 30, two started hours beyond: 10 % of 350.00 = 35.00.
- 000004 (B, from the inventory files, never ordered): 2 h down, no GTR, no penalty.
- 000008 (A, terminated on 15 October, never ordered): in the report, never down.
- 000005 terminated in September, 000006 created in November and 000007 still reserved: not
  in October's report.
"""

from __future__ import annotations

import doctest
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gigalis_nms.audit import AuditEntry
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.monitoring import report as report_module
from gigalis_nms.monitoring import sla_cli
from gigalis_nms.monitoring.models import (
    FailingKind,
    Incident,
    IncidentCircuit,
    MaintenanceWindow,
    SlaResult,
    SubjectKind,
)
from gigalis_nms.monitoring.report import (
    CircuitMonth,
    MonthReport,
    month_report,
    parse_month,
    store_month,
    stored_results,
)
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.monitoring.sla_cli import app
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from tests.integration import builders

HOUR = 3600
OCTOBER = 745 * HOUR
NOVEMBER = 720 * HOUR
DECEMBER_1ST = datetime(2026, 12, 1, tzinfo=UTC)  # October and November are over
OCTOBER_REFS = ["GIG-ETH-000001", "GIG-ETH-000002", "GIG-ETH-000003", "GIG-ETH-000004"]
OCTOBER_REFS.append("GIG-ETH-000008")

# Availabilities: counted downtime over the month less its excluded time.
C1 = 1 - Decimal(27 * HOUR + 30 * 60 + 75 * 60) / Decimal(OCTOBER - 3 * HOUR - 30 * 60)
C2 = 1 - Decimal(7 * HOUR) / Decimal(OCTOBER - 4 * HOUR)
C3 = 1 - Decimal(32 * HOUR) / Decimal(OCTOBER)
C4 = 1 - Decimal(2 * HOUR) / Decimal(OCTOBER)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class October:
    """Ids of what :func:`build_october` made."""

    operator_a: int
    operator_b: int
    circuits: dict[str, int]  # by reference
    incidents: dict[str, int]  # "beyond_gtr", "overrun", "customer", "dst", "boundary", "short"


def build_october(engine: Engine) -> October:
    with session_scope(engine, actor="test:sla") as session:
        operator_a = builders.organisation(session, "Opérateur A")
        operator_b = builders.organisation(session, "Opérateur B")
        site = builders.site(session, "NTE1")
        assert operator_a.id
        assert operator_b.id
        assert site.id
        site_id = site.id

        def circuit(number: int, operator: int, status: CircuitStatus, **times: datetime) -> int:
            made = Circuit(
                ref=f"GIG-ETH-{number:06d}",
                operator_id=operator,
                service_type=ServiceType.ETHERNET_ELINE,
                a_site_id=site_id,
                status=status,
                created_at=times.get("created_at", utc(2026, 9, 1)),
                updated_at=times.get("updated_at", utc(2026, 9, 1)),
            )
            session.add(made)
            session.flush()
            assert made.id is not None
            return made.id

        active = CircuitStatus.ACTIVE
        terminated = CircuitStatus.TERMINATED
        circuits = {
            "GIG-ETH-000001": circuit(1, operator_a.id, active),
            "GIG-ETH-000002": circuit(2, operator_a.id, active),
            "GIG-ETH-000003": circuit(3, operator_b.id, active),
            "GIG-ETH-000004": circuit(4, operator_b.id, active),
            "GIG-ETH-000005": circuit(5, operator_a.id, terminated, updated_at=utc(2026, 9, 20)),
            "GIG-ETH-000006": circuit(6, operator_b.id, active, created_at=utc(2026, 11, 3)),
            "GIG-ETH-000007": circuit(7, operator_a.id, CircuitStatus.RESERVED),
            "GIG-ETH-000008": circuit(8, operator_a.id, terminated, updated_at=utc(2026, 10, 15)),
        }
        _order(session, operator_a.id, circuits["GIG-ETH-000001"], "eline-100m", "600.00")
        _order(session, operator_a.id, circuits["GIG-ETH-000002"], "eline-1g", "600.00")
        _order(session, operator_a.id, circuits["GIG-ETH-000002"], "eline-10g", None, modify=True)
        # A later modification that failed changed nothing.
        _order(
            session,
            operator_a.id,
            circuits["GIG-ETH-000002"],
            "wavelength-10g",
            "1800.00",
            modify=True,
            state=ItemState.FAILED,
        )
        _order(session, operator_b.id, circuits["GIG-ETH-000003"], "eline-100m", "350.00")
        _order(session, operator_b.id, circuits["GIG-ETH-000006"], "eline-100m", "350.00")

        window = MaintenanceWindow(
            subject_kind=SubjectKind.DEVICE,
            subject_id=1,
            subject="nte1-core1",
            starts_at=utc(2026, 10, 20, 20),  # 22:00 Paris
            ends_at=utc(2026, 10, 21, 0),  # 02:00 Paris
            reason="line card replacement",
            declared_by="test",
        )
        session.add(window)
        session.flush()

        def outage(
            ref: str, start: datetime, end: datetime, cause: OutageCause = OutageCause.UNPLANNED
        ) -> int:
            incident = Incident(
                opened_at=start,
                closed_at=end,
                failing_kind=FailingKind.LINK,
                failing_id=1,
                failing="link NTE1-ANG1",
                cause=cause,
                maintenance_window_id=window.id if cause is OutageCause.PLANNED else None,
            )
            session.add(incident)
            session.flush()
            assert incident.id is not None
            session.add(
                IncidentCircuit(
                    incident_id=incident.id,
                    circuit_id=circuits[ref],
                    started_at=start,
                    ended_at=end,
                )
            )
            return incident.id

        incidents = {
            "beyond_gtr": outage("GIG-ETH-000001", utc(2026, 10, 13, 7), utc(2026, 10, 14, 10, 30)),
            "overrun": outage(
                "GIG-ETH-000001",
                utc(2026, 10, 20, 20, 30),
                utc(2026, 10, 21, 1, 15),
                OutageCause.PLANNED,
            ),
            "customer": outage(
                "GIG-ETH-000002", utc(2026, 10, 5, 10), utc(2026, 10, 5, 14), OutageCause.CUSTOMER
            ),
            "dst": outage("GIG-ETH-000002", utc(2026, 10, 24, 21), utc(2026, 10, 25, 4)),
            "boundary": outage("GIG-ETH-000003", utc(2026, 10, 30, 15), utc(2026, 11, 2, 14, 30)),
            "short": outage("GIG-ETH-000004", utc(2026, 10, 10, 8), utc(2026, 10, 10, 10)),
        }
        return October(operator_a.id, operator_b.id, circuits, incidents)


def _order(
    session: Session,
    operator: int,
    circuit: int,
    offer: str,
    price: str | None,
    *,
    modify: bool = False,
    state: ItemState = ItemState.COMPLETED,
) -> None:
    order = ProductOrder(operator_id=operator, state=OrderState.COMPLETED, created_by="test")
    session.add(order)
    session.flush()
    assert order.id is not None
    session.add(
        ProductOrderItem(
            order_id=order.id,
            item_id="1",
            action=ItemAction.MODIFY if modify else ItemAction.ADD,
            offering_id=offer,
            state=state,
            circuit_id=circuit,
            recurring_price=Decimal(price) if price is not None else None,
        )
    )
    session.flush()


@pytest.fixture
def october(engine: Engine) -> October:
    return build_october(engine)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


def report_of(
    engine: Engine, catalogue: Catalogue, year: int, month: int, **options: object
) -> MonthReport:
    with session_scope(engine, read_only=True) as session:
        return month_report(session, catalogue, year, month, **options)  # type: ignore[arg-type]


def by_ref(report: MonthReport) -> dict[str, CircuitMonth]:
    return {circuit.ref: circuit for circuit in report.circuits}


def test_the_docstring_examples_hold() -> None:
    for module in (report_module, sla_cli):
        failures, tried = doctest.testmod(module)
        assert (failures, tried > 0) == (0, True), module.__name__


# --- The figures --------------------------------------------------------------------------------


def test_october_per_circuit(engine: Engine, october: October, catalogue: Catalogue) -> None:
    report = report_of(engine, catalogue, 2026, 10, now=DECEMBER_1ST)
    assert not report.provisional
    assert report.month == "2026-10"
    assert (report.starts_at, report.ends_at) == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))
    assert [circuit.ref for circuit in report.circuits] == OCTOBER_REFS
    circuits = by_ref(report)

    beyond_gtr = circuits["GIG-ETH-000001"]
    assert beyond_gtr.offer_id == "eline-100m"
    assert beyond_gtr.sla_class == "standard"
    assert beyond_gtr.monthly_fee == Decimal("600.00")
    assert beyond_gtr.period_seconds == OCTOBER
    assert beyond_gtr.excluded_seconds == 3 * HOUR + 30 * 60  # the window's part
    assert beyond_gtr.downtime_seconds == 27 * HOUR + 30 * 60 + 75 * 60  # with the tail
    assert beyond_gtr.availability == C1
    assert beyond_gtr.availability_target == Decimal("0.995")
    assert beyond_gtr.availability_met is False
    assert beyond_gtr.incidents == 2  # the outage and the window's overrun
    assert [a.restore_seconds for a in beyond_gtr.assessments] == [13.5 * HOUR, 0]
    assert [a.started_hours_beyond for a in beyond_gtr.assessments] == [6, 0]
    assert beyond_gtr.gtr_breaches == 1
    assert beyond_gtr.penalty == Decimal("180.00")

    over_the_clock_change = circuits["GIG-ETH-000002"]
    assert over_the_clock_change.offer_id == "eline-10g"  # the failed modification ignored
    assert over_the_clock_change.sla_class == "premium"
    assert over_the_clock_change.monthly_fee == Decimal("1500.00")  # the offer's list fee
    assert over_the_clock_change.excluded_seconds == 4 * HOUR  # customer-caused
    assert over_the_clock_change.downtime_seconds == 7 * HOUR
    assert over_the_clock_change.availability == C2
    assert over_the_clock_change.availability_met is False  # 99.055 % < 99.9 %
    assert [a.restore_seconds for a in over_the_clock_change.assessments] == [7 * HOUR]
    assert over_the_clock_change.penalty == Decimal("450.00")

    into_november = circuits["GIG-ETH-000003"]
    assert into_november.downtime_seconds == 32 * HOUR
    assert into_november.availability == C3
    assert into_november.incidents == 0  # restored in November: assessed there
    assert into_november.gtr_breaches == 0
    assert into_november.penalty == Decimal("0.00")

    never_ordered = circuits["GIG-ETH-000004"]
    assert never_ordered.offer_id is None
    assert never_ordered.sla_class is None
    assert never_ordered.monthly_fee == 0
    assert never_ordered.downtime_seconds == 2 * HOUR
    assert never_ordered.availability == C4
    assert never_ordered.incidents == 1
    assert never_ordered.availability_target is None
    assert never_ordered.availability_met is None
    assert never_ordered.gtr_breaches is None
    assert never_ordered.penalty is None

    terminated_mid_month = circuits["GIG-ETH-000008"]
    assert terminated_mid_month.availability == 1
    assert terminated_mid_month.downtime_seconds == 0


def test_october_per_operator_and_offer(
    engine: Engine, october: October, catalogue: Catalogue
) -> None:
    report = report_of(engine, catalogue, 2026, 10, now=DECEMBER_1ST)

    [a, b] = report.by_operator
    assert (a.operator_id, a.operator, b.operator) == (
        october.operator_a,
        "Opérateur A",
        "Opérateur B",
    )
    assert a.totals.circuits == 3
    assert a.totals.availability_mean == (C1 + C2 + 1) / 3
    assert a.totals.availability_worst == C1
    assert a.totals.downtime_seconds == 27.5 * HOUR + 1.25 * HOUR + 7 * HOUR
    assert a.totals.below_target == 2
    assert a.totals.gtr_breaches == 2
    assert a.totals.penalties == Decimal("630.00")
    assert b.totals.circuits == 2
    assert b.totals.availability_mean == (C3 + C4) / 2
    assert b.totals.availability_worst == C3
    assert b.totals.downtime_seconds == 34 * HOUR
    assert b.totals.below_target == 1  # 000004 has no target
    assert b.totals.penalties == Decimal("0.00")

    offers = {offer.offer_id: offer for offer in report.by_offer}
    assert list(offers) == ["eline-100m", "eline-10g", None]  # never ordered last
    assert offers["eline-100m"].sla_class == "standard"
    assert offers["eline-100m"].totals.circuits == 2
    assert offers["eline-100m"].totals.availability_worst == C3
    assert offers["eline-100m"].totals.penalties == Decimal("180.00")
    assert offers["eline-10g"].totals.penalties == Decimal("450.00")
    assert offers[None].sla_class is None
    assert offers[None].totals.circuits == 2
    assert offers[None].totals.below_target == 0


def test_an_outage_over_the_month_end_is_assessed_in_the_month_restored(
    engine: Engine, october: October, catalogue: Catalogue
) -> None:
    november = report_of(engine, catalogue, 2026, 11, now=DECEMBER_1ST)
    # 000008 was terminated in October; 000006 was created in November.
    assert [circuit.ref for circuit in november.circuits] == [
        "GIG-ETH-000001",
        "GIG-ETH-000002",
        "GIG-ETH-000003",
        "GIG-ETH-000004",
        "GIG-ETH-000006",
    ]
    restored = by_ref(november)["GIG-ETH-000003"]
    assert restored.period_seconds == NOVEMBER
    assert restored.downtime_seconds == 39.5 * HOUR
    assert restored.availability == 1 - Decimal(39.5 * HOUR) / Decimal(NOVEMBER)
    assert [a.restore_seconds for a in restored.assessments] == [9.5 * HOUR]
    assert restored.gtr_breaches == 1
    assert restored.penalty == Decimal("35.00")


def test_one_operator_only(engine: Engine, october: October, catalogue: Catalogue) -> None:
    report = report_of(
        engine, catalogue, 2026, 10, now=DECEMBER_1ST, operator_id=october.operator_b
    )
    assert report.operator_id == october.operator_b
    assert [circuit.ref for circuit in report.circuits] == ["GIG-ETH-000003", "GIG-ETH-000004"]
    assert [group.operator for group in report.by_operator] == ["Opérateur B"]


def test_a_month_not_over_is_provisional_up_to_now(
    engine: Engine, october: October, catalogue: Catalogue
) -> None:
    now = utc(2026, 10, 14)  # the first outage of 000001 is still open
    report = report_of(engine, catalogue, 2026, 10, now=now)
    assert report.provisional
    assert report.computed_to == now
    circuit = by_ref(report)["GIG-ETH-000001"]
    elapsed = 13 * 24 * HOUR + 2 * HOUR  # since 30 September 22:00 UTC
    assert circuit.period_seconds == elapsed
    assert circuit.downtime_seconds == 17 * HOUR  # from 07:00 UTC on the 13th
    assert circuit.availability == 1 - Decimal(17 * HOUR) / Decimal(elapsed)
    assert circuit.incidents == 0  # still open: not assessed yet
    assert circuit.penalty == 0
    assert by_ref(report)["GIG-ETH-000002"].availability == 1  # its outage was the customer's

    with session_scope(engine) as session, pytest.raises(InvalidInput) as refused:
        store_month(session, report)
    assert refused.value.problems[0].field == "month"
    assert _stored_rows(engine) == 0


def test_a_month_not_started_and_bad_months_are_refused(
    engine: Engine, catalogue: Catalogue
) -> None:
    with pytest.raises(InvalidInput) as early:
        report_of(engine, catalogue, 2026, 11, now=utc(2026, 10, 20))
    assert early.value.problems[0].field == "month"
    assert "not started" in early.value.message
    for text in ("2026-13", "abc", "2026-1", "2026-00"):
        with pytest.raises(InvalidInput) as bad:
            parse_month(text)
        assert bad.value.problems[0].field == "month", text
    with pytest.raises(InvalidInput):
        report_of(engine, catalogue, 2026, 13)


# --- Stored results -----------------------------------------------------------------------------


def _stored_rows(engine: Engine) -> int:
    with session_scope(engine, read_only=True) as session:
        return len(session.exec(select(SlaResult)).all())


def _audit_entries(engine: Engine) -> int:
    with session_scope(engine, read_only=True) as session:
        query = select(AuditEntry).where(col(AuditEntry.entity) == "sla_result")
        return len(session.exec(query).all())


def store(engine: Engine, catalogue: Catalogue, month: int = 10) -> tuple[int, int, int, int]:
    with session_scope(engine, actor="test:store") as session:
        counts = store_month(
            session, month_report(session, catalogue, 2026, month, now=DECEMBER_1ST)
        )
    return counts.created, counts.updated, counts.unchanged, counts.kept


def test_stored_results_and_storing_again_changes_nothing(
    engine: Engine, october: October, catalogue: Catalogue
) -> None:
    assert store(engine, catalogue) == (5, 0, 0, 0)
    with session_scope(engine, read_only=True) as session:
        results = {result.circuit_ref: result for result in stored_results(session, "2026-10")}
        first_computed = {ref: result.computed_at for ref, result in results.items()}
    assert list(results) == OCTOBER_REFS
    beyond_gtr = results["GIG-ETH-000001"]
    assert beyond_gtr.operator_id == october.operator_a
    assert (beyond_gtr.offer_id, beyond_gtr.sla_class) == ("eline-100m", "standard")
    assert beyond_gtr.period_seconds == OCTOBER
    assert beyond_gtr.excluded_seconds == 12_600
    assert beyond_gtr.downtime_seconds == 103_500
    assert beyond_gtr.availability == float(C1)
    assert beyond_gtr.availability_target == 0.995
    assert beyond_gtr.availability_met is False
    assert (beyond_gtr.incidents, beyond_gtr.gtr_breaches) == (2, 1)
    assert beyond_gtr.monthly_fee == Decimal("600.00")
    assert beyond_gtr.penalty == Decimal("180.00")
    never_ordered = results["GIG-ETH-000004"]
    assert (never_ordered.offer_id, never_ordered.sla_class) == (None, None)
    assert (never_ordered.availability_target, never_ordered.availability_met) == (None, None)
    assert never_ordered.penalty == Decimal("0.00")
    assert _audit_entries(engine) == 5

    assert store(engine, catalogue) == (0, 0, 5, 0)
    with session_scope(engine, read_only=True) as session:
        again = stored_results(session, "2026-10")
        assert {result.circuit_ref: result.computed_at for result in again} == first_computed
        only_b = stored_results(session, "2026-10", operator_id=october.operator_b)
        assert [result.circuit_ref for result in only_b] == ["GIG-ETH-000003", "GIG-ETH-000004"]
    assert _audit_entries(engine) == 5


def test_a_reclassified_incident_updates_results_not_yet_billed_only(
    engine: Engine, october: October, catalogue: Catalogue
) -> None:
    store(engine, catalogue)
    with session_scope(engine, actor="test:billing") as session:
        billed = session.exec(
            select(SlaResult).where(col(SlaResult.circuit_ref) == "GIG-ETH-000002")
        ).one()
        billed.billed_at = utc(2026, 11, 5)
        for name in ("beyond_gtr", "dst"):
            incident = session.get(Incident, october.incidents[name])
            assert incident is not None
            incident.cause = OutageCause.FORCE_MAJEURE

    assert store(engine, catalogue) == (0, 1, 3, 1)
    with session_scope(engine, read_only=True) as session:
        results = {result.circuit_ref: result for result in stored_results(session, "2026-10")}
        updates = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.entity) == "sla_result", col(AuditEntry.action) == "update"
            )
        ).all()
    recomputed = results["GIG-ETH-000001"]
    assert recomputed.excluded_seconds == 12_600 + 99_000
    assert recomputed.downtime_seconds == 4_500  # the overrun only
    assert recomputed.availability == float(1 - Decimal(4_500) / Decimal(OCTOBER - 111_600))
    assert recomputed.penalty == Decimal("0.00")
    assert results["GIG-ETH-000002"].penalty == Decimal("450.00")  # billed: kept as billed
    [entry] = [entry for entry in updates if entry.actor == "test:store"]
    assert entry.entity_id == recomputed.id
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["penalty"], entry.after["penalty"]) == ("180.00", "0.00")


# --- The command ------------------------------------------------------------------------------


def test_the_command_reports_and_stores_a_closed_month(
    runner: CliRunner, engine: Engine, october: October
) -> None:
    table = runner.invoke(app, ["report", "--month", "2026-10", "--no-store"])
    assert table.exit_code == 0, table.output
    assert "96.122" in table.stdout  # 000001: 96.1227… % rounded down
    assert "28:45:00" in table.stdout  # its downtime, 27 h 30 + 1 h 15
    assert "35:45:00" in table.stdout  # operator A's
    assert "180.00" in table.stdout
    assert "630.00" in table.stdout
    assert "not stored" in table.stderr
    assert _stored_rows(engine) == 0

    as_json = runner.invoke(app, ["report", "--month", "2026-10", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document["provisional"] is False
    assert [circuit["ref"] for circuit in document["circuits"]] == OCTOBER_REFS
    assert Decimal(document["circuits"][0]["availability"]) == C1
    assert document["circuits"][0]["penalty"] == "180.00"
    assert "5 new" in as_json.stderr
    assert _stored_rows(engine) == 5

    as_csv = runner.invoke(
        app, ["report", "--month", "2026-10", "--operator", "Opérateur B", "--format", "csv"]
    )
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.stdout.splitlines()
    assert lines[0].startswith("circuit,operator,offer,sla_class,availability,")
    assert lines[1] == (
        f"GIG-ETH-000003,Opérateur B,eline-100m,standard,{C3},0.995,115200,0,0,0,350.00,0.00"
    )
    assert lines[2].startswith("GIG-ETH-000004,Opérateur B,,,")
    assert "0 new, 0 updated, 2 unchanged" in as_csv.stderr


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--month", "2026-13"], "--month"),
        (["--month", "abc"], "--month"),
        (["--month", "2026-10", "--operator", "Opérateur Z"], "--operator"),
    ],
)
def test_the_command_refuses_bad_input_and_stores_nothing(
    runner: CliRunner, engine: Engine, october: October, arguments: list[str], named: str
) -> None:
    result = runner.invoke(app, ["report", *arguments])
    assert result.exit_code == 1
    assert f"{named}:" in result.stderr
    assert _stored_rows(engine) == 0
