"""Two transactions racing for the same resource: the database lets exactly one win.

Each racer runs in its own thread with its own Session on the same engine; a barrier starts
them together. On PostgreSQL a second barrier is met *inside* both transactions, once each
has read its circuit, so that both are open before either writes: the loser then waits on the
winner's row or index entry and fails when the winner commits. SQLite cannot be made to
overlap that way: its transactions begin with ``BEGIN IMMEDIATE``, so the second racer waits
at BEGIN until the first commits (a second barrier there would wait forever), and then sees
the winner's row. Either way one racer must get Conflict and nothing may be held twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.db import session_scope
from gigalis_nms.errors import Conflict
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import ServiceType
from gigalis_nms.inventory.models import (
    BackboneLink,
    Circuit,
    CircuitCreate,
    CircuitUpdate,
    FibreStrand,
    StrandHolding,
    VlanHolding,
)
from tests.integration.builders import Inventory

pytestmark = pytest.mark.timeout(120)

WAIT_S = 30  # longest a racer waits at a barrier; far more than a commit takes
Hold = Callable[[Session, Circuit], object]


def race(
    engine: Engine, inventory: Inventory, hold: Hold, racers: list[int] | None = None
) -> list[BaseException | None]:
    """Run ``hold`` for two circuits at once (by default circuits A and B); each racer's
    exception or None."""
    racers = racers or [inventory.circuit_a, inventory.circuit_b]
    start = threading.Barrier(len(racers), timeout=WAIT_S)
    inside = threading.Barrier(len(racers), timeout=WAIT_S)
    overlap = engine.dialect.name == "postgresql"
    outcomes: list[BaseException | None] = [None] * len(racers)

    def run(index: int, circuit_id: int) -> None:
        try:
            start.wait()
            with session_scope(engine, actor=f"test:racer{index}") as session:
                if overlap:
                    # A lock wait longer than this is a deadlock in the code under test.
                    session.connection().execute(text("SET LOCAL lock_timeout = '20s'"))
                circuit = session.get(Circuit, circuit_id)
                assert circuit is not None
                if overlap:
                    inside.wait()
                hold(session, circuit)
        except BaseException as error:  # every outcome, failures included, goes to the test
            outcomes[index] = error

    threads = [
        threading.Thread(target=run, args=(index, circuit_id), daemon=True)
        for index, circuit_id in enumerate(racers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck"
    return outcomes


def assert_one_winner(outcomes: list[BaseException | None]) -> Conflict:
    winners = [outcome for outcome in outcomes if outcome is None]
    losers = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1
    assert isinstance(losers[0], Conflict), repr(losers[0])
    return losers[0]


def test_a_vlan_is_held_once(engine: Engine, inventory: Inventory) -> None:
    port = inventory.ports["a3"]

    outcomes = race(engine, inventory, lambda s, c: service.hold_vlan(s, c, port, 300))

    conflict = assert_one_winner(outcomes)
    assert conflict.problems[0].field == "vlan"
    assert f"VLAN 300 is already held on interface {port}" in conflict.message
    with session_scope(engine) as session:
        held = session.exec(select(VlanHolding).where(col(VlanHolding.interface_id) == port)).all()
        assert [(holding.vlan, holding.interface_id) for holding in held] == [(300, port)]


def test_the_last_bandwidth_of_a_link_goes_to_one(engine: Engine, inventory: Inventory) -> None:
    with session_scope(engine) as session:  # a circuit holds its own bandwidth on each link
        for circuit_id in (inventory.circuit_a, inventory.circuit_b):
            wider = CircuitUpdate(bandwidth_mbps=600)
            service.update_object(session, service.CIRCUITS, circuit_id, wider)

    outcomes = race(
        engine, inventory, lambda s, c: service.hold_bandwidth(s, c, inventory.link, 600)
    )

    conflict = assert_one_winner(outcomes)
    assert conflict.problems[0].field == "bandwidth_mbps"
    assert "has only 400 Mb/s free" in conflict.message
    with session_scope(engine) as session:
        link = session.get(BackboneLink, inventory.link)
        assert link is not None
        assert link.held_mbps == 600


def test_a_strand_is_held_once(engine: Engine, inventory: Inventory) -> None:
    with session_scope(engine) as session:
        strand_id = session.exec(
            select(FibreStrand.id).where(
                col(FibreStrand.cable_id) == inventory.cable, col(FibreStrand.number) == 3
            )
        ).one()
        dark_fibres = [_dark_fibre(session, inventory, number) for number in (1, 2)]

    outcomes = race(
        engine, inventory, lambda s, c: service.hold_strand(s, c, strand_id, 0), dark_fibres
    )

    conflict = assert_one_winner(outcomes)
    assert conflict.problems[0].field == "strand_id"
    assert "strand 3 of cable FC-NTE1-ANG1 is already held" in conflict.message
    with session_scope(engine) as session:
        held = session.exec(
            select(StrandHolding).where(col(StrandHolding.strand_id) == strand_id)
        ).all()
        assert len(held) == 1


def _dark_fibre(session: Session, inventory: Inventory, number: int) -> int:
    """A dark-fibre circuit between the two sites; only dark fibre holds strands."""
    made = service.create_object(
        session,
        service.CIRCUITS,
        CircuitCreate(
            ref=f"GIG-DF-{number:06d}",
            operator_id=inventory.operator_a,
            service_type=ServiceType.DARK_FIBRE,
            a_site_id=inventory.site_a,
            z_site_id=inventory.site_b,
        ),
    )
    assert made.id is not None
    return int(made.id)
