"""The provisioning benchmark: 50 E-Lines provisioned over the lab's real routers, one job
per circuit, then all of them in one bulk job.

    .venv/bin/python -m bench.provisioning [--circuits N]

Needs root and the lab's packages (see lab/README.md). It loads the repository's inventory
into a throwaway SQLite database, builds the default lab, and makes N VLAN-based E-Lines of
100 Mb/s between one operator's hand-off ports at NTE1 and LRY1 (VLANs 2001…), then:

1. provisions them one by one, a job each (design, render, diff, commit and confirm on both
   end routers, over SSH), and times every job: the median per circuit (target: under 5 s)
   and the sum;
2. deprovisions them all in one job (timed, no target);
3. makes N new ones and provisions them in one bulk job, where each router is changed once
   for all of them: the wall time, and the ratio of the one-by-one sum to it (target: at
   least 4);
4. takes the lab down, whatever happened.

It refuses to start while a lab is up (it would be someone's). Prints the figures with their
targets and writes them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench import BenchFailure
from bench.lab import RESULTS, inventory_database, someones_lab_is_up, verdict
from gigalis_nms.db import session_scope
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import CircuitCreate, Device, Interface, Organisation
from gigalis_nms.lab.build import lab_down, lab_up
from gigalis_nms.provisioning.access import LabAccess
from gigalis_nms.provisioning.jobs import create_job
from gigalis_nms.provisioning.models import JobKind, JobState
from gigalis_nms.provisioning.run import run_job

MEDIAN_TARGET_SECONDS = 5.0
BULK_TARGET_RATIO = 4.0
OPERATOR = "SFR Business"  # hands off at both PoPs in the default lab
A_END = ("nte1-cr1", "eth11")
Z_END = ("lry1-cr1", "eth10")
FIRST_VLAN = 2001


def _port(engine: Engine, hostname: str, name: str) -> tuple[int, int]:
    with session_scope(engine, read_only=True) as session:
        device = session.exec(select(Device).where(col(Device.hostname) == hostname)).one()
        interface = session.exec(
            select(Interface).where(
                col(Interface.device_id) == device.id, col(Interface.name) == name
            )
        ).one()
    assert interface.id is not None
    return device.site_id, interface.id


def make_circuits(engine: Engine, prefix: str, count: int) -> list[str]:
    """``count`` reserved VLAN-based E-Lines, GIG-ETH-<prefix><nnnn>."""
    (a_site, a_port), (z_site, z_port) = _port(engine, *A_END), _port(engine, *Z_END)
    refs = [f"GIG-ETH-{prefix}{number:04d}" for number in range(1, count + 1)]
    with session_scope(engine, actor="bench") as session:
        operator = session.exec(
            select(Organisation.id).where(col(Organisation.name) == OPERATOR)
        ).one()
        for number, ref in enumerate(refs):
            body = CircuitCreate(
                ref=ref,
                operator_id=operator or 0,
                service_type=ServiceType.ETHERNET_ELINE,
                a_site_id=a_site,
                a_interface_id=a_port,
                a_vlan=FIRST_VLAN + number,
                z_site_id=z_site,
                z_interface_id=z_port,
                z_vlan=FIRST_VLAN + number,
                bandwidth_mbps=100,
                status=CircuitStatus.RESERVED,
            )
            service.create_object(session, service.CIRCUITS, body)
    return refs


def run(engine: Engine, access: LabAccess, kind: JobKind, refs: list[str]) -> float:
    """Seconds for one job over ``refs``, from its creation to its end; fails unless it
    succeeded."""
    started = time.perf_counter()
    with session_scope(engine, actor="bench") as session:
        job_id = create_job(session, kind, refs, actor="bench").id
    assert job_id is not None
    view = run_job(engine, job_id, access)
    seconds = time.perf_counter() - started
    if view.state is not JobState.SUCCEEDED:
        raise BenchFailure(f"job {job_id} ({kind} of {len(refs)} circuits) failed: {view.error}")
    return seconds


def measure(engine: Engine, access: LabAccess, count: int) -> dict[str, Any]:
    single_refs = make_circuits(engine, "90", count)
    per_circuit = [run(engine, access, JobKind.PROVISION, [ref]) for ref in single_refs]
    bulk_deprovision = run(engine, access, JobKind.DEPROVISION, single_refs)
    bulk_refs = make_circuits(engine, "91", count)
    bulk = run(engine, access, JobKind.PROVISION, bulk_refs)
    run(engine, access, JobKind.DEPROVISION, bulk_refs)
    one_by_one = sum(per_circuit)
    return {
        "circuits": count,
        "one_by_one_seconds": per_circuit,
        "one_by_one_total_seconds": one_by_one,
        "median_per_circuit_seconds": statistics.median(per_circuit),
        "bulk_seconds": bulk,
        "bulk_deprovision_seconds": bulk_deprovision,
        "ratio": one_by_one / bulk,
    }


def report(figures: dict[str, Any]) -> None:
    median, ratio = figures["median_per_circuit_seconds"], figures["ratio"]
    print(f"{figures['circuits']} VLAN-based E-Lines NTE1 - LRY1 over the default lab")
    print(
        f"  one job per circuit   median {median:6.2f} s per circuit   "
        f"target < {MEDIAN_TARGET_SECONDS:.0f} s   {verdict(median < MEDIAN_TARGET_SECONDS)}"
    )
    print(f"                        total  {figures['one_by_one_total_seconds']:6.1f} s")
    print(
        f"  one bulk job          total  {figures['bulk_seconds']:6.1f} s   "
        f"ratio {ratio:.1f}x   target >= {BULK_TARGET_RATIO:.0f}x   "
        f"{verdict(ratio >= BULK_TARGET_RATIO)}"
    )
    print(f"  bulk deprovision      total  {figures['bulk_deprovision_seconds']:6.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provisioning", description=__doc__)
    parser.add_argument("--circuits", type=int, default=50, help="circuits per run (50)")
    options = parser.parse_args(argv)
    if someones_lab_is_up():
        return 1
    try:
        with inventory_database() as engine:
            state = lab_up(engine, None)
            access = LabAccess(engine.url.render_as_string(hide_password=False), state)
            figures = measure(engine, access, options.circuits)
    except BenchFailure as failure:
        print(f"benchmark step failed: {failure}", file=sys.stderr)
        return 1
    finally:
        lab_down()  # also after a failure or an interruption: what this run built
    report(figures)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"provisioning-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
