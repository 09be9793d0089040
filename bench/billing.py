"""The billing benchmark: the monthly run over 10,000 circuits, then its PDFs.

    .venv/bin/python -m bench.billing [--sqlite] [--postgresql] [--quick] [--circuits N]
                                      [--month YYYY-MM] [--profile] [--seed N]

For each database (both unless one is named): write a synthetic month in bulk (Core inserts,
explicit ids; bench/billing_data.py): 20 operators with billing accounts, circuits in service
with their order items and subscriptions (most running all month, some activated, terminated
inside their commitment or changed during the month, a few IRUs) and the month's outages.
Then, in a process of its own (bench/billing_month.py), time the month's run as ``gigalis
billing run`` runs it: the drafts, the same run again (it must change nothing), the issuing
run; and the bare computation of the same lines, the baseline. Then render the issued
documents' PDFs with ``render_issued``, with one worker and with one per CPU, on an emptied
PDF table each time. Prints the figures with the target and writes them as JSON under
bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import BenchFailure
from bench.billing_data import BillingMonth, synthetic_month
from bench.billing_month import ComputeFigures, RenderFigures, RunFigures
from bench.databases import DATABASES, migrated_database, server_version, settle
from bench.monitoring import write_history
from bench.run import RESULTS, ROOT, WORKDIR, check_quiet, machine_facts, verdict
from gigalis_nms.billing.money import month_days
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.monitoring.calendar import PARIS
from gigalis_nms.monitoring.report import parse_month
from tests.postgres import PostgresUnavailable

FULL_CIRCUITS = 10_000
QUICK_CIRCUITS = 1_000
SEED = 20_261_205
COMPUTE_TARGET_SECONDS = 60.0  # each run of the month, without PDF rendering
BILLING_WORKDIR = WORKDIR / "billing"
PROFILE_TOP = 15


@dataclass
class DatabaseFigures:
    database: str
    version: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    write_seconds: float = 0.0
    compute: ComputeFigures | None = None
    renders: list[RenderFigures] = field(default_factory=list)
    profiles: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    error: str | None = None

    @property
    def runs(self) -> list[tuple[str, RunFigures]]:
        if self.compute is None:
            return []
        named = (
            ("drafts", self.compute.draft),
            ("again", self.compute.again),
            ("issue", self.compute.issue),
        )
        return [(name, run) for name, run in named if run is not None]

    @property
    def slowest_run(self) -> float | None:
        return max((run.seconds for _, run in self.runs), default=None)

    @property
    def passed(self) -> bool:
        slowest = self.slowest_run
        return slowest is not None and slowest < COMPUTE_TARGET_SECONDS and not self.problems

    @property
    def problems(self) -> list[str]:
        """What the runs did wrong: they are timed, and also checked."""
        compute = self.compute
        if compute is None:
            return []
        found = [f"the second run changed {what}" for what in compute.again_changed]
        found += compute.numbering_problems
        found += [
            f"the {name} run's subscription sync: {count} {what}"
            for name, run in self.runs
            for what, count in run.synced.items()
            if count
        ]
        found += [
            f"not billed: {failure}" for _, run in self.runs for failure in run.failed_operators
        ]
        if compute.draft is not None and compute.bare_lines != compute.draft.lines:
            found.append(
                f"the baseline computed {compute.bare_lines} lines, the run {compute.draft.lines}"
            )
        return found

    @property
    def ratio(self) -> float | None:
        compute = self.compute
        if compute is None or compute.draft is None or not compute.bare_seconds:
            return None
        return compute.draft.seconds / compute.bare_seconds

    @property
    def speed_up(self) -> float | None:
        """Serial wall time over parallel wall time, for the same documents."""
        if len(self.renders) < 2 or not self.renders[-1].seconds:
            return None
        return self.renders[0].seconds / self.renders[-1].seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "version": self.version,
            "rows_written_before": self.rows,
            "write_s": round(self.write_seconds, 1),
            "compute": asdict(self.compute) if self.compute else None,
            "slowest_run_s": self.slowest_run,
            "target_s": COMPUTE_TARGET_SECONDS,
            "passed": self.passed,
            "problems": self.problems,
            "ratio_drafts_to_bare": round(self.ratio, 2) if self.ratio else None,
            "renders": [asdict(render) for render in self.renders],
            "render_speed_up": round(self.speed_up, 2) if self.speed_up else None,
            "profiles": self.profiles,
            "error": self.error,
        }


# --- The steps, each in a process of its own -------------------------------------------------


def in_subprocess(arguments: list[str]) -> dict[str, Any]:
    """Run ``python -m bench.billing_month ARGUMENTS``; its JSON line."""
    command = [sys.executable, "-m", "bench.billing_month", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"{arguments[0]} failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compute_figures(values: dict[str, Any]) -> ComputeFigures:
    runs = {name: RunFigures(**values[name]) for name in ("draft", "again", "issue")}
    return ComputeFigures(**{**values, **runs})


def profile_summary(path: Path, top: int = PROFILE_TOP) -> dict[str, list[str]]:
    """Where the time went: the functions that spent most time themselves, and Gigalis's
    functions by the time spent in them and below, each with its share of the whole."""
    stats = pstats.Stats(str(path))
    entries = [
        (function, own, below)
        for function, (_, _, own, below, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    total = sum(own for _, own, _ in entries) or 1.0

    def line(function: tuple[str, int, str], seconds: float) -> str:
        where, number, name = function
        for marker in ("/gigalis_nms/", "/site-packages/", "/lib/python3.11/"):
            if marker in where:
                where = where.split(marker, 1)[1]
                break
        return f"{seconds:7.2f} s {seconds / total:6.1%}  {where}:{number}({name})"

    own_time = sorted(entries, key=lambda entry: entry[1], reverse=True)[:top]
    ours = [entry for entry in entries if "/gigalis_nms/" in entry[0][0]]
    cumulative = sorted(ours, key=lambda entry: entry[2], reverse=True)[:top]
    return {
        "total_s": [f"{total:.2f}"],
        "own_time": [line(function, own) for function, own, _ in own_time],
        "gigalis_cumulative": [line(function, below) for function, _, below in cumulative],
    }


def bench_database(
    kind: str, built: BillingMonth, arguments: argparse.Namespace, busy: list[str]
) -> DatabaseFigures:
    figures = DatabaseFigures(kind)
    BILLING_WORKDIR.mkdir(parents=True, exist_ok=True)
    profiles = {step: BILLING_WORKDIR / f"profile-{kind}-{step}.pstats" for step in ("run", "pdf")}
    try:
        with migrated_database(kind, BILLING_WORKDIR) as url:
            figures.version = server_version(url)
            print(f"[{kind}] writing {built.circuits:,} circuits and their month…", flush=True)
            start = time.perf_counter()
            figures.rows = write_history(url, built.history)
            figures.write_seconds = time.perf_counter() - start
            settle(url)

            check_quiet(f"{kind} monthly run", busy)
            print(f"[{kind}] timing the month's runs…", flush=True)
            step = ["compute", url, built.label, built.billing_day.isoformat()]
            if arguments.profile:
                step += ["--profile", str(profiles["run"])]
            figures.compute = compute_figures(in_subprocess(step))

            for workers in (1, os.cpu_count() or 1):
                check_quiet(f"{kind} PDFs, {workers} worker(s)", busy)
                print(f"[{kind}] rendering the PDFs with {workers} worker(s)…", flush=True)
                step = ["render", url, built.label, str(workers)]
                if arguments.profile and workers == 1:
                    step += ["--profile", str(profiles["pdf"])]
                figures.renders.append(RenderFigures(**in_subprocess(step)))
        if arguments.profile:
            figures.profiles = {step: profile_summary(path) for step, path in profiles.items()}
    except (BenchFailure, PostgresUnavailable) as failure:
        figures.error = str(failure)
        print(f"[{kind}] FAILED: {failure}", file=sys.stderr, flush=True)
    return figures


# --- The report -------------------------------------------------------------------------------


def describe(built: BillingMonth) -> list[str]:
    fates = built.fates
    return [
        f"Billing month {built.label}, billed on {built.billing_day}: {built.circuits:,} circuits "
        f"of {built.operators} operators, {built.subscriptions_in_month:,} subscriptions in "
        f"the month",
        f"  {fates['running']:,} in service all month, {fates['activated']:,} activated during "
        f"it (FAS), {fates['terminated']:,} terminated inside their commitment, "
        f"{fates['changed']:,} changed (two periods), {fates['iru']:,} IRUs; "
        f"{built.outages:,} outages",
    ]


def print_report(
    built: BillingMonth, results: list[DatabaseFigures], arguments: argparse.Namespace
) -> None:
    print()
    for text in describe(built):
        print(text)
    if built.circuits < FULL_CIRCUITS:
        print("(fewer circuits than the target is set for: a smoke check only)")
    for result in results:
        print(
            f"{result.database}: {result.version or '—'}, written in {result.write_seconds:.1f} s"
        )
    print()
    print(
        f"{'database':<11} {'drafts':>8} {'again':>8} {'issue':>8} {'peak MiB':>9} "
        f"{'documents':>9} {'lines':>7} {'bare':>7} {'ratio':>6} {'target':>8} {'result':>6}"
    )
    for result in results:
        compute = result.compute
        if compute is None or compute.draft is None:
            print(f"{result.database:<11} not measured: {result.error}")
            continue
        seconds = [f"{run.seconds:7.2f}s" for _, run in result.runs]
        peak = max(run.peak_rss_mib for _, run in result.runs)
        documents = sum(compute.draft.actions.values())
        ratio = f"{result.ratio:5.1f}x" if result.ratio else f"{'—':>6}"
        print(
            f"{result.database:<11} {' '.join(seconds)} {peak:9.0f} {documents:9} "
            f"{compute.draft.lines:7,} {compute.bare_seconds:6.2f}s {ratio} "
            f"{'<' + format(COMPUTE_TARGET_SECONDS, '.0f') + ' s':>8} "
            f"{verdict(result.passed):>6}"
        )
        if compute.profiled:
            print(f"{'':<11} (drafts timed under cProfile: not a figure to compare)")
        for problem in result.problems:
            print(f"{'':<11} PROBLEM: {problem}")
    print()
    print(
        f"{'database':<11} {'workers':>7} {'documents':>9} {'wall':>8} {'s/doc mean':>10} "
        f"{'s/doc max':>9} {'docs/s':>7} {'CPU busy':>8} {'speed-up':>8} {'ceiling':>7}"
    )
    for result in results:
        for render in result.renders:
            serial = render is result.renders[0]
            speed = "1.00x" if serial else f"{result.speed_up:.2f}x" if result.speed_up else "—"
            mean = render.seconds_per_document_mean or 0.0
            longest = render.seconds_per_document_max or 0.0
            busy = f"{render.cpu_busy_share:.0%}" if render.cpu_busy_share is not None else "—"
            ceiling = f"{render.ceiling:.2f}x" if render.ceiling else "—"
            print(
                f"{result.database:<11} {render.workers:7} {render.documents:9} "
                f"{render.seconds:7.1f}s {mean:9.2f}s {longest:8.2f}s "
                f"{render.documents / render.seconds if render.seconds else 0:7.2f} "
                f"{busy:>8} {speed:>8} {ceiling:>7}"
            )
            for failure in render.failed:
                print(f"{'':<11} NOT RENDERED: {failure}")
        if any(render.profiled for render in result.renders):
            print(f"{'':<11} (one worker timed under cProfile: the speed-up is overstated)")
    if arguments.profile:
        print_profiles(results)


def print_profiles(results: list[DatabaseFigures]) -> None:
    for result in results:
        for step, summary in result.profiles.items():
            what = "the drafts run" if step == "run" else "the PDFs, one worker"
            print(f"\n[{result.database}] cProfile of {what} ({summary['total_s'][0]} s):")
            print("  own time:")
            for text in summary["own_time"]:
                print(f"    {text}")
            print("  Gigalis functions, with what they call:")
            for text in summary["gigalis_cumulative"]:
                print(f"    {text}")


def write_json(
    built: BillingMonth,
    results: list[DatabaseFigures],
    arguments: argparse.Namespace,
    busy: list[str],
) -> str:
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "at": now.isoformat(timespec="seconds"),
        "machine": machine_facts(busy),
        "month": built.label,
        "billing_day": built.billing_day.isoformat(),
        "seed": arguments.seed,
        "circuits": built.circuits,
        "operators": built.operators,
        "fates": dict(built.fates),
        "subscriptions_in_month": built.subscriptions_in_month,
        "outages": built.outages,
        "target_s": COMPUTE_TARGET_SECONDS,
        "results": [result.as_json() for result in results],
    }
    path = RESULTS / f"billing-{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(path.relative_to(ROOT))


def last_closed_month(now: datetime) -> str:
    """The Paris month before the one ``now`` falls in."""
    paris = now.astimezone(PARIS)
    year, month = (paris.year, paris.month - 1) if paris.month > 1 else (paris.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite")
    parser.add_argument("--postgresql", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CIRCUITS:,} circuits")
    parser.add_argument("--circuits", type=int, default=None, help=f"({FULL_CIRCUITS:,})")
    parser.add_argument("--month", help="the month billed, YYYY-MM (the last one closed)")
    parser.add_argument("--profile", action="store_true", help="cProfile the drafts and PDFs")
    parser.add_argument("--seed", type=int, default=SEED)
    arguments = parser.parse_args(argv)
    if arguments.circuits is None:
        arguments.circuits = QUICK_CIRCUITS if arguments.quick else FULL_CIRCUITS
    if arguments.circuits < 20:
        parser.error("--circuits takes at least 20")
    arguments.month = arguments.month or last_closed_month(datetime.now(UTC))
    try:
        year, month = parse_month(arguments.month)
    except ValueError as error:  # InvalidInput is a ValueError
        parser.error(f"--month: {error}")
    if month_days(year, month)[1] >= datetime.now(PARIS).date():
        parser.error(f"--month: {arguments.month} is not over yet; a month is billed after it")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    chosen = [kind for kind in DATABASES if getattr(arguments, kind)] or list(DATABASES)
    year, month = parse_month(arguments.month)
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    print(f"building {arguments.circuits:,} circuits and their month {arguments.month}…")
    built = synthetic_month(arguments.circuits, year, month, catalogue, arguments.seed)
    busy: list[str] = []
    results = [bench_database(kind, built, arguments, busy) for kind in chosen]
    print_report(built, results, arguments)
    for warning in busy:
        print(f"warning: {warning}; figures are noisy")
    print(f"\nfigures written to {write_json(built, results, arguments, busy)}")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
