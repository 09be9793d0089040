"""The timed parts of ``bench.billing``, each in a process of its own so that its peak memory
is its own (``VmHWM``, interpreter and imports included).

    python -m bench.billing_month compute DATABASE_URL YYYY-MM TODAY [--profile FILE]
    python -m bench.billing_month render DATABASE_URL YYYY-MM WORKERS [--profile FILE]

``compute`` runs the month as ``gigalis billing run`` does (``run_month`` in one
transaction, committed), three times: the drafts, the same run again (which must change
nothing), then ``--issue``; then the bare computation of the same lines in memory, the
baseline. ``render`` deletes every stored PDF, then renders the month's issued documents with
``render_issued`` in ``WORKERS`` processes. Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.load import peak_rss_mib
from gigalis_nms.audit import AuditEntry
from gigalis_nms.billing.lines import credit_lines, invoice_lines
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingDocumentPdf,
    BillingLine,
    DocumentKind,
    DocumentState,
    Subscription,
)
from gigalis_nms.billing.money import month_days
from gigalis_nms.billing.run import RunReport, lines_fingerprint, run_month
from gigalis_nms.billing.subscriptions import subscriptions_overlapping
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.types import table_of
from gigalis_nms.monitoring.models import SlaResult
from gigalis_nms.monitoring.report import month_report, parse_month, stored_results

ACTOR = "bench"
DOCUMENT = table_of(BillingDocument)
LINE = table_of(BillingLine)
PDF = table_of(BillingDocumentPdf)
# The tables a run writes: a run with nothing to do must leave each as it found it.
WRITTEN = (
    DOCUMENT,
    LINE,
    table_of(SlaResult),
    table_of(Subscription),
    table_of(AuditEntry),
)


@dataclass(frozen=True)
class RunFigures:
    """One ``run_month`` and its commit."""

    seconds: float
    peak_rss_mib: float  # the process's peak so far
    actions: dict[str, int]  # documents by what the run did to them
    lines: int  # lines of the documents the run reports
    failed_operators: list[str]
    # What the run's subscription sync did and found: nothing, when the month's data holds
    # what billing itself would have written.
    synced: dict[str, int]


@dataclass
class ComputeFigures:
    peak_before_mib: float
    operators: int = 0
    draft: RunFigures | None = None
    again: RunFigures | None = None
    again_changed: list[str] = field(default_factory=list)  # must stay empty
    issue: RunFigures | None = None
    issued_numbers: dict[str, list[str]] = field(default_factory=dict)  # series → first, last
    numbering_problems: list[str] = field(default_factory=list)  # must stay empty
    bare_seconds: float = 0.0
    bare_lines: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # after the issuing run
    penalties: int = 0  # SLA results with a penalty
    invoiced_net: str = "0"
    credited_net: str = "0"
    profiled: bool = False


@dataclass(frozen=True)
class RenderFigures:
    workers: int
    documents: int
    stored: int
    seconds: float
    seconds_per_document_mean: float | None
    seconds_per_document_max: float | None
    failed: list[str]
    cpu_busy_share: float | None  # of all the machine's CPUs, during the rendering
    pdf_bytes_mean: int
    peak_rss_mib: float  # this process's: with workers, theirs is not counted
    profiled: bool = False  # timed under cProfile: slower than it is
    ceiling: float | None = None  # parallel_ceiling(workers) just before, with workers


# --- The month's runs -------------------------------------------------------------------------


def timed_run(
    engine: Engine,
    catalogue: Catalogue,
    month: str,
    today: date,
    *,
    issue: bool,
    profile: cProfile.Profile | None = None,
) -> RunFigures:
    year, number = parse_month(month)
    start = time.perf_counter()
    if profile is not None:
        profile.enable()
    with session_scope(engine, actor=ACTOR) as session:
        report = run_month(session, catalogue, year, number, issue=issue, actor=ACTOR, today=today)
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - start
    return RunFigures(
        seconds=round(seconds, 3),
        peak_rss_mib=round(peak_rss_mib(), 1),
        actions=_actions(report),
        lines=sum(outcome.lines for run in report.operators for outcome in run.documents),
        failed_operators=[f"{run.operator}: {run.error}" for run in report.failed],
        synced={
            "opened": report.subscriptions_opened,
            "closed": report.subscriptions_closed,
            "unpriced": len(report.unpriced),
            "mismatched": len(report.mismatched),
        },
    )


def _actions(report: RunReport) -> dict[str, int]:
    counted = Counter(
        f"{outcome.kind.value} {outcome.action.value}"
        for run in report.operators
        for outcome in run.documents
    )
    return dict(sorted(counted.items()))


def written_state(engine: Engine) -> dict[str, str]:
    """What a run may have written: each table's row count and largest id, and a digest of
    the documents (state, number, fingerprint, totals, when computed)."""
    state: dict[str, str] = {}
    with engine.connect() as connection:
        for table in WRITTEN:
            count, top = connection.execute(
                sa.select(sa.func.count(), sa.func.max(table.c.id))
            ).one()
            state[table.name] = f"{count} rows, last id {top}"
        documents = connection.execute(
            sa.select(
                DOCUMENT.c.id,
                DOCUMENT.c.state,
                DOCUMENT.c.number,
                DOCUMENT.c.fingerprint,
                DOCUMENT.c.total_gross,
                DOCUMENT.c.computed_at,
                DOCUMENT.c.buyer,
            ).order_by(DOCUMENT.c.id)
        ).all()
        results = connection.execute(
            sa.select(sa.func.max(table_of(SlaResult).c.computed_at))
        ).scalar()
    digest = hashlib.sha256(repr(documents).encode()).hexdigest()[:16]
    state["billing_document contents"] = digest
    state["sla_result last computed"] = str(results)
    return state


def changed_between(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [
        f"{name}: {before[name]} → {after[name]}" for name in before if before[name] != after[name]
    ]


def numbering(engine: Engine) -> tuple[dict[str, list[str]], list[str]]:
    """Each series' first and last number, and what breaks continuity: a draft left, a gap,
    a credit note without its invoice's number."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                DOCUMENT.c.kind,
                DOCUMENT.c.state,
                DOCUMENT.c.sequence,
                DOCUMENT.c.number,
                DOCUMENT.c.invoice_number,
            ).order_by(DOCUMENT.c.kind, DOCUMENT.c.sequence)
        ).all()
    numbers: dict[str, list[str]] = {}
    problems = []
    for kind in DocumentKind:
        series = [row for row in rows if row.kind == kind]
        if any(row.state != DocumentState.ISSUED for row in series):
            problems.append(f"{kind.value}: drafts left after issuing")
        sequences = [row.sequence for row in series]
        if sequences != list(range(1, len(series) + 1)):
            problems.append(f"{kind.value}: numbers are not 1 to {len(series)}")
        if kind is DocumentKind.CREDIT_NOTE and any(not row.invoice_number for row in series):
            problems.append("a credit note names no invoice number")
        if series:
            numbers[kind.value] = [series[0].number, series[-1].number]
    return numbers, problems


def bare_month(engine: Engine, catalogue: Catalogue, month: str) -> tuple[float, int]:
    """The baseline: what the run cannot avoid, with nothing written. The month's SLA for
    every circuit (one report), the subscriptions and stored SLA results of the month read
    in one query each, and every operator's lines and fingerprint computed in memory."""
    year, number = parse_month(month)
    first, last = month_days(year, number)
    start = time.perf_counter()
    with session_scope(engine, read_only=True) as session:
        month_report(session, catalogue, year, number)
        periods = subscriptions_overlapping(session, first, last)
        results = stored_results(session, month)
    operators = {period.operator_id for period in periods} | {r.operator_id for r in results}
    lines = 0
    for operator in sorted(operators):
        own = [period for period in periods if period.operator_id == operator]
        places = {period.circuit_ref: period.departement for period in own}
        credits = [result for result in results if result.operator_id == operator]
        for drafted in (
            invoice_lines(own, catalogue, year, number),
            credit_lines(credits, places),
        ):
            lines_fingerprint(drafted, catalogue.vat_rate)
            lines += len(drafted)
    return time.perf_counter() - start, lines


def totals(engine: Engine) -> tuple[int, str, str, dict[str, int]]:
    """Penalties stored, the net totals invoiced and credited, and table sizes."""
    results = table_of(SlaResult)
    with engine.connect() as connection:
        penalties = connection.execute(
            sa.select(sa.func.count()).where(results.c.penalty > 0)
        ).scalar_one()
        sums = dict(
            connection.execute(
                sa.select(DOCUMENT.c.kind, sa.func.sum(DOCUMENT.c.total_net)).group_by(
                    DOCUMENT.c.kind
                )
            ).all()
        )
        rows = {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in (*WRITTEN, PDF)
        }
    invoiced = sums.get(DocumentKind.INVOICE) or sums.get("invoice") or 0
    credited = sums.get(DocumentKind.CREDIT_NOTE) or sums.get("credit_note") or 0
    return penalties, str(invoiced), str(credited), rows


def compute(
    database_url: str, month: str, today: date, profile_path: Path | None
) -> ComputeFigures:
    figures = ComputeFigures(peak_before_mib=round(peak_rss_mib(), 1))
    catalogue = load_catalogue(REPOSITORY_CATALOGUE)
    engine = make_engine(database_url)
    try:
        profile = cProfile.Profile() if profile_path is not None else None
        figures.profiled = profile is not None
        figures.draft = timed_run(engine, catalogue, month, today, issue=False, profile=profile)
        if profile is not None and profile_path is not None:
            profile.dump_stats(str(profile_path))

        before = written_state(engine)
        figures.again = timed_run(engine, catalogue, month, today, issue=False)
        figures.again_changed = changed_between(before, written_state(engine))

        figures.issue = timed_run(engine, catalogue, month, today, issue=True)
        figures.issued_numbers, figures.numbering_problems = numbering(engine)

        figures.bare_seconds, figures.bare_lines = bare_month(engine, catalogue, month)
        figures.bare_seconds = round(figures.bare_seconds, 3)
        figures.penalties, figures.invoiced_net, figures.credited_net, figures.rows = totals(engine)
        with engine.connect() as connection:
            figures.operators = connection.execute(
                sa.select(sa.func.count(sa.distinct(DOCUMENT.c.operator_id)))
            ).scalar_one()
    finally:
        engine.dispose()
    return figures


# --- Rendering --------------------------------------------------------------------------------


SPIN_STEPS = 10_000_000  # about half a second of one CPU here


def spin(steps: int = SPIN_STEPS) -> float:
    """Seconds to run a fixed loop of pure Python: the same work whatever the machine does."""
    start = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step * step
    return time.perf_counter() - start


def parallel_ceiling(workers: int) -> float:
    """The speed-up this machine allows ``workers`` processes of pure computation right now:
    ``workers`` times the loop's time alone over its slowest time with ``workers`` copies
    running at once. Two free CPUs give about 2; CPUs shared with other work, less."""
    alone = spin()
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        together = pool.map(spin, [SPIN_STEPS] * workers)
    return workers * alone / max(together)


def cpu_ticks() -> tuple[int, int] | None:
    """Busy and total ticks of all CPUs so far, from /proc/stat; None without it."""
    try:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    except OSError:
        return None
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def render(
    database_url: str, month: str, workers: int, profile_path: Path | None = None
) -> RenderFigures:
    """Every stored PDF deleted, then the month's issued documents rendered and stored.
    ``profile_path`` gets cProfile's statistics of this process (with one worker, the
    rendering itself; with more, only the waiting for them)."""
    # Imported here: WeasyPrint (50 MiB) would count in the monthly run's peak otherwise.
    from gigalis_nms.billing.documents import render_issued  # noqa: PLC0415

    engine = make_engine(database_url)
    profile = cProfile.Profile() if profile_path is not None else None
    try:
        with session_scope(engine, actor=ACTOR) as session:
            session.execute(sa.delete(PDF))
        ceiling = round(parallel_ceiling(workers), 2) if workers > 1 else None
        before = cpu_ticks()
        if profile is not None:
            profile.enable()
        report = render_issued(engine, month=month, workers=workers)
        if profile is not None and profile_path is not None:
            profile.disable()
            profile.dump_stats(str(profile_path))
        after = cpu_ticks()
        with engine.connect() as connection:
            size = connection.execute(sa.select(sa.func.avg(sa.func.length(PDF.c.pdf)))).scalar()
    finally:
        engine.dispose()
    busy = None
    if before is not None and after is not None:
        busy = round((after[0] - before[0]) / max(1, after[1] - before[1]), 3)
    return RenderFigures(
        workers=report.workers,
        documents=report.documents,
        stored=report.stored,
        seconds=report.seconds,
        seconds_per_document_mean=report.seconds_per_document_mean,
        seconds_per_document_max=report.seconds_per_document_max,
        failed=[f"{failure.document}: {failure.error}" for failure in report.failed],
        cpu_busy_share=busy,
        pdf_bytes_mean=round(float(size or 0)),
        peak_rss_mib=round(peak_rss_mib(), 1),
        profiled=profile is not None,
        ceiling=ceiling,
    )


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    computing = steps.add_parser("compute")
    computing.add_argument("url")
    computing.add_argument("month")
    computing.add_argument("today", type=date.fromisoformat)
    computing.add_argument("--profile", type=Path, help="write cProfile stats of the drafts here")
    rendering = steps.add_parser("render")
    rendering.add_argument("url")
    rendering.add_argument("month")
    rendering.add_argument("workers", type=int)
    rendering.add_argument("--profile", type=Path, help="write cProfile stats here")
    return parser.parse_args(argv)


def main() -> None:
    arguments = parse_arguments()
    result: Any
    if arguments.step == "compute":
        result = compute(arguments.url, arguments.month, arguments.today, arguments.profile)
    else:
        result = render(arguments.url, arguments.month, arguments.workers, arguments.profile)
    print(json.dumps(asdict(result)))


if __name__ == "__main__":  # spawned rendering workers import this module again
    main()
