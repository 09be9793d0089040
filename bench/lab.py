"""The lab benchmark: how fast the lab comes up and goes down, and what Nornir's parallel
runner gains over one router at a time.

    .venv/bin/python -m bench.lab [--all] [--rounds N]

Needs root and the lab's packages (see lab/README.md). It loads the repository's inventory
into a throwaway SQLite database, then:

1. times ``lab up`` and ``lab down`` of the default lab (targets: under 60 s and 20 s);
2. with the default lab up, runs ``napalm_get`` (``get_facts`` + ``get_interfaces``) over SSH
   on every router through Nornir, one router after another (Nornir's serial runner) and
   all at once (its threaded runner), each round on fresh connections, and prints the
   ratio of the medians (target: at least 4);
3. with ``--all``, times up and down of the whole network too (no target: it shows how the
   times grow with the number of routers).

It refuses to start while a lab is up (it would be someone's); whatever happens, the lab
it built is taken down at the end. Prints the figures with their targets
and writes them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.plugins.runners import SerialRunner, ThreadedRunner
from nornir_napalm.plugins.tasks import napalm_get
from sqlalchemy.engine import Engine

from bench import BenchFailure
from gigalis_nms.db import make_engine
from gigalis_nms.lab.build import lab_down, lab_up
from gigalis_nms.lab.nornir import lab_nornir
from gigalis_nms.lab.state import LabState
from gigalis_nms.lab.teardown import describe_leftovers, find_leftovers
from gigalis_nms.service import prepare_database
from gigalis_nms.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
UP_TARGET_SECONDS = 60.0
DOWN_TARGET_SECONDS = 20.0
PARALLEL_TARGET_RATIO = 4.0
GETTERS = ["get_facts", "get_interfaces"]


@dataclass(frozen=True)
class UpDown:
    sites: str
    routers: int
    up_seconds: float
    down_seconds: float


@dataclass(frozen=True)
class GetterRounds:
    routers: int
    serial_seconds: list[float]
    parallel_seconds: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.serial_seconds) / statistics.median(self.parallel_seconds)


@contextmanager
def inventory_database() -> Iterator[Engine]:
    """The repository's inventory in a SQLite file of its own, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="gigalis-bench-lab-") as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/lab.sqlite3", inventory_dir=ROOT / "inventory"
        )
        engine = make_engine(settings.resolved_database_url)
        try:
            prepare_database(settings, engine, load=True)
            yield engine
        finally:
            engine.dispose()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


def measure_up_down(engine: Engine, sites: list[str] | None, label: str) -> UpDown:
    up_seconds, state = timed(lambda: lab_up(engine, sites))
    down_seconds, _ = timed(lab_down)
    return UpDown(label, len(state.routers), up_seconds, down_seconds)


def run_getters(nornir: Nornir, *, fresh: bool) -> float:
    """Seconds for one napalm_get on every router; fails on any error. ``fresh`` closes the
    connections afterwards, so that the next round opens them again (SSH handshake, FRR
    check); otherwise they stay open, as a poller keeps them."""
    try:
        seconds, results = timed(lambda: nornir.run(task=napalm_get, getters=GETTERS))
    finally:
        if fresh:
            nornir.close_connections(on_good=True, on_failed=True)
    if results.failed:
        failed = ", ".join(sorted(results.failed_hosts))
        raise BenchFailure(
            f"napalm_get failed on {failed}: {results[sorted(results)[0]].exception}"
        )
    return float(seconds)


def measure_getters(state: LabState, rounds: int, *, fresh: bool) -> GetterRounds:
    serial = lab_nornir(state, runner=SerialRunner())
    parallel = lab_nornir(state, runner=ThreadedRunner(num_workers=len(state.routers)))
    try:
        run_getters(serial, fresh=fresh)  # a first round warms caches, and opens connections
        run_getters(parallel, fresh=fresh)
        serial_seconds, parallel_seconds = [], []
        for _ in range(rounds):
            serial_seconds.append(run_getters(serial, fresh=fresh))
            parallel_seconds.append(run_getters(parallel, fresh=fresh))
    finally:
        serial.close_connections(on_good=True, on_failed=True)
        parallel.close_connections(on_good=True, on_failed=True)
    return GetterRounds(len(state.routers), serial_seconds, parallel_seconds)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def report_getters(title: str, getters: GetterRounds) -> None:
    serial = statistics.median(getters.serial_seconds)
    parallel = statistics.median(getters.parallel_seconds)
    print(f"get_facts + get_interfaces over SSH on {getters.routers} routers, {title}, median")
    print(f"  one by one  {serial:6.2f} s")
    print(
        f"  in parallel {parallel:6.2f} s   ratio {getters.ratio:.1f}x   "
        f"target >= {PARALLEL_TARGET_RATIO:.0f}x   "
        f"{verdict(getters.ratio >= PARALLEL_TARGET_RATIO)}"
    )


def report(
    default: UpDown, fresh: GetterRounds, kept: GetterRounds, whole: UpDown | None
) -> dict[str, Any]:
    print(f"default lab ({default.routers} routers, sites {default.sites})")
    print(
        f"  up    {default.up_seconds:6.1f} s   target < {UP_TARGET_SECONDS:.0f} s   "
        f"{verdict(default.up_seconds < UP_TARGET_SECONDS)}"
    )
    print(
        f"  down  {default.down_seconds:6.1f} s   target < {DOWN_TARGET_SECONDS:.0f} s   "
        f"{verdict(default.down_seconds < DOWN_TARGET_SECONDS)}"
    )
    report_getters("new connections each round", fresh)
    report_getters("connections kept open", kept)
    if whole is not None:
        print(f"whole network ({whole.routers} routers)")
        print(f"  up    {whole.up_seconds:6.1f} s")
        print(f"  down  {whole.down_seconds:6.1f} s")
    return {
        "default": default.__dict__,
        "getters_new_connections": {**fresh.__dict__, "ratio": fresh.ratio},
        "getters_kept_connections": {**kept.__dict__, "ratio": kept.ratio},
        "all": whole.__dict__ if whole else None,
    }


def someones_lab_is_up() -> bool:
    """Never someone's lab: a benchmark builds and removes its own. Says so when one is up."""
    leftovers = find_leftovers()
    if leftovers:
        print(
            f"a lab is up or left pieces ({describe_leftovers(leftovers)}): run `gigalis lab down`"
        )
    return bool(leftovers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab", description=__doc__)
    parser.add_argument("--all", action="store_true", help="also time the whole network")
    parser.add_argument("--rounds", type=int, default=5, help="getter rounds per runner (5)")
    options = parser.parse_args(argv)

    if someones_lab_is_up():
        return 1
    try:
        with inventory_database() as engine:
            default = measure_up_down(engine, None, "default")
            try:
                state = lab_up(engine, None)
                fresh = measure_getters(state, options.rounds, fresh=True)
                kept = measure_getters(state, options.rounds, fresh=False)
            finally:
                lab_down()
            whole = measure_up_down(engine, ["all"], "all") if options.all else None
    except BenchFailure as failure:
        print(f"benchmark step failed: {failure}", file=sys.stderr)
        return 1
    finally:
        lab_down()  # also after a failure or an interruption: what this run built

    figures = report(default, fresh, kept, whole)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"lab-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
