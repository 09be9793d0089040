"""Maintenance windows on both databases: declaring and cancelling them, the circuits and
operators a window affects (a protected circuit losing one path only is at risk, not down),
which window makes a failing router, port or link's outage planned, and the command line.

The tests of incidents and of the API build on this module's network: the diamond of
tests/integration/test_design.py (NTE1 to CHO1 through ANG1, cheaper in IGP, or through
LRY1), one router per site, one cable per link, and these circuits:

====================  ========  =========  ==============================================
ref                   operator  ends       path
====================  ========  =========  ==============================================
GIG-ETH-000001        OPA       NTE1–CHO1  protected: working via ANG1, protect via LRY1
GIG-ETH-000002        OPA       NTE1–CHO1  via ANG1
GIG-ETH-000003        OPB       NTE1–LRY1  BL-NTE1-LRY1
GIG-DF-000004         OPB       ANG1–CHO1  dark fibre: two strands of C-ANG1-CHO1
GIG-ETH-000005        OPA       ANG1–CHO1  terminated
====================  ========  =========  ==============================================
"""

from __future__ import annotations

import doctest
import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gigalis_nms import cli
from gigalis_nms.audit import AuditEntry
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import (
    BackboneLink,
    CircuitCreate,
    CircuitUpdate,
    Device,
    FibreCable,
    FibreStrand,
    Interface,
    StrandHolding,
)
from gigalis_nms.monitoring import incident_cli
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.monitoring.maintenance import (
    Subject,
    WindowState,
    affected_circuits,
    cancel_window,
    covering_window,
    declare_window,
    view_window,
)
from gigalis_nms.monitoring.models import (
    FailingKind,
    Incident,
    IncidentCircuit,
    MaintenanceWindow,
    SubjectKind,
)
from gigalis_nms.provisioning.models import PathRole
from tests.integration.test_design import (
    DIAMOND_CABLES,
    DIAMOND_LINKS,
    Backbone,
    build_backbone,
    design,
    hops,
    new_circuit,
)

PROTECTED, PLAIN, OTHER, DARK, GONE = (
    "GIG-ETH-000001",
    "GIG-ETH-000002",
    "GIG-ETH-000003",
    "GIG-DF-000004",
    "GIG-ETH-000005",
)


@dataclass
class Network:
    backbone: Backbone
    circuits: dict[str, int] = field(default_factory=dict)  # ref → id
    devices: dict[str, int] = field(default_factory=dict)  # hostname → id
    cables: dict[str, int] = field(default_factory=dict)  # code → id

    @property
    def operator_a(self) -> int:
        return self.backbone.operator

    @property
    def operator_b(self) -> int:
        return self.backbone.other_operator

    def link(self, code: str) -> int:
        return self.backbone.links[code]


def build_network(engine: Engine) -> Network:
    backbone = build_backbone(engine, DIAMOND_CABLES, DIAMOND_LINKS)
    made = Network(backbone)
    made.circuits[PROTECTED] = new_circuit(engine, backbone, 1, "NTE1", "CHO1", protected=True)
    made.circuits[PLAIN] = new_circuit(engine, backbone, 2, "NTE1", "CHO1")
    made.circuits[OTHER] = new_circuit(
        engine, backbone, 3, "NTE1", "LRY1", operator=backbone.other_operator
    )
    for ref in (PROTECTED, PLAIN, OTHER):
        design(engine, made.circuits[ref])
    made.circuits[GONE] = new_circuit(engine, backbone, 5, "ANG1", "CHO1")
    design(engine, made.circuits[GONE])
    with session_scope(engine, actor="test:builders") as session:
        made.circuits[DARK] = _dark_fibre(session, backbone)
        service.update_object(
            session,
            service.CIRCUITS,
            made.circuits[GONE],
            CircuitUpdate(status=CircuitStatus.TERMINATED),
        )
        made.devices = {d.hostname: d.id for d in session.exec(select(Device)) if d.id}
        made.cables = {c.code: c.id for c in session.exec(select(FibreCable)) if c.id}
    return made


def _dark_fibre(session: Session, backbone: Backbone) -> int:
    circuit = service.create_object(
        session,
        service.CIRCUITS,
        CircuitCreate(
            ref=DARK,
            operator_id=backbone.other_operator,
            service_type=ServiceType.DARK_FIBRE,
            a_site_id=backbone.sites["ANG1"],
            z_site_id=backbone.sites["CHO1"],
        ),
    )
    cable = session.exec(select(FibreCable.id).where(col(FibreCable.code) == "C-ANG1-CHO1")).one()
    strands = session.exec(
        select(FibreStrand.id)
        .where(col(FibreStrand.cable_id) == cable, col(FibreStrand.number).in_([11, 12]))
        .order_by(col(FibreStrand.number))
    ).all()
    for strand in strands:
        session.add(StrandHolding(strand_id=strand, circuit_id=circuit.id, sequence=0))
    assert circuit.id is not None
    return int(circuit.id)


def port_of(engine: Engine, hostname: str, name: str) -> int:
    with session_scope(engine, read_only=True) as session:
        return session.exec(
            select(Interface.id)
            .join(Device, col(Device.id) == col(Interface.device_id))
            .where(col(Device.hostname) == hostname, col(Interface.name) == name)
        ).one()


def link_code(engine: Engine, link_id: int) -> str:
    with session_scope(engine, read_only=True) as session:
        link = session.get(BackboneLink, link_id)
        assert link is not None
        return link.code


def open_incident(
    engine: Engine,
    kind: FailingKind,
    failing_id: int,
    failing: str,
    *,
    opened_at: datetime,
    outages: dict[int, tuple[datetime, datetime | None]],
    closed_at: datetime | None = None,
) -> int:
    """An incident as the poller records it, with one outage per circuit id."""
    with session_scope(engine, actor="system:poller") as session:
        incident = Incident(
            opened_at=opened_at,
            closed_at=closed_at,
            failing_kind=kind,
            failing_id=failing_id,
            failing=failing,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        for circuit_id, (started, ended) in outages.items():
            session.add(
                IncidentCircuit(
                    incident_id=incident.id,
                    circuit_id=circuit_id,
                    started_at=started,
                    ended_at=ended,
                )
            )
        return incident.id


# --- fixtures and helpers -------------------------------------------------------------------

NOC = "test:noc"
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine)


@pytest.fixture
def start() -> datetime:
    """Tomorrow at 22:00 UTC: windows declared now for it are in advance."""
    tomorrow = utcnow() + timedelta(days=1)
    return tomorrow.replace(hour=22, minute=0, second=0, microsecond=0)


def declare(
    engine: Engine, kind: SubjectKind, subject: str, starts_at: datetime, hours: int = 4
) -> int:
    with session_scope(engine, actor=NOC) as session:
        window = declare_window(
            session,
            subject_kind=kind,
            subject=subject,
            starts_at=starts_at,
            ends_at=starts_at + hours * HOUR,
            reason=f"work on {subject}",
            actor=NOC,
        )
        assert window.id is not None
        return window.id


def affected(engine: Engine, network: Network, kind: SubjectKind, subject: str) -> dict[str, bool]:
    """Circuit ref → at risk only, for a window on ``subject``."""
    ids = {
        SubjectKind.DEVICE: network.devices,
        SubjectKind.CABLE: network.cables,
        SubjectKind.SITE: network.backbone.sites,
    }
    with session_scope(engine, read_only=True) as session:
        found = affected_circuits(session, Subject(kind, ids[kind][subject]))
    return {circuit.ref: circuit.at_risk_only for circuit in found}


def covering(engine: Engine, kind: FailingKind, failing_id: int, at: datetime) -> int | None:
    with session_scope(engine, read_only=True) as session:
        window = covering_window(session, kind, failing_id, at)
        return None if window is None else window.id


def window_rows(engine: Engine) -> tuple[int, int]:
    """How many windows, and how many audit entries about windows."""
    with session_scope(engine, read_only=True) as session:
        windows = len(session.exec(select(MaintenanceWindow)).all())
        entries = session.exec(
            select(AuditEntry).where(col(AuditEntry.entity) == "maintenance_window")
        ).all()
        return windows, len(entries)


# --- the circuits a window affects -----------------------------------------------------------


def test_the_designed_paths_are_as_the_tests_expect(engine: Engine, network: Network) -> None:
    assert hops(engine, network.circuits[PROTECTED]) == {
        PathRole.WORKING: ["BL-NTE1-ANG1", "BL-ANG1-CHO1"],
        PathRole.PROTECT: ["BL-NTE1-LRY1", "BL-LRY1-CHO1"],
    }
    assert hops(engine, network.circuits[PLAIN]) == {
        PathRole.WORKING: ["BL-NTE1-ANG1", "BL-ANG1-CHO1"]
    }
    assert hops(engine, network.circuits[OTHER]) == {PathRole.WORKING: ["BL-NTE1-LRY1"]}


def test_a_router_on_the_working_path_puts_the_protected_circuit_at_risk_only(
    engine: Engine, network: Network
) -> None:
    # Dark fibre ending at ANG1 does not go through its router; the terminated circuit is gone.
    assert affected(engine, network, SubjectKind.DEVICE, "ang1-cr1") == {
        PROTECTED: True,
        PLAIN: False,
    }


def test_a_site_takes_down_what_ends_there_and_risks_what_passes(
    engine: Engine, network: Network
) -> None:
    assert affected(engine, network, SubjectKind.SITE, "ANG1") == {
        PROTECTED: True,
        PLAIN: False,
        DARK: False,
    }
    # Every circuit ending at NTE1 is down, protected or not.
    assert affected(engine, network, SubjectKind.SITE, "NTE1") == {
        PROTECTED: False,
        PLAIN: False,
        OTHER: False,
    }


def test_a_cable_takes_its_links_and_its_dark_fibres(engine: Engine, network: Network) -> None:
    assert affected(engine, network, SubjectKind.CABLE, "C-ANG1-CHO1") == {
        PROTECTED: True,
        PLAIN: False,
        DARK: False,
    }
    # The protection path only: the protected circuit stays up on its working path.
    assert affected(engine, network, SubjectKind.CABLE, "C-NTE1-LRY1") == {
        PROTECTED: True,
        OTHER: False,
    }


def test_a_declared_window_lists_its_circuits_and_operators(
    engine: Engine, network: Network, start: datetime
) -> None:
    window_id = declare(engine, SubjectKind.CABLE, "C-ANG1-CHO1", start)

    with session_scope(engine, read_only=True) as session:
        view = view_window(session, window_id)
        mine = view_window(session, window_id, tenant=network.operator_b)

    assert [(c.ref, c.operator, c.at_risk_only) for c in view.circuits] == [
        (DARK, "Opérateur B", False),
        (PROTECTED, "Opérateur A", True),
        (PLAIN, "Opérateur A", False),
    ]
    assert view.operators == ["Opérateur A", "Opérateur B"]
    assert view.state is WindowState.SCHEDULED
    assert view.declared_by == NOC
    assert [c.ref for c in mine.circuits] == [DARK]
    assert mine.operators == ["Opérateur B"]
    assert mine.declared_by is None


# --- declaring and cancelling ----------------------------------------------------------------


def test_a_window_is_stored_in_utc_with_the_subject_named(engine: Engine, network: Network) -> None:
    paris_evening = datetime(2031, 12, 10, 22, 0, tzinfo=PARIS)
    window_id = declare(engine, SubjectKind.DEVICE, "ang1-cr1", paris_evening, hours=6)

    with session_scope(engine, read_only=True) as session:
        window = session.get(MaintenanceWindow, window_id)
        assert window is not None
        entry = session.exec(
            select(AuditEntry).where(col(AuditEntry.entity) == "maintenance_window")
        ).one()
    assert window.starts_at == datetime(2031, 12, 10, 21, 0, tzinfo=UTC)
    assert window.ends_at == datetime(2031, 12, 11, 3, 0, tzinfo=UTC)
    assert (window.subject_kind, window.subject_id, window.subject) == (
        SubjectKind.DEVICE,
        network.devices["ang1-cr1"],
        "ang1-cr1",
    )
    assert entry.actor == NOC


BAD_WINDOWS = [
    ({"subject": "nowhere-cr9"}, "subject", "no device 'nowhere-cr9'"),
    ({"ends_at": -HOUR}, "ends_at", "must be after starts_at"),
    ({"ends_at": timedelta(days=7, seconds=1)}, "ends_at", "at most 7 days"),
    ({"starts_at": "naive"}, "starts_at", "needs a timezone"),
    ({"reason": "   "}, "reason", "required"),
    ({"reference": "x" * 101}, "reference", "at most 100"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_WINDOWS)
def test_a_bad_window_is_refused_naming_the_field(
    *,
    engine: Engine,
    network: Network,
    start: datetime,
    change: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    values: dict[str, Any] = {
        "subject_kind": SubjectKind.DEVICE,
        "subject": "ang1-cr1",
        "starts_at": start,
        "ends_at": start + HOUR,
        "reason": "optics",
    }
    for name, value in change.items():
        if name == "ends_at":
            values[name] = start + value
        elif value == "naive":
            values[name] = start.replace(tzinfo=None)
        else:
            values[name] = value
    before = window_rows(engine)

    with session_scope(engine, actor=NOC) as session, pytest.raises(InvalidInput) as refused:
        declare_window(session, actor=NOC, **values)

    assert [(p.field, reason in p.reason) for p in refused.value.problems] == [(field, True)]
    assert window_rows(engine) == before


def test_every_problem_is_reported_at_once(engine: Engine, network: Network) -> None:
    start = utcnow() + HOUR
    with session_scope(engine, actor=NOC) as session, pytest.raises(InvalidInput) as refused:
        declare_window(
            session,
            subject_kind=SubjectKind.CABLE,
            subject="C-NOWHERE",
            starts_at=start,
            ends_at=start - HOUR,
            reason="",
            actor=NOC,
        )
    assert [p.field for p in refused.value.problems] == ["ends_at", "reason", "subject"]


def test_a_window_already_over_cannot_be_declared(engine: Engine, network: Network) -> None:
    yesterday = utcnow() - timedelta(days=1)
    with session_scope(engine, actor=NOC) as session, pytest.raises(InvalidInput) as refused:
        declare_window(
            session,
            subject_kind=SubjectKind.SITE,
            subject="ANG1",
            starts_at=yesterday,
            ends_at=yesterday + HOUR,
            reason="forgot to declare it",
            actor=NOC,
        )
    assert refused.value.problems[0].field == "ends_at"
    assert window_rows(engine) == (0, 0)


def test_cancel_once_and_only_before_the_end(
    engine: Engine, network: Network, start: datetime
) -> None:
    window_id = declare(engine, SubjectKind.SITE, "LRY1", start)
    with session_scope(engine, actor=NOC) as session:
        cancel_window(session, window_id, NOC)

    with session_scope(engine, actor=NOC) as session, pytest.raises(InvalidInput) as twice:
        cancel_window(session, window_id, NOC)
    assert "already cancelled" in twice.value.message

    with session_scope(engine, actor=NOC) as session:
        over = declare_window(
            session,
            subject_kind=SubjectKind.SITE,
            subject="LRY1",
            starts_at=start,
            ends_at=start + HOUR,
            reason="optics",
            actor=NOC,
        )
    assert over.id is not None
    with session_scope(engine, actor=NOC) as session, pytest.raises(InvalidInput) as late:
        cancel_window(session, over.id, NOC, now=start + 2 * HOUR)
    assert "is over" in late.value.message

    with session_scope(engine, read_only=True) as session:
        assert view_window(session, window_id).state is WindowState.CANCELLED
        assert view_window(session, over.id).state is WindowState.SCHEDULED
        with pytest.raises(NotFound):
            cancel_window(session, 999_999, NOC)


# --- which window makes an outage planned ----------------------------------------------------


def test_a_router_window_covers_the_router_its_ports_and_its_links(
    engine: Engine, network: Network, start: datetime
) -> None:
    window = declare(engine, SubjectKind.DEVICE, "ang1-cr1", start)
    inside = start + HOUR

    assert covering(engine, FailingKind.DEVICE, network.devices["ang1-cr1"], inside) == window
    port = port_of(engine, "ang1-cr1", "eth10")
    assert covering(engine, FailingKind.INTERFACE, port, inside) == window
    assert covering(engine, FailingKind.LINK, network.link("BL-NTE1-ANG1"), inside) == window
    assert covering(engine, FailingKind.LINK, network.link("BL-ANG1-CHO1"), inside) == window
    # Not another router, nor a link with no end on it.
    assert covering(engine, FailingKind.DEVICE, network.devices["nte1-cr1"], inside) is None
    assert covering(engine, FailingKind.LINK, network.link("BL-NTE1-LRY1"), inside) is None


def test_a_window_covers_only_its_own_time(
    engine: Engine, network: Network, start: datetime
) -> None:
    window = declare(engine, SubjectKind.DEVICE, "ang1-cr1", start, hours=4)
    router = network.devices["ang1-cr1"]

    assert covering(engine, FailingKind.DEVICE, router, start) == window
    assert covering(engine, FailingKind.DEVICE, router, start + 4 * HOUR - SECOND) == window
    assert covering(engine, FailingKind.DEVICE, router, start - SECOND) is None
    assert covering(engine, FailingKind.DEVICE, router, start + 4 * HOUR) is None


def test_a_site_window_covers_its_routers_and_the_links_ending_there(
    engine: Engine, network: Network, start: datetime
) -> None:
    window = declare(engine, SubjectKind.SITE, "LRY1", start)
    inside = start + HOUR

    assert covering(engine, FailingKind.DEVICE, network.devices["lry1-cr1"], inside) == window
    port = port_of(engine, "lry1-cr1", "eth11")
    assert covering(engine, FailingKind.INTERFACE, port, inside) == window
    assert covering(engine, FailingKind.LINK, network.link("BL-LRY1-CHO1"), inside) == window
    assert covering(engine, FailingKind.LINK, network.link("BL-ANG1-CHO1"), inside) is None
    assert covering(engine, FailingKind.DEVICE, network.devices["cho1-cr1"], inside) is None


def test_a_cable_window_covers_the_links_riding_it(
    engine: Engine, network: Network, start: datetime
) -> None:
    window = declare(engine, SubjectKind.CABLE, "C-NTE1-LRY1", start)
    inside = start + HOUR

    assert covering(engine, FailingKind.LINK, network.link("BL-NTE1-LRY1"), inside) == window
    assert covering(engine, FailingKind.LINK, network.link("BL-LRY1-CHO1"), inside) is None
    # A router at either end of the cable is not the cable.
    assert covering(engine, FailingKind.DEVICE, network.devices["nte1-cr1"], inside) is None


def test_a_cancelled_window_covers_nothing_new(
    engine: Engine, network: Network, start: datetime
) -> None:
    window = declare(engine, SubjectKind.DEVICE, "cho1-cr1", start)
    with session_scope(engine, actor=NOC) as session:
        cancel_window(session, window, NOC)

    router = network.devices["cho1-cr1"]
    assert covering(engine, FailingKind.DEVICE, router, start + HOUR) is None


def test_the_earliest_declared_of_several_windows_wins(
    engine: Engine, network: Network, start: datetime
) -> None:
    first = declare(engine, SubjectKind.SITE, "ANG1", start)
    second = declare(engine, SubjectKind.DEVICE, "ang1-cr1", start)
    assert first < second

    router = network.devices["ang1-cr1"]
    assert covering(engine, FailingKind.DEVICE, router, start + HOUR) == first


def test_unknown_elements_are_covered_by_nothing(
    engine: Engine, network: Network, start: datetime
) -> None:
    declare(engine, SubjectKind.SITE, "ANG1", start)
    for kind in FailingKind:
        assert covering(engine, kind, 999_999, start + HOUR) is None


# --- command line ----------------------------------------------------------------------------


def test_the_command_line_examples_run() -> None:
    assert doctest.testmod(incident_cli).failed == 0


def test_declare_on_the_command_line_in_paris_time(
    engine: Engine, network: Network, runner: CliRunner
) -> None:
    year = utcnow().year + 1
    result = runner.invoke(
        cli.app,
        [
            "maintenance", "declare", "--cable", "C-ANG1-CHO1",
            "--start", f"{year}-07-01T22:00", "--end", f"{year}-07-02T04:00",
            "--reason", "splicing", "--ref", "CHG-1",
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"{year}-07-01 22:00 → {year}-07-02 04:00 (Paris)" in result.stdout
    assert "operators: Opérateur A, Opérateur B" in result.stdout
    for ref in (PROTECTED, PLAIN, DARK):
        assert ref in result.stdout
    assert "at risk (one path)" in result.stdout
    with session_scope(engine, read_only=True) as session:
        window = session.exec(select(MaintenanceWindow)).one()
    assert window.starts_at == datetime(year, 7, 1, 20, 0, tzinfo=UTC)  # CEST
    assert window.declared_by == f"cli:{getpass.getuser()}"
    assert window.reference == "CHG-1"

    listed = runner.invoke(cli.app, ["maintenance", "list"])
    assert listed.exit_code == 0, listed.output
    assert "C-ANG1-CHO1" in listed.stdout
    assert "1 of 1 windows" in listed.stdout

    cancelled = runner.invoke(cli.app, ["maintenance", "cancel", str(window.id)])
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.stdout
    assert "0 of 0 windows" in runner.invoke(cli.app, ["maintenance", "list"]).stdout
    assert "1 of 1 windows" in runner.invoke(cli.app, ["maintenance", "list", "--all"]).stdout


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (["--device", "ang1-cr1", "--start", "2031-07-01T22:00", "--end", "2031-07-01T21:00"],
         "--end"),
        (["--device", "ang1-cr1", "--site", "ANG1", "--start", "2031-07-01T22:00",
          "--end", "2031-07-01T23:00"], "--device"),
        (["--site", "ANG1", "--start", "tomorrow", "--end", "2031-07-01T23:00"], "--start"),
        (["--site", "ANG1", "--start", "2031-03-30T02:30", "--end", "2031-03-30T05:00"],
         "--start"),  # the hour the clocks skip
        (["--site", "ANG1", "--start", "2031-10-26T02:30", "--end", "2031-10-26T05:00"],
         "--start"),  # the hour they repeat
        (["--cable", "C-NTE1-NTE2", "--start", "2031-07-01T22:00", "--end", "2031-07-01T23:00",
          "--ref", "CHG\x1b[31m"], "--ref"),
        (["--cable", "NO-SUCH-CABLE", "--start", "2031-07-01T22:00",
          "--end", "2031-07-01T23:00"], "--device/--cable/--site"),
    ],
)  # fmt: skip
def test_a_bad_declaration_on_the_command_line_changes_nothing(
    engine: Engine, network: Network, runner: CliRunner, arguments: list[str], field: str
) -> None:
    result = runner.invoke(cli.app, ["maintenance", "declare", *arguments, "--reason", "optics"])

    assert result.exit_code == 1, result.output
    assert f"{field}:" in result.stderr
    assert window_rows(engine) == (0, 0)
