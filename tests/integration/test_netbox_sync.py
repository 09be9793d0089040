"""`gigalis netbox export` and `gigalis netbox import` between two Gigalis instances.

The source is the Gigalis network loaded from the repository's inventory (plus a device type
and a retired cable, so that every mapped field has a value to carry). It is exported through
pynetbox to a second instance, a real `gigalis serve` over an empty database that serves the
NetBox dialect; that instance is then imported, through pynetbox again, into a third,
empty database (SQLite and PostgreSQL). The round trip must reproduce every mapped field of
every organisation, site, manufacturer, device type, platform, device, interface, cable and
circuit; a second run of either direction must change nothing.

Everything listens on loopback; proxy settings are cleared so that nothing leaves it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pynetbox
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from gigalis_nms.audit import AuditEntry
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import make_engine, session_scope, upgrade
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import LifecycleStatus
from gigalis_nms.inventory.loader.run import load_inventory
from gigalis_nms.inventory.models import Device, FibreCable, Organisation, Site
from gigalis_nms.netbox.models import DeviceType, Manufacturer
from gigalis_nms.netbox.sync import gigalis_side
from gigalis_nms.netbox.sync.records import KINDS, Inventory
from gigalis_nms.netbox.sync.run import (
    NetBoxUnreachable,
    SyncReport,
    export_to_netbox,
    import_from_netbox,
)
from tests.processes import (
    PROXY_VARIABLES,
    ROOT,
    free_port,
    gigalis_command,
    gigalis_serve,
    quiet_serve_environment,
    without_proxies,
)

pytestmark = pytest.mark.timeout(600)

SECRET_KEY = "netbox-sync-test-secret-key-0123456789"
ACTOR = "test:netbox-import"


@dataclass
class Exchange:
    source: Engine  # the Gigalis network, exported
    source_url: str  # its database URL
    target_url: str  # the second instance's NetBox root: http://127.0.0.1:PORT/netbox
    tokens: dict[str, str]  # the second instance's tokens by role
    export: SyncReport  # the first export's report


def _read(engine: Engine) -> Inventory:
    with session_scope(engine, read_only=True) as session:
        return gigalis_side.read(session)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _source(folder: Path) -> tuple[Engine, str]:
    """The Gigalis network, with a device type on one router and one retired cable."""
    url = f"sqlite:///{folder / 'source.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    load_inventory(engine, ROOT / "inventory", actor="test:netbox-sync")
    with session_scope(engine, actor="test:netbox-sync") as session:
        juniper = session.exec(select(Manufacturer).where(Manufacturer.slug == "juniper")).one()
        kind = DeviceType(
            manufacturer_id=juniper.id, model="MX204", slug="mx204", part_number="MX204-HW-BASE"
        )
        session.add(kind)
        session.flush()
        router = session.exec(select(Device).where(Device.platform == "junos")).first()
        assert router is not None
        router.device_type_id = kind.id
        cable = session.exec(select(FibreCable).order_by(FibreCable.id)).first()
        assert cable is not None
        cable.status = LifecycleStatus.RETIRED
    return engine, url


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    folder = tmp_path_factory.mktemp("netbox-sync")
    source, source_url = _source(folder)
    target_db = folder / "target.sqlite3"
    target = make_engine(f"sqlite:///{target_db}")
    upgrade(target)
    tokens = {}
    with session_scope(target, actor="test:tokens") as session:
        for role in (Role.ADMIN, Role.VIEWER):
            _, tokens[role.value] = create_token(
                session, name=role.value, role=role, organisation_id=None, secret_key=SECRET_KEY
            )
    target.dispose()
    environment = quiet_serve_environment(folder, f"sqlite:///{target_db}", SECRET_KEY)
    with pytest.MonkeyPatch.context() as patch, gigalis_serve(environment, folder / "log") as url:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        target_url = f"{url}/netbox"
        report = export_to_netbox(source, target_url, tokens["admin"])
        yield Exchange(source, source_url, target_url, tokens, report)
    source.dispose()


def test_export_takes_every_object(exchange: Exchange) -> None:
    assert exchange.export.refused == []
    assert exchange.export.committed
    created = dict.fromkeys(KINDS, 0)
    for change in exchange.export.applied():
        assert change.action == "create", change
        created[change.kind] += 1
    source = _read(exchange.source).count()
    # Manufacturers and platforms are seeded on every database: only the rest is new.
    assert created == {**source, "manufacturer": 0, "platform": 0}
    assert created["device"] == 45
    assert created["circuit"] > 0
    assert created["cable"] > 0


def test_a_second_export_changes_nothing(exchange: Exchange) -> None:
    again = export_to_netbox(exchange.source, exchange.target_url, exchange.tokens["admin"])
    assert again.plan.changes == []
    assert again.refused == []
    assert sum(again.plan.only_receiving.values()) == 0


def test_import_back_reproduces_every_mapped_field(exchange: Exchange, engine: Engine) -> None:
    report = import_from_netbox(engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR)
    assert report.refused == []
    assert report.skipped == []
    assert report.committed
    source, imported = _read(exchange.source), _read(engine)
    for kind in KINDS:
        assert imported.records[kind] == source.records[kind], kind
    # Every change went through the session's audit, under the import's actor.
    with session_scope(engine, read_only=True) as session:
        actors = set(session.exec(select(AuditEntry.actor).where(AuditEntry.entity == "site")))
    assert actors == {ACTOR}

    again = import_from_netbox(engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR)
    assert again.plan.changes == []
    assert again.refused == []


def test_import_into_the_source_changes_nothing(exchange: Exchange) -> None:
    report = import_from_netbox(
        exchange.source, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR
    )
    assert report.plan.changes == []
    assert report.refused == []


def _counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine, read_only=True) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Site, Device, Organisation)
        )


def test_dry_run_reports_and_writes_nothing(exchange: Exchange, engine: Engine) -> None:
    before = _counts(engine)
    report = import_from_netbox(
        engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR, dry_run=True
    )
    assert report.refused == []
    assert not report.committed
    assert sum(1 for c in report.plan.changes if c.kind == "site") == len(
        _read(exchange.source).records["site"]
    )
    assert _counts(engine) == before


def test_changes_made_in_netbox_are_imported(exchange: Exchange, engine: Engine) -> None:
    import_from_netbox(engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR)
    api = pynetbox.api(exchange.target_url, token=exchange.tokens["admin"])
    site = api.dcim.sites.get(slug="ang1")
    port = next(iter(api.dcim.interfaces.filter(device="ang1-cr1")))
    before = (site.name, port.description)
    try:
        site.update({"name": "Angers Saint-Serge"})
        port.update({"description": "towards the new PoP"})
        report = import_from_netbox(
            engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR
        )
        changed = {(c.kind, c.key): c.fields for c in report.plan.changes}
        assert changed == {
            ("site", "ANG1"): {"name": (before[0], "Angers Saint-Serge")},
            ("interface", f"ang1-cr1:{port.name}"): {
                "description": (before[1], "towards the new PoP")
            },
        }
        assert report.refused == []
        imported = _read(engine)
        assert imported.records["site"]["ANG1"]["name"] == "Angers Saint-Serge"
        key = f"ang1-cr1:{port.name}"
        assert imported.records["interface"][key]["description"] == "towards the new PoP"
    finally:
        site.update({"name": before[0]})
        port.update({"description": before[1]})


def test_a_refused_object_is_reported_and_the_rest_taken(
    exchange: Exchange, engine: Engine
) -> None:
    source = _read(exchange.source)
    operator = next(
        name for name, r in source.records["organisation"].items() if r["kind"] == "operator"
    )
    siren = source.records["organisation"][operator]["siren"]
    assert siren is not None
    # An organisation of another name already holds the operator's SIREN: Gigalis refuses
    # the operator, then its circuits, and takes everything else.
    with session_scope(engine, actor="test:setup") as session:
        session.add(Organisation(name="Homonyme SAS", kind="operator", siren=siren))
    strict = import_from_netbox(
        engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR, strict=True
    )
    assert strict.refused
    assert not strict.committed
    assert _counts(engine)[0] == 0

    report = import_from_netbox(engine, exchange.target_url, exchange.tokens["viewer"], actor=ACTOR)
    refused = {(p.kind, p.key) for p in report.refused}
    assert ("organisation", operator) in refused
    operator_circuits = {
        ref for ref, r in source.records["circuit"].items() if r["operator"] == operator
    }
    assert {key for kind, key in refused if kind == "circuit"} == operator_circuits
    assert all(p.field in {"siren", "operator", ""} for p in report.refused)
    assert report.committed
    imported = _read(engine)
    assert imported.records["device"] == source.records["device"]
    assert (
        imported.records["circuit"].keys() == source.records["circuit"].keys() - operator_circuits
    )


# --- The command ----------------------------------------------------------------------------


def _gigalis(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **without_proxies(),
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATABASE_URL": database_url,
        "GIGALIS_SECRET_KEY": SECRET_KEY,
    }
    return subprocess.run(
        [gigalis_command(), "netbox", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def test_command_dry_run_in_json(exchange: Exchange, tmp_path: Path, sqlite_template: Path) -> None:
    database = tmp_path / "empty.sqlite3"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    env_token = exchange.tokens["viewer"]
    done = _gigalis(
        url,
        "import",
        "--url",
        exchange.target_url,
        "--token",
        env_token,
        "--dry-run",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["dry_run"] is True
    assert answer["committed"] is False
    assert {c["kind"] for c in answer["changes"]} >= {"site", "device", "cable", "circuit"}
    assert _counts(make_engine(url)) == (0, 0, 0)


def test_command_names_an_unreachable_netbox(tmp_path: Path, sqlite_template: Path) -> None:
    database = tmp_path / "empty.sqlite3"
    shutil.copy(sqlite_template, database)
    closed = f"http://127.0.0.1:{free_port()}"
    done = _gigalis(f"sqlite:///{database}", "import", "--url", closed, "--token", "x")
    assert done.returncode == 1
    assert f"cannot reach NetBox at {closed}" in done.stderr


def test_a_bad_token_is_named(exchange: Exchange, engine: Engine) -> None:
    with pytest.raises(NetBoxUnreachable, match=r"answered 40[13]"):
        import_from_netbox(engine, exchange.target_url, "0" * 40, actor=ACTOR)
    with pytest.raises(NetBoxUnreachable, match=r"answered 40[13]"):
        export_to_netbox(exchange.source, exchange.target_url, "0" * 40)


def test_an_export_refused_by_the_netbox_is_reported_per_object(
    exchange: Exchange, tmp_path: Path
) -> None:
    """A copy of the source with one site renamed, exported with a token that may only read:
    the NetBox's 403 is reported for that site, and nothing else was to change."""
    copy = tmp_path / "copy.sqlite3"
    source_file = exchange.source_url.removeprefix("sqlite:///")
    with sqlite3.connect(source_file) as original, sqlite3.connect(copy) as duplicate:
        original.backup(duplicate)
    engine = make_engine(f"sqlite:///{copy}")
    with session_scope(engine, actor="test:setup") as session:
        site = session.exec(select(Site).where(Site.code == "ANG1")).one()
        site.name = "Angers (renamed)"
    report = export_to_netbox(engine, exchange.target_url, exchange.tokens["viewer"])
    engine.dispose()
    assert [(c.kind, c.key, c.fields) for c in report.plan.changes] == [
        ("site", "ANG1", {"name": ("Angers", "Angers (renamed)")})
    ] or [(c.kind, c.key) for c in report.plan.changes] == [("site", "ANG1")]
    assert [(p.kind, p.key) for p in report.refused] == [("site", "ANG1")]
    assert "NetBox answered 403" in report.refused[0].reason
    assert not report.committed  # everything refused: nothing was written


def test_a_netbox_that_stops_answering_is_named(engine: Engine) -> None:
    """A server on loopback that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(NetBoxUnreachable, match="stopped answering"):
            import_from_netbox(engine, url, "x", actor=ACTOR, timeout=1)
    assert _counts(engine) == (0, 0, 0)


# --- Servers that are not a working NetBox ---------------------------------------------------
# Stand-ins for a NetBox gone wrong, on loopback: a real NetBox cannot be made to trickle its
# answers or to page in a loop.


@contextmanager
def broken_netbox(answer: Callable[[socket.socket, str], None]) -> Iterator[str]:
    """A server on loopback that reads each request and lets ``answer`` reply to it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                request = connection.recv(65536).decode(errors="replace")
                path = request.split(" ")[1] if " " in request else "/"
                with contextlib.suppress(OSError):  # the client gave up, as it should
                    answer(connection, path)

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        yield url
    finally:
        stop.set()
        worker.join(timeout=5)
        listener.close()


def test_a_netbox_that_trickles_its_answer_is_cut_off(engine: Engine) -> None:
    def trickle(connection: socket.socket, _path: str) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(20):
            connection.sendall(b" ")
            time.sleep(0.3)

    with broken_netbox(trickle) as url:
        started = time.monotonic()
        with pytest.raises(NetBoxUnreachable, match="stopped answering"):
            import_from_netbox(engine, url, "x", actor=ACTOR, timeout=1)
        # Each answer is cut at the timeout; the 6 s trickle is never waited out.
        assert time.monotonic() - started < 5
    assert _counts(engine) == (0, 0, 0)


def test_a_list_paging_in_a_loop_is_refused(engine: Engine) -> None:
    def loop(connection: socket.socket, path: str) -> None:
        base = f"http://{connection.getsockname()[0]}:{connection.getsockname()[1]}"
        page = {
            "count": 2,
            "next": f"{base}/api/tenancy/tenants/?limit=1&offset=1",
            "previous": None,
            "results": [{"id": 1, "name": "Loop", "slug": "loop", "custom_fields": {}}],
        }
        body = json.dumps(page if "tenants" in path else {}).encode()
        head = "HTTP/1.1 200 OK\r\nAPI-Version: 4.1\r\nContent-Type: application/json\r\n"
        connection.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)

    with broken_netbox(loop) as url, pytest.raises(NetBoxUnreachable, match="page forever"):
        import_from_netbox(engine, url, "x", actor=ACTOR, timeout=5)
    assert _counts(engine) == (0, 0, 0)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999/netbox", "not a URL"),
        ("http://[::1/netbox", "not a URL"),
        ("http://127.0.0.1:0/netbox", "the port is 1 to 65535"),
        ("ftp://127.0.0.1/netbox", "http:// or https://"),
    ],
)
def test_a_url_that_cannot_be_a_netbox_is_named(engine: Engine, url: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)) as raised:
        import_from_netbox(engine, url, "x", actor=ACTOR)
    assert raised.value.problems[0].field == "--url"
