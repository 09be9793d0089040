"""Incidents on both databases: the NOC's reclassification (audited, refused without a trace
when the comment or the maintenance window is wrong), the listing and its filters, an
operator's view restricted to its own circuits, and the command line."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from gigalis_nms import cli
from gigalis_nms.audit import AuditEntry
from gigalis_nms.catalogue.loader import load_catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.monitoring.incidents import (
    IncidentState,
    list_incidents,
    reclassify,
    view_incident,
)
from gigalis_nms.monitoring.models import FailingKind, Incident, SlaResult, SubjectKind
from gigalis_nms.monitoring.report import month_report, store_month
from gigalis_nms.monitoring.sla import OutageCause
from tests.conftest import ROOT
from tests.integration.test_maintenance import (
    NOC,
    OTHER,
    PLAIN,
    PROTECTED,
    Network,
    build_network,
    declare,
    open_incident,
)

HOUR = timedelta(hours=1)
CATALOGUE = load_catalogue(ROOT / "billing" / "catalogue.yaml")


@dataclass(frozen=True)
class Incidents:
    network: Network
    start: datetime  # of the ang1-cr1 window
    window: int  # on ang1-cr1, start to start + 4 h
    elsewhere: int  # on LRY1, same hours
    link: int  # BL-NTE1-ANG1 down inside the window: PLAIN and PROTECTED's working path
    closed: int  # lry1-cr1 down the day before, closed: OTHER


@pytest.fixture
def incidents(engine: Engine) -> Incidents:
    network = build_network(engine)
    start = (utcnow() + timedelta(days=1)).replace(hour=22, minute=0, second=0, microsecond=0)
    window = declare(engine, SubjectKind.DEVICE, "ang1-cr1", start)
    elsewhere = declare(engine, SubjectKind.SITE, "LRY1", start)
    down = start + HOUR
    link = open_incident(
        engine,
        FailingKind.LINK,
        network.link("BL-NTE1-ANG1"),
        "link BL-NTE1-ANG1",
        opened_at=down,
        outages={
            network.circuits[PLAIN]: (down, None),
            network.circuits[PROTECTED]: (down, down + timedelta(seconds=90)),
        },
    )
    before = start - timedelta(days=1)
    closed = open_incident(
        engine,
        FailingKind.DEVICE,
        network.devices["lry1-cr1"],
        "router lry1-cr1",
        opened_at=before,
        closed_at=before + timedelta(minutes=20),
        outages={network.circuits[OTHER]: (before, before + timedelta(minutes=20))},
    )
    return Incidents(network, start, window, elsewhere, link, closed)


def incident_row(engine: Engine, incident_id: int) -> dict[str, Any]:
    with session_scope(engine, read_only=True) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.model_dump()


def audit_of(engine: Engine, incident_id: int) -> list[AuditEntry]:
    with session_scope(engine, read_only=True) as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(
                    col(AuditEntry.entity) == "incident", col(AuditEntry.entity_id) == incident_id
                )
                .order_by(col(AuditEntry.id))
            )
        )


def reclassified(engine: Engine, incident_id: int, cause: OutageCause, **kwargs: Any) -> None:
    with session_scope(engine, actor=NOC) as session:
        comment = kwargs.pop("comment", "checked")
        reclassify(session, incident_id, cause, comment, NOC, catalogue=CATALOGUE, **kwargs)


def refused(engine: Engine, incident_id: int, cause: OutageCause, **kwargs: Any) -> InvalidInput:
    """Reclassify, expecting a refusal that leaves the incident and the audit log as they
    were."""
    before, entries = incident_row(engine, incident_id), len(audit_of(engine, incident_id))
    with pytest.raises(InvalidInput) as refusal:
        reclassified(engine, incident_id, cause, **kwargs)
    assert incident_row(engine, incident_id) == before
    assert len(audit_of(engine, incident_id)) == entries
    return refusal.value


# --- reclassification ------------------------------------------------------------------------


def test_a_reclassification_is_audited_with_the_cause_before(
    engine: Engine, incidents: Incidents
) -> None:
    reclassified(
        engine, incidents.link, OutageCause.CUSTOMER, comment="  CPE unplugged by the customer "
    )

    row = incident_row(engine, incidents.link)
    assert row["cause"] is OutageCause.CUSTOMER
    assert row["comment"] == "CPE unplugged by the customer"
    assert row["classified_by"] == NOC
    assert row["classified_at"] is not None
    [entry] = [e for e in audit_of(engine, incidents.link) if e.action == "update"]
    assert entry.actor == NOC
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["cause"], entry.after["cause"]) == ("unplanned", "customer")
    assert entry.after["comment"] == "CPE unplugged by the customer"


def test_planned_needs_a_window_that_covers_the_incident(
    engine: Engine, incidents: Incidents
) -> None:
    missing = refused(engine, incidents.link, OutageCause.PLANNED)
    assert missing.problems[0].field == "maintenance_window_id"

    elsewhere = refused(
        engine, incidents.link, OutageCause.PLANNED, maintenance_window_id=incidents.elsewhere
    )
    assert "does not cover link BL-NTE1-ANG1" in elsewhere.problems[0].reason

    unknown = refused(engine, incidents.link, OutageCause.PLANNED, maintenance_window_id=999_999)
    assert unknown.problems[0].reason == "no maintenance window 999999"

    reclassified(
        engine, incidents.link, OutageCause.PLANNED, maintenance_window_id=incidents.window
    )
    row = incident_row(engine, incidents.link)
    assert (row["cause"], row["maintenance_window_id"]) == (OutageCause.PLANNED, incidents.window)


def test_a_window_outside_the_incident_does_not_make_it_planned(
    engine: Engine, incidents: Incidents
) -> None:
    # The LRY1 router failed the day before the window on its site.
    late = refused(
        engine, incidents.closed, OutageCause.PLANNED, maintenance_window_id=incidents.elsewhere
    )
    assert "does not cover router lry1-cr1" in late.problems[0].reason


def test_a_window_declared_after_the_incident_began_does_not_make_it_planned(
    engine: Engine, incidents: Incidents
) -> None:
    began = utcnow() - HOUR
    incident = open_incident(
        engine,
        FailingKind.DEVICE,
        incidents.network.devices["nte1-cr1"],
        "router nte1-cr1",
        opened_at=began,
        outages={incidents.network.circuits[OTHER]: (began, None)},
    )
    window = declare(engine, SubjectKind.DEVICE, "nte1-cr1", began - HOUR)

    late = refused(engine, incident, OutageCause.PLANNED, maintenance_window_id=window)
    assert "declared after the incident began" in late.problems[0].reason


def test_leaving_planned_clears_the_window(engine: Engine, incidents: Incidents) -> None:
    reclassified(
        engine, incidents.link, OutageCause.PLANNED, maintenance_window_id=incidents.window
    )
    reclassified(engine, incidents.link, OutageCause.FORCE_MAJEURE, comment="storm Ciarán")

    row = incident_row(engine, incidents.link)
    assert (row["cause"], row["maintenance_window_id"]) == (OutageCause.FORCE_MAJEURE, None)
    update = audit_of(engine, incidents.link)[-1]
    assert update.before is not None
    assert update.after is not None
    assert update.before["maintenance_window_id"] == incidents.window
    assert update.after["maintenance_window_id"] is None


def test_bad_reclassifications_change_nothing(engine: Engine, incidents: Incidents) -> None:
    blank = refused(engine, incidents.link, OutageCause.CUSTOMER, comment="   ")
    assert [p.field for p in blank.problems] == ["comment"]

    stray = refused(
        engine, incidents.link, OutageCause.CUSTOMER, maintenance_window_id=incidents.window
    )
    assert stray.problems[0].reason == "only a planned outage names a maintenance window"

    both = refused(engine, incidents.link, OutageCause.PLANNED, comment="")
    assert [p.field for p in both.problems] == ["comment", "maintenance_window_id"]

    with pytest.raises(NotFound):
        reclassified(engine, 999_999, OutageCause.CUSTOMER)


# --- reading ---------------------------------------------------------------------------------


def test_an_incident_lists_its_outages_with_their_durations(
    engine: Engine, incidents: Incidents
) -> None:
    now = incidents.start + 2 * HOUR
    with session_scope(engine, read_only=True) as session:
        view = view_incident(session, incidents.link, now=now)

    assert view.state is IncidentState.OPEN
    assert [
        (o.circuit, o.operator, o.ended_at is None, o.duration_seconds) for o in view.outages
    ] == [
        (PROTECTED, "Opérateur A", False, 90),
        (PLAIN, "Opérateur A", True, 3600),  # so far
    ]


def refs_listed(engine: Engine, **filters: Any) -> list[tuple[int, list[str]]]:
    with session_scope(engine, read_only=True) as session:
        count, views = list_incidents(session, **filters)
    assert count == len(views)
    return [(view.id, [o.circuit for o in view.outages]) for view in views]


def test_the_list_filters(engine: Engine, incidents: Incidents) -> None:
    link, closed = incidents.link, incidents.closed
    everything = [(link, [PROTECTED, PLAIN]), (closed, [OTHER])]  # newest first

    assert refs_listed(engine) == everything
    assert refs_listed(engine, state=IncidentState.OPEN) == everything[:1]
    assert refs_listed(engine, state=IncidentState.CLOSED) == everything[1:]
    assert refs_listed(engine, circuit=OTHER) == everything[1:]
    assert refs_listed(engine, operator_id=incidents.network.operator_a) == everything[:1]
    assert refs_listed(engine, cause=OutageCause.CUSTOMER) == []
    assert refs_listed(engine, since=incidents.start) == everything[:1]
    assert refs_listed(engine, until=incidents.start) == everything[1:]
    with session_scope(engine, read_only=True) as session:
        count, page = list_incidents(session, limit=1, offset=1)
    assert (count, [view.id for view in page]) == (2, [closed])


def test_an_operator_reads_only_its_own_circuits(engine: Engine, incidents: Incidents) -> None:
    reclassified(engine, incidents.closed, OutageCause.CUSTOMER, comment="OPB's CPE, as usual")
    operator_b = incidents.network.operator_b

    assert refs_listed(engine, tenant=operator_b) == [(incidents.closed, [OTHER])]
    with session_scope(engine, read_only=True) as session:
        view = view_incident(session, incidents.closed, tenant=operator_b)
        with pytest.raises(NotFound):
            view_incident(session, incidents.link, tenant=operator_b)
    assert view.cause is OutageCause.CUSTOMER
    assert (view.comment, view.classified_by) == (None, None)


# --- command line ----------------------------------------------------------------------------


def test_reclassify_list_and_show_on_the_command_line(
    engine: Engine, incidents: Incidents, runner: CliRunner
) -> None:
    result = runner.invoke(
        cli.app,
        ["incident", "reclassify", str(incidents.link), "--cause", "planned",
         "--comment", "router swap", "--window", str(incidents.window)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"cause: planned (window {incidents.window})" in result.stdout
    assert incident_row(engine, incidents.link)["cause"] is OutageCause.PLANNED
    assert audit_of(engine, incidents.link)[-1].actor == f"cli:{getpass.getuser()}"

    listed = runner.invoke(cli.app, ["incident", "list", "--open", "--operator", "Opérateur A"])
    assert listed.exit_code == 0, listed.output
    assert "link BL-NTE1-ANG1" in listed.stdout
    assert "router lry1-cr1" not in listed.stdout
    assert "1 of 1 incidents" in listed.stdout

    shown = runner.invoke(cli.app, ["incident", "show", str(incidents.closed)])
    assert shown.exit_code == 0, shown.output
    assert OTHER in shown.stdout
    assert "0:20:00" in shown.stdout


def test_a_bad_reclassification_on_the_command_line(
    engine: Engine, incidents: Incidents, runner: CliRunner
) -> None:
    before = incident_row(engine, incidents.link)
    result = runner.invoke(
        cli.app, ["incident", "reclassify", str(incidents.link), "--cause", "planned",
                  "--comment", "router swap"],
    )  # fmt: skip

    assert result.exit_code == 1
    assert "--window: required" in result.stderr
    assert incident_row(engine, incidents.link) == before


def test_times_are_read_back_in_utc(engine: Engine, incidents: Incidents) -> None:
    with session_scope(engine, read_only=True) as session:
        view = view_incident(session, incidents.link)
    assert view.opened_at == incidents.start + HOUR
    assert view.opened_at.tzinfo is UTC


def test_reclassifying_restates_the_stored_month_but_never_a_billed_result(
    engine: Engine,
) -> None:
    network = build_network(engine)
    plain, other = network.circuits[PLAIN], network.circuits[OTHER]
    with session_scope(engine, actor=NOC) as session:
        # In service since the summer, so that October 2026 is theirs.
        session.execute(
            sa.update(Circuit)
            .where(col(Circuit.id).in_([plain, other]))
            .values(created_at=datetime(2026, 7, 1, tzinfo=UTC), status=CircuitStatus.ACTIVE)
        )
    down = datetime(2026, 10, 14, 8, 0, tzinfo=UTC)
    incident_id = open_incident(
        engine,
        FailingKind.DEVICE,
        network.devices["lry1-cr1"],
        "router lry1-cr1",
        opened_at=down,
        closed_at=down + 2 * HOUR,
        outages={plain: (down, down + 2 * HOUR), other: (down, down + 2 * HOUR)},
    )
    with session_scope(engine, actor=NOC) as session:
        store_month(session, month_report(session, CATALOGUE, 2026, 10, circuit_ids=[plain, other]))
        session.execute(
            sa.update(SlaResult)
            .where(SlaResult.circuit_id == other)
            .values(billed_at=datetime(2026, 11, 5, tzinfo=UTC))
        )

    reclassified(engine, incident_id, OutageCause.CUSTOMER, comment="CPE unplugged on site")

    with session_scope(engine, read_only=True) as session:
        results = {
            row.circuit_id: (row.downtime_seconds, row.excluded_seconds)
            for row in session.exec(select(SlaResult).where(SlaResult.month == "2026-10"))
        }
    assert results == {plain: (0, 7200), other: (7200, 0)}
