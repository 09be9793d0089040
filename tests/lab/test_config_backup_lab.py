"""Configuration backups of the lab's live routers (the ``lab`` fixture of tests/lab/conftest.py),
reached through the GigalisInventory plugin over the database the lab was built from.

Backing up twice without a change gives empty diffs; a change made by hand with vtysh on one
router shows in the next backup's diff, and nowhere else. The change is undone whatever the
test's outcome; it is never saved to the router's frr.conf.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from nornir.core import Nornir
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.lab.state import LabRouter, LabState
from gigalis_nms.provisioning.backup import BackupOutcome, BackupReport, diff_backups, take_backups
from gigalis_nms.provisioning.nornir_inventory import open_nornir

ACTOR = "test:lab-backup"
# A name no lab configuration uses, in a documentation prefix.
PREFIX_LIST = "ip prefix-list GIGALIS-BACKUP-TEST seq 5 permit 203.0.113.0/24"


def vtysh(router: LabRouter, *commands: str) -> None:
    """Configure the router's FRR as an engineer would, by hand, inside its namespace."""
    arguments = [argument for command in commands for argument in ("-c", command)]
    subprocess.run(
        ["ip", "netns", "exec", router.netns, "vtysh", "-N", router.netns, *arguments],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def nornir(lab: LabState, inventory_engine: Engine) -> Iterator[Nornir]:
    database_url = inventory_engine.url.render_as_string(hide_password=False)
    built = open_nornir(database_url=database_url, lab_state=lab, num_workers=len(lab.routers))
    yield built
    built.close_connections(on_good=True, on_failed=True)


def backup(engine: Engine, nornir: Nornir) -> BackupReport:
    with session_scope(engine, actor=ACTOR) as session:
        report = take_backups(session, nornir, actor=ACTOR)
    assert report.ok, {device.hostname: device.error for device in report.failed}
    return report


def ids(report: BackupReport) -> dict[str, int]:
    return {device.hostname: device.backup_id for device in report.devices if device.backup_id}


def diffs(engine: Engine, older: BackupReport, newer: BackupReport) -> dict[str, str]:
    with session_scope(engine, read_only=True) as session:
        return {
            hostname: diff_backups(session, backup_id, ids(newer)[hostname])
            for hostname, backup_id in ids(older).items()
        }


def test_backups_show_a_change_made_by_hand_and_only_it(
    lab: LabState, inventory_engine: Engine, nornir: Nornir
) -> None:
    first = backup(inventory_engine, nornir)
    assert set(ids(first)) == {router.hostname for router in lab.routers}

    second = backup(inventory_engine, nornir)

    assert {device.outcome for device in second.devices} == {BackupOutcome.UNCHANGED}
    assert set(diffs(inventory_engine, first, second).values()) == {""}

    router = lab.routers[0]
    try:
        vtysh(router, "configure terminal", PREFIX_LIST)
        third = backup(inventory_engine, nornir)
    finally:
        vtysh(router, "configure terminal", f"no {PREFIX_LIST}")

    changed = diffs(inventory_engine, second, third)
    outcomes = {device.hostname: device.outcome for device in third.devices}
    assert outcomes.pop(router.hostname) is BackupOutcome.CHANGED
    assert set(outcomes.values()) == {BackupOutcome.UNCHANGED}
    assert f"+{PREFIX_LIST}" in changed.pop(router.hostname).splitlines()
    assert set(changed.values()) == {""}

    restored = backup(inventory_engine, nornir)
    assert diffs(inventory_engine, second, restored) == dict.fromkeys(ids(second), "")
