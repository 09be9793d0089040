"""One timed inventory load, in a process of its own so that its peak memory is the load's.

    python -m bench.load DATABASE_URL FOLDER

Runs the code path of ``gigalis inventory load`` (:func:`load_inventory` on an engine from
:func:`make_engine`, on a migrated database) and prints one JSON line: the seconds spent in
``load_inventory``, the process's peak resident memory, its peak before the load
(interpreter and imports) and the number of changes applied.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gigalis_nms.db import make_engine
from gigalis_nms.inventory.loader import load_inventory

ACTOR = "bench"


@dataclass(frozen=True)
class LoadFigures:
    seconds: float
    peak_rss_mib: float
    peak_before_mib: float
    changes: int
    applied: bool


def peak_rss_mib() -> float:
    """This process's peak resident set size, in MiB: ``VmHWM`` from /proc.

    Not ``ru_maxrss`` where /proc exists: Linux carries it over ``exec``, so a load started
    by a parent that once held 700 MB would report at least 700 MB, whatever it used itself.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    high_water = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(high_water.split()[1]) / 1024


def timed_load(database_url: str, folder: Path) -> LoadFigures:
    engine = make_engine(database_url)
    try:
        before = peak_rss_mib()
        start = time.perf_counter()
        result = load_inventory(engine, folder, actor=ACTOR)
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    return LoadFigures(
        seconds=round(seconds, 3),
        peak_rss_mib=round(peak_rss_mib(), 1),
        peak_before_mib=round(before, 1),
        changes=len(result.plan.changes),
        applied=result.applied,
    )


def main() -> None:
    database_url, folder = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(asdict(timed_load(database_url, folder))))


if __name__ == "__main__":
    main()
