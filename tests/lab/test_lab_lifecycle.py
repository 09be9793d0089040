"""Labs these tests build and remove themselves, before the session lab exists (see
conftest.py): a two-site lab goes up and down and leaves nothing; a failed or interrupted
``up`` leaves nothing either once ``down`` has run; bad site lists build nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.errors import Conflict, InvalidInput
from gigalis_nms.lab import lab_down, lab_up, read_lab_state
from gigalis_nms.lab.build import LabBuild
from gigalis_nms.lab.state import DEFAULT_RUNTIME_DIR, BuildPhase, read_record, state_file
from tests.lab.conftest import lab_pids, left_behind

pytestmark = pytest.mark.usefixtures("own_lab")


class SimulatedFailure(Exception):
    pass


def test_a_two_site_lab_goes_up_and_down_and_leaves_nothing(inventory_engine: Engine) -> None:
    state = lab_up(inventory_engine, ["NTE1", "CHO1"])

    assert [router.hostname for router in state.routers] == [
        "cho1-cr1",
        "cho1-cr2",
        "nte1-cr1",
        "nte1-cr2",
    ]
    assert {link.code for link in state.links} == {
        "BL-CHO1-CR1-CR2",
        "BL-NTE1-CHO1",
        "BL-NTE1-CR1-CR2",
    }
    pids = lab_pids()
    assert len(pids) == 4 * (2 + 5)  # sshd, lldpd; watchfrr, zebra, bgpd, isisd, staticd
    assert left_behind({}) != []

    with pytest.raises(Conflict, match="sites: a lab of CHO1,NTE1 is up"):
        lab_up(inventory_engine, None)
    assert lab_pids() == pids  # refused without touching the lab

    report = lab_down()
    assert len(report.frr_instances) == 4
    assert left_behind(pids) == []
    assert lab_down().found_nothing


def test_a_failed_up_takes_itself_down(
    inventory_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: dict[int, int] = {}

    def fail_after_frr(build: LabBuild) -> None:
        started.update(lab_pids())
        raise SimulatedFailure

    monkeypatch.setattr(LabBuild, "start_daemons", fail_after_frr)
    with pytest.raises(SimulatedFailure):
        lab_up(inventory_engine, ["NTE1", "CHO1"])
    assert len(started) == 4 * 5  # FRR was running when the build failed
    assert left_behind(started) == []


def test_an_interrupted_up_leaves_nothing_after_down(
    inventory_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(build: LabBuild) -> None:
        raise KeyboardInterrupt  # once every daemon is started and recorded

    monkeypatch.setattr(LabBuild, "wait_for_daemons", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lab_up(inventory_engine, ["NTE1", "CHO1"], clean_on_failure=False)

    record = read_record()
    assert record is not None
    assert record.phase is BuildPhase.BUILDING
    assert len(record.processes) == 4 * 2
    pids = lab_pids()
    with pytest.raises(Conflict, match="did not finish"):
        lab_up(inventory_engine, ["NTE1", "CHO1"])

    lab_down()
    assert left_behind(pids) == []


def test_down_finds_a_lab_whose_state_file_is_lost(inventory_engine: Engine) -> None:
    lab_up(inventory_engine, ["CHO1"])
    pids = lab_pids()
    assert len(pids) == 2 * (2 + 5)
    state_file(DEFAULT_RUNTIME_DIR).unlink()
    assert read_lab_state() is None

    with pytest.raises(Conflict, match="leftovers of an earlier lab"):
        lab_up(inventory_engine, ["CHO1"])

    report = lab_down()
    # sshd and lldpd were found inside the lab's namespaces, FRR through its pid files.
    assert len(report.processes) >= 2 * 2
    assert left_behind(pids) == []


def test_unknown_sites_build_nothing(inventory_engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="sites: unknown site code 'XYZ9'"):
        lab_up(inventory_engine, ["NTE1", "XYZ9"])
    assert left_behind({}) == []
