"""Configuration backups on both databases: real Nornir, real nornir_napalm ``napalm_get`` and
NAPALM's own mock driver in place of routers (it reads each device's answers from files, so
nothing leaves the machine), hosts from the GigalisInventory plugin."""

from __future__ import annotations

import doctest
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Host
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from gigalis_nms.cli import app
from gigalis_nms.console import DEVICE_LIBRARY_LOGGERS, configure_logging
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Device
from gigalis_nms.provisioning import config_cli
from gigalis_nms.provisioning.backup import (
    BackupOutcome,
    BackupReport,
    config_sha256,
    diff_backups,
    get_backup,
    latest_backups,
    list_backups,
    take_backups,
)
from gigalis_nms.provisioning.models import ConfigBackup
from gigalis_nms.provisioning.nornir_inventory import NAPALM_CONNECTION, open_nornir
from gigalis_nms.settings import Settings, get_settings
from tests.conftest import ROOT

ACTOR = "test:backup"
SITES = ["NTE1", "ANG1"]  # nte1-cr1, nte1-cr2 (frr), ang1-cr1, ang1-cr2 (iosxr)
UNREACHABLE = "ang1-cr2"
runner = CliRunner()


def config_of(hostname: str, extra: str = "") -> str:
    return f"hostname {hostname}\n!\ninterface lo\n ip address 192.0.2.1/32\nexit\n{extra}!\n"


class MockRouters:
    """What NAPALM's mock driver answers for each host: a folder of files per host."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def set_config(self, hostname: str, running: str) -> None:
        folder = self.root / hostname
        folder.mkdir(parents=True, exist_ok=True)
        answer = {"running": running, "startup": "", "candidate": ""}
        (folder / "get_config.1").write_text(json.dumps(answer))

    def rewire(self, nornir: Nornir, unreachable: Sequence[str] = (UNREACHABLE,)) -> Nornir:
        """Point every host at the mock driver; the unreachable ones fail to connect."""
        for host in nornir.inventory.hosts.values():
            optional_args: dict[str, Any] = {"path": str(self.root / host.name)}
            if host.name in unreachable:
                optional_args["fail_on_open"] = True
            host.platform = "mock"
            host.connection_options[NAPALM_CONNECTION] = ConnectionOptions(
                extras={"optional_args": optional_args}
            )
        return nornir


@pytest.fixture
def device_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"device_username": "netops", "device_password": SecretStr("pw")}
    )


@pytest.fixture
def routers(engine: Engine, tmp_path: Path) -> MockRouters:
    load_inventory(engine, ROOT / "inventory", actor="test:backup")
    mock = MockRouters(tmp_path / "mock")
    for hostname in ("nte1-cr1", "nte1-cr2", "ang1-cr1", "ang1-cr2"):
        mock.set_config(hostname, config_of(hostname))
    return mock


@pytest.fixture
def nornir(routers: MockRouters, device_settings: Settings) -> Iterator[Nornir]:
    built = routers.rewire(open_nornir(settings=device_settings, sites=SITES))
    yield built
    built.close_connections(on_good=True, on_failed=True)


def backup_once(engine: Engine, nornir: Nornir, **kwargs: Any) -> BackupReport:
    with session_scope(engine, actor=ACTOR) as session:
        report = take_backups(session, nornir, actor=ACTOR, **kwargs)
    # The mock driver answers its files in turn per session: a new session reads them again.
    nornir.close_connections(on_good=True, on_failed=True)
    return report


def ids(report: BackupReport) -> dict[str, int]:
    return {device.hostname: device.backup_id for device in report.devices if device.backup_id}


def test_a_backup_of_every_device_keeps_the_failures_as_data(
    engine: Engine, nornir: Nornir
) -> None:
    done: list[tuple[str, bool]] = []

    report = backup_once(engine, nornir, progress=lambda host, ok: done.append((host, ok)))

    assert [(d.hostname, d.outcome) for d in report.devices] == [
        ("ang1-cr1", BackupOutcome.FIRST),
        ("ang1-cr2", BackupOutcome.FAILED),
        ("nte1-cr1", BackupOutcome.FIRST),
        ("nte1-cr2", BackupOutcome.FIRST),
    ]
    assert not report.ok
    (failed,) = report.failed
    assert failed.error == "ConnectionException: You told me to do this"
    assert failed.backup_id is None
    assert sorted(done) == [
        ("ang1-cr1", True),
        ("ang1-cr2", False),
        ("nte1-cr1", True),
        ("nte1-cr2", True),
    ]
    with session_scope(engine, read_only=True) as session:
        stored = {row.hostname: row for row in session.exec(select(ConfigBackup))}
        device_ids = dict(session.exec(select(Device.hostname, Device.id)).all())
    assert sorted(stored) == ["ang1-cr1", "nte1-cr1", "nte1-cr2"]
    row = stored["nte1-cr1"]
    assert row.config == config_of("nte1-cr1")
    assert row.sha256 == config_sha256(row.config)
    assert row.device_id == device_ids["nte1-cr1"]
    assert row.taken_by == ACTOR
    assert row.taken_at.tzinfo is not None
    assert ids(report)["nte1-cr1"] == row.id


def test_an_unchanged_configuration_is_stored_again_and_its_diff_is_empty(
    engine: Engine, nornir: Nornir
) -> None:
    first = backup_once(engine, nornir)
    second = backup_once(engine, nornir)

    assert {d.outcome for d in second.devices if d.hostname != UNREACHABLE} == {
        BackupOutcome.UNCHANGED
    }
    with session_scope(engine, read_only=True) as session:
        assert len(list_backups(session)) == 6
        for hostname, first_id in ids(first).items():
            assert diff_backups(session, first_id, ids(second)[hostname]) == ""


def test_a_change_shows_in_the_diff_with_device_and_times(
    engine: Engine, nornir: Nornir, routers: MockRouters
) -> None:
    first = backup_once(engine, nornir)
    routers.set_config("nte1-cr1", config_of("nte1-cr1", "ip route 203.0.113.0/24 blackhole\n"))

    second = backup_once(engine, nornir)

    outcomes = {d.hostname: d.outcome for d in second.devices}
    assert outcomes["nte1-cr1"] is BackupOutcome.CHANGED
    assert outcomes["nte1-cr2"] is BackupOutcome.UNCHANGED
    old, new = ids(first)["nte1-cr1"], ids(second)["nte1-cr1"]
    with session_scope(engine, read_only=True) as session:
        text = diff_backups(session, old, new)
        backups = {row.id: row for row in session.exec(select(ConfigBackup))}
    lines = text.splitlines()
    taken = backups[old].taken_at.isoformat(timespec="seconds")
    assert lines[0] == f"--- nte1-cr1 backup {old}\t{taken}"
    assert lines[1].startswith(f"+++ nte1-cr1 backup {new}\t")
    assert "+ip route 203.0.113.0/24 blackhole" in lines
    assert [line for line in lines if line.startswith(("+", "-"))][2:] == [
        "+ip route 203.0.113.0/24 blackhole"
    ]


def test_two_devices_can_be_compared_and_the_diff_says_so(engine: Engine, nornir: Nornir) -> None:
    report = backup_once(engine, nornir)
    one, two = ids(report)["nte1-cr1"], ids(report)["nte1-cr2"]

    with session_scope(engine, read_only=True) as session:
        text = diff_backups(session, one, two)

    assert text.splitlines()[0] == (
        f"# different devices: nte1-cr1 (backup {one}) and nte1-cr2 (backup {two})"
    )
    assert "-hostname nte1-cr1" in text
    assert "+hostname nte1-cr2" in text


def test_an_unknown_backup_is_not_found(engine: Engine, nornir: Nornir) -> None:
    report = backup_once(engine, nornir)

    with session_scope(engine, read_only=True) as session, pytest.raises(NotFound) as missing:
        diff_backups(session, ids(report)["nte1-cr1"], 9999)

    assert missing.value.message == "second: no backup with id 9999"


@pytest.mark.usefixtures("routers")  # the inventory loaded; no backup stored
def test_two_unknown_backups_are_both_named(engine: Engine) -> None:
    with session_scope(engine, read_only=True) as session, pytest.raises(NotFound) as missing:
        diff_backups(session, 9998, 9999)

    assert missing.value.message == (
        "first: no backup with id 9998; second: no backup with id 9999"
    )
    assert [problem.field for problem in missing.value.problems] == ["first", "second"]
    with session_scope(engine, read_only=True) as session, pytest.raises(NotFound) as one:
        get_backup(session, 9999)
    assert one.value.message == "backup: no backup with id 9999"


@pytest.mark.usefixtures("routers")
@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [
        (10**20, 1, ["first"]),
        (1, 2**31, ["second"]),
        (0, -1, ["first", "second"]),
    ],
)
def test_ids_outside_the_column_range_are_refused_by_name(
    engine: Engine, first: int, second: int, refused: list[str]
) -> None:
    with session_scope(engine, read_only=True) as session, pytest.raises(InvalidInput) as bad:
        diff_backups(session, first, second)

    assert [problem.field for problem in bad.value.problems] == refused
    assert bad.value.problems[0].reason.endswith("is not a backup id: ids run from 1 to 2147483647")
    with session_scope(engine, read_only=True) as session, pytest.raises(InvalidInput):
        get_backup(session, 2**63)


def test_backups_are_listed_newest_first_and_by_device(engine: Engine, nornir: Nornir) -> None:
    first = backup_once(engine, nornir)
    second = backup_once(engine, nornir)

    with session_scope(engine, read_only=True) as session:
        everything = list_backups(session)
        one_device = list_backups(session, "nte1-cr1")
        newest = list_backups(session, limit=2)
        latest = latest_backups(session, ["nte1-cr1", "ang1-cr2", "nowhere"])

    assert [item.id for item in one_device] == [ids(second)["nte1-cr1"], ids(first)["nte1-cr1"]]
    assert one_device[0].size == len(config_of("nte1-cr1"))
    assert one_device[0].taken_by == ACTOR
    assert everything[0].taken_at >= everything[-1].taken_at
    assert len(newest) == 2
    assert {item.id for item in newest} <= set(ids(second).values())
    assert list(latest) == ["nte1-cr1"]
    assert latest["nte1-cr1"].id == ids(second)["nte1-cr1"]


def test_hosts_outside_the_inventory_are_backed_up_without_a_device(
    engine: Engine, nornir: Nornir, routers: MockRouters
) -> None:
    routers.set_config("spare-er9", config_of("spare-er9"))
    defaults = nornir.inventory.defaults
    nornir.inventory.hosts["spare-er9"] = Host(name="spare-er9", defaults=defaults)
    routers.rewire(nornir)

    report = backup_once(engine, nornir)

    with session_scope(engine, read_only=True) as session:
        row = session.get(ConfigBackup, ids(report)["spare-er9"])
    assert row is not None
    assert row.device_id is None


@pytest.fixture
def library_levels() -> Iterator[None]:
    """Nornir's and paramiko's loggers as Python leaves them, then as they were."""
    loggers = [logging.getLogger(name) for name in DEVICE_LIBRARY_LOGGERS]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
    yield
    for logger, level in zip(loggers, saved, strict=True):
        logger.setLevel(level)


@pytest.mark.usefixtures("library_levels")
def test_at_info_the_log_holds_outcomes_not_configurations_nor_tracebacks(
    engine: Engine, nornir: Nornir, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        backup_once(engine, nornir)
    # Left alone, Nornir logs its tasks and a traceback per failed host.
    assert any(record.name.startswith("nornir") for record in caplog.records)
    caplog.clear()

    configure_logging("INFO")
    with caplog.at_level(logging.INFO):
        backup_once(engine, nornir)

    assert [r.name for r in caplog.records if r.name.startswith(DEVICE_LIBRARY_LOGGERS)] == []
    assert "ang1-cr2: config backup failed: ConnectionException" in caplog.text
    assert "Traceback" not in caplog.text
    assert "interface lo" not in caplog.text  # nothing of a configuration


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, routers: MockRouters
) -> Iterator[None]:
    monkeypatch.setenv("GIGALIS_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGALIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GIGALIS_DEVICE_USERNAME", "netops")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables print whole cells

    def mocked_nornir(**options: Any) -> Nornir:
        return routers.rewire(open_nornir(**options, sites=SITES))

    monkeypatch.setattr(config_cli, "open_nornir", mocked_nornir)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def gigalis(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_the_backup_command_reports_each_device_and_fails_when_one_did(cli: None) -> None:
    output = gigalis("config", "backup", code=1)

    assert "Configuration backups (4 devices)" in output
    assert "ConnectionException: You told me to do this" in output
    assert "1 of 4 devices failed; the others were backed up." in output
    rows = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    assert "first" in rows["nte1-cr1"]
    assert "failed" in rows[UNREACHABLE]


def test_the_backup_command_on_named_devices(cli: None) -> None:
    output = gigalis("config", "backup", "--device", "nte1-cr1", "--device", "ang1-cr1", "-q")
    assert "Configuration backups (2 devices)" in output

    again = gigalis("config", "backup", "--device", "nte1-cr1")
    assert "unchanged" in again

    unknown = gigalis("config", "backup", "--device", "nte1-cr1", "--device", "nowhere", code=1)
    assert "--device: nowhere: not among the active or staged devices" in unknown


def test_the_lab_option_needs_a_lab(cli: None, tmp_path: Path) -> None:
    output = gigalis("config", "backup", "--lab", "--runtime-dir", str(tmp_path / "no-lab"), code=1)
    assert "--lab: no lab is up" in output


def test_the_backups_and_diff_commands(cli: None, routers: MockRouters) -> None:
    gigalis("config", "backup", "--device", "nte1-cr1")
    routers.set_config("nte1-cr1", config_of("nte1-cr1", "ip route 203.0.113.0/24 blackhole\n"))
    gigalis("config", "backup", "--device", "nte1-cr1")

    listed = gigalis("config", "backups", "--device", "nte1-cr1")
    assert "Backups (2)" in listed
    rows = [line.split("│") for line in listed.splitlines() if "nte1-cr1" in line]
    newer, older = (int(row[1]) for row in rows)
    assert newer > older
    assert "cli:" in rows[0][4]

    diff = gigalis("config", "diff", str(older), str(newer))
    assert diff.startswith(f"--- nte1-cr1 backup {older}\t")
    assert "+ip route 203.0.113.0/24 blackhole\n" in diff
    same = gigalis("config", "diff", str(newer), str(newer))
    assert f"No difference: backups {newer} and {newer} hold the same configuration." in same
    missing = gigalis("config", "diff", str(newer), "9999", code=1)
    assert "second: no backup with id 9999" in missing
    both = gigalis("config", "diff", "9998", "9999", code=1)
    assert "first: no backup with id 9998; second: no backup with id 9999" in both


def test_the_diff_command_refuses_ids_beyond_the_range(cli: None) -> None:
    output = gigalis("config", "diff", "99999999999999999999", "1", code=1)

    assert (
        "error: first: 99999999999999999999 is not a backup id: ids run from 1 to 2147483647"
    ) in output
    assert "Traceback" not in output
    assert "OverflowError" not in output


def test_when_every_device_fails_none_is_said_backed_up(
    cli: None, monkeypatch: pytest.MonkeyPatch, routers: MockRouters
) -> None:
    def unreachable_nornir(**options: Any) -> Nornir:
        built = open_nornir(**options, sites=SITES)
        return routers.rewire(built, unreachable=list(built.inventory.hosts))

    monkeypatch.setattr(config_cli, "open_nornir", unreachable_nornir)

    output = gigalis("config", "backup", "-q", code=1)

    assert "All 4 devices failed; nothing was backed up." in output
    assert "the others were backed up" not in output


def test_the_backups_limit_is_a_page_like_the_job_list(cli: None) -> None:
    gigalis("config", "backup", "--device", "nte1-cr1", "-q")

    assert "Backups (1)" in gigalis("config", "backups", "--limit", "1")
    for refused in ("0", "1001"):
        output = gigalis("config", "backups", "--limit", refused, code=2)
        assert "Invalid value for '--limit'" in output


def test_the_backup_summary_examples_run() -> None:
    result = doctest.testmod(config_cli)
    assert result.attempted > 0
    assert result.failed == 0
