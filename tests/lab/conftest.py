"""The lab for the lab tests: the repository's inventory in a SQLite file of its own, and the
default lab built from it once for the session and always taken down at the end.

There is one lab per machine. Tests that build labs of their own (``own_lab``) therefore
run before the session lab exists: collection moves every test that uses ``lab`` after
them. Two test sessions on one machine (two engineers, or CI beside a developer) take turns:
the first to need a lab holds a lock until it ends. Without root or the lab's packages the
tests are skipped on a laptop and fail in CI.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gigalis_nms.db import make_engine, upgrade
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.lab import LabState, lab_down, lab_up
from gigalis_nms.lab.state import DEFAULT_RUNTIME_DIR, read_record
from gigalis_nms.lab.system import missing_prerequisites, start_time_of
from gigalis_nms.lab.teardown import describe_leftovers, find_leftovers
from tests.conftest import IN_CI, ROOT, need

SESSION_LAB_BUILT = pytest.StashKey[bool]()
MACHINE_LOCK = Path("/run/lock/gigalis-lab-tests.lock")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: tests that use the session lab keep their order, after all the others.
    items.sort(key=lambda item: "lab" in getattr(item, "fixturenames", ()))


def require_lab_machine() -> None:
    need(os.geteuid() == 0, "the lab needs root")
    missing = missing_prerequisites()
    need(not missing, f"the lab needs: {'; '.join(str(problem) for problem in missing)}")


@pytest.fixture(scope="session")
def inventory_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The repository's inventory in a throwaway SQLite database."""
    require_lab_machine()
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('lab') / 'gigalis.sqlite3'}")
    upgrade(engine)
    load_inventory(engine, ROOT / "inventory", actor="test:lab")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def lab_machine() -> Iterator[None]:
    """This machine's lab, to this test session alone until it ends."""
    require_lab_machine()
    MACHINE_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with MACHINE_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another session holds it
        refuse_to_remove_someones_lab()
        yield


def refuse_to_remove_someones_lab() -> None:
    """The tests start by removing any lab. On an engineer's machine a lab that is up is
    theirs, being used: skip rather than take it away. In CI, what is left can only be an
    earlier run's, and is removed."""
    leftovers = find_leftovers()
    if leftovers and not IN_CI:
        pytest.skip(
            f"a lab is up on this machine ({describe_leftovers(leftovers)}): the lab tests build"
            " their own; run `gigalis lab down` first"
        )


@pytest.fixture(scope="session")
def lab(
    request: pytest.FixtureRequest, lab_machine: None, inventory_engine: Engine
) -> Iterator[LabState]:
    """The default lab, up for the whole session."""
    lab_down()  # leftovers of an interrupted run would make `up` refuse
    request.config.stash[SESSION_LAB_BUILT] = True
    try:
        yield lab_up(inventory_engine, None)
    finally:
        lab_down()


@pytest.fixture
def own_lab(request: pytest.FixtureRequest, lab_machine: None) -> Iterator[None]:
    """For a test that builds and removes labs itself: starts and ends with no lab."""
    if request.config.stash.get(SESSION_LAB_BUILT, False):
        pytest.fail("the session lab is up: tests using own_lab must run before it")
    lab_down()
    try:
        yield
    finally:
        lab_down()


def lab_pids(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> dict[int, int]:
    """Pid -> start time of every process of the lab: the ones it recorded (sshd, lldpd) and
    FRR's daemons, by their pid files."""
    pids = {}
    record = read_record(runtime_dir)
    for process in record.processes if record else ():
        pids[process.pid] = process.start_time
    for pid_file in glob.glob("/var/run/frr/gl-*/*.pid"):
        pid = int(Path(pid_file).read_text().strip())
        start_time = start_time_of(pid)
        if start_time is not None:
            pids[pid] = start_time
    return pids


def left_behind(pids: dict[int, int], runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> list[str]:
    """What is left of a lab, seen with the system's own tools rather than the lab's code."""
    namespaces = json.loads(_ip("-json", "netns", "list") or "[]")
    left = [f"netns {ns['name']}" for ns in namespaces if ns["name"].startswith("gl-")]
    links = json.loads(_ip("-json", "link", "show") or "[]")
    left += [
        f"link {link['ifname']}"
        for link in links
        if link["ifname"] == "gl-mgmt" or link["ifname"].startswith("glm-")
    ]
    left += glob.glob("/etc/frr/gl-*") + glob.glob("/var/run/frr/gl-*")
    if runtime_dir.exists():
        left.append(str(runtime_dir))
    left += [f"pid {pid}" for pid, start in pids.items() if start_time_of(pid) == start]
    return left


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout
