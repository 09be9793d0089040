"""The scale benchmark: load a large synthetic network, then time the circuit list.

    .venv/bin/python -m bench.run [--sqlite] [--postgresql] [--quick] [--requests N]

For each database (both unless one is named): generate the network (cached in the temporary
folder), load it with ``gigalis inventory load``'s code path in a process of its own (time
and peak memory), load it again unchanged, then serve the API from uvicorn on loopback and
time pages of circuits against the bare SQL that fetches the same rows. Prints the figures
with the targets and writes them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import BenchFailure, generate
from bench.databases import DATABASES, migrated_database, server_version, settle
from bench.latency import (
    Timings,
    api_page_fetcher,
    count_circuits,
    random_offsets,
    sql_page_fetcher,
    time_side_by_side,
)
from bench.load import LoadFigures
from gigalis_nms.auth.models import Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.db import make_engine, session_scope
from tests.postgres import PostgresUnavailable, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LOAD_TARGET_SECONDS = 60.0
LOAD_TARGET_PEAK_MIB = 1024.0  # "1 GB", read as 1 GiB of peak resident memory
PAGE_TARGETS_MS = {100: 20.0, 1000: 100.0}  # page size → p50 target of the API
SERVER_START_SECONDS = 60.0
WORKDIR = Path(tempfile.gettempdir()) / "gigalis-bench"  # the network cache, SQLite, logs
BUSY_CPU_SHARE = 0.10  # other processes using more of the CPUs before a step are noted


@dataclass(frozen=True)
class PageFigures:
    limit: int
    api: Timings
    sql: Timings

    @property
    def ratio(self) -> float:
        return self.api.p50_ms / self.sql.p50_ms

    @property
    def target_ms(self) -> float:
        return PAGE_TARGETS_MS[self.limit]

    @property
    def passed(self) -> bool:
        return self.api.p50_ms < self.target_ms

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "requests": len(self.api.samples),
            "api_p50_ms": round(self.api.p50_ms, 2),
            "api_p99_ms": round(self.api.p99_ms, 2),
            "sql_p50_ms": round(self.sql.p50_ms, 2),
            "sql_p99_ms": round(self.sql.p99_ms, 2),
            "ratio_p50": round(self.ratio, 2),
            "target_p50_ms": self.target_ms,
            "passed": self.passed,
        }


@dataclass
class DatabaseFigures:
    database: str
    version: str = ""
    load: LoadFigures | None = None
    reload: LoadFigures | None = None
    pages: list[PageFigures] = field(default_factory=list)
    error: str | None = None

    @property
    def load_passed(self) -> bool:
        return (
            self.load is not None
            and self.load.seconds < LOAD_TARGET_SECONDS
            and self.load.peak_rss_mib < LOAD_TARGET_PEAK_MIB
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "version": self.version,
            "load": asdict(self.load) if self.load else None,
            "load_passed": self.load_passed,
            "reload_unchanged": asdict(self.reload) if self.reload else None,
            "pages": [page.as_json() for page in self.pages],
            "error": self.error,
        }


# --- the load -----------------------------------------------------------------------------


def network_folder(size: generate.NetworkSize, seed: int) -> Path:
    """Where the generated network is cached: named by size, seed and generator version."""
    digest = hashlib.sha256(Path(generate.__file__).read_bytes()).hexdigest()[:10]
    return generate.generate(WORKDIR / f"{size.label}-{seed}-{digest}", size, seed)


def load_in_subprocess(database_url: str, folder: Path) -> LoadFigures:
    command = [sys.executable, "-m", "bench.load", database_url, str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"the load failed: {done.stderr.strip()[-2000:]}")
    return LoadFigures(**json.loads(done.stdout.strip().splitlines()[-1]))


# --- the API ------------------------------------------------------------------------------


def bench_token(
    database_url: str,
    secret_key: str,
    *,
    role: Role = Role.NOC,
    organisation_id: int | None = None,
) -> str:
    engine = make_engine(database_url)
    try:
        with session_scope(engine, actor="bench") as session:
            _, plain = create_token(
                session,
                name="bench",
                role=role,
                organisation_id=organisation_id,
                secret_key=secret_key,
            )
    finally:
        engine.dispose()
    return plain


def _wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchFailure(f"the API server exited: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BenchFailure(f"the API server did not listen within {SERVER_START_SECONDS:.0f} s")


@contextmanager
def api_server(
    database_url: str,
    secret_key: str,
    workdir: Path,
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """uvicorn serving the API on a free loopback port; its base URL for the block.
    ``settings`` are more ``GIGALIS_*`` variables for the server."""
    port = free_port()
    log = workdir / "api-server.log"
    environment = {
        **os.environ,
        "GIGALIS_DATABASE_URL": database_url,
        "GIGALIS_SECRET_KEY": secret_key,
        "GIGALIS_ENVIRONMENT": "test",
        **(settings or {}),
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def time_pages(database_url: str, workdir: Path, requests: int, seed: int) -> list[PageFigures]:
    secret_key = secrets.token_urlsafe(32)
    token = bench_token(database_url, secret_key)
    engine = make_engine(database_url)
    pages = []
    try:
        total = count_circuits(engine)
        with (
            api_server(database_url, secret_key, workdir) as base_url,
            httpx.Client(
                base_url=base_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
                trust_env=False,  # loopback only: never through a proxy from the environment
            ) as client,
        ):
            for limit in PAGE_TARGETS_MS:
                offsets = random_offsets(total, limit, requests, seed + limit)
                fetchers = (api_page_fetcher(client, limit), sql_page_fetcher(engine, limit))
                api, sql = time_side_by_side(fetchers, limit, offsets)
                pages.append(PageFigures(limit, api, sql))
    finally:
        engine.dispose()
    return pages


# --- one database, then the report --------------------------------------------------------


def bench_database(
    kind: str, folder: Path, arguments: argparse.Namespace, busy: list[str]
) -> DatabaseFigures:
    figures = DatabaseFigures(kind)
    try:
        with migrated_database(kind, WORKDIR) as url:
            figures.version = server_version(url)
            check_quiet(f"{kind} load", busy)
            print(f"[{kind}] loading {folder.name}…", flush=True)
            figures.load = load_in_subprocess(url, folder)
            print(f"[{kind}] loading it again, unchanged…", flush=True)
            figures.reload = load_in_subprocess(url, folder)
            settle(url)
            check_quiet(f"{kind} list", busy)
            print(f"[{kind}] timing pages of circuits…", flush=True)
            figures.pages = time_pages(url, WORKDIR, arguments.requests, arguments.seed)
    except (BenchFailure, PostgresUnavailable, httpx.HTTPError) as failure:
        figures.error = str(failure)
        print(f"[{kind}] FAILED: {failure}", file=sys.stderr, flush=True)
    return figures


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def print_report(size: generate.NetworkSize, results: list[DatabaseFigures]) -> None:
    print()
    print(f"Network: {size.sites} sites, {size.cables} cables, {size.circuits} circuits")
    if size != generate.FULL:
        print("(a smaller network than the targets are set for: a smoke check only)")
    for result in results:
        print(f"{result.database}: {result.version or '—'}")
    print()
    print(
        f"{'database':<11} {'load s':>8} {'peak RSS MiB':>12} {'reload s':>9} "
        f"{'target':>18} {'result':>6}"
    )
    for result in results:
        if result.load is None:
            print(f"{result.database:<11} {'—':>8} {'—':>12} {'—':>9} {'':>18} {'FAILED':>6}")
            continue
        reload = f"{result.reload.seconds:9.1f}" if result.reload else f"{'—':>9}"
        target = f"<{LOAD_TARGET_SECONDS:.0f} s, <{LOAD_TARGET_PEAK_MIB:.0f} MiB"
        print(
            f"{result.database:<11} {result.load.seconds:8.1f} {result.load.peak_rss_mib:12.0f} "
            f"{reload} {target:>18} {verdict(result.load_passed):>6}"
        )
    print()
    print(
        f"{'database':<11} {'page':>5} {'API p50':>9} {'API p99':>9} {'SQL p50':>9} "
        f"{'ratio p50':>9} {'target p50':>10} {'result':>6}"
    )
    for result in results:
        for page in result.pages:
            print(
                f"{result.database:<11} {page.limit:>5} {page.api.p50_ms:7.1f}ms "
                f"{page.api.p99_ms:7.1f}ms {page.sql.p50_ms:7.1f}ms {page.ratio:8.1f}x "
                f"{page.target_ms:8.0f}ms {verdict(page.passed):>6}"
            )


def cpu_used_by_others(seconds: float = 2.0) -> float | None:
    """The share of the CPUs busy over ``seconds`` while the benchmark itself waits: other
    work, whose weight the next figures will carry. None without /proc/stat."""

    def busy_and_total() -> tuple[int, int]:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = ticks[3] + ticks[4]  # idle and waiting for I/O
        return sum(ticks) - idle, sum(ticks)

    try:
        busy_before, total_before = busy_and_total()
        time.sleep(seconds)
        busy_after, total_after = busy_and_total()
    except OSError:
        return None
    return (busy_after - busy_before) / max(1, total_after - total_before)


def machine_facts(busy: list[str]) -> dict[str, object]:
    """What the figures were measured on, with the warnings of a busy machine."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "busy_warnings": busy,
    }


def check_quiet(step: str, busy: list[str]) -> None:
    """Note, on screen and in the results, when other work keeps the CPUs busy."""
    share = cpu_used_by_others()
    if share is not None and share > BUSY_CPU_SHARE:
        warning = f"{step}: other processes used {share:.0%} of the CPUs just before"
        print(f"warning: {warning}; figures will be noisy", flush=True)
        busy.append(warning)


def write_json(
    size: generate.NetworkSize, seed: int, results: list[DatabaseFigures], busy: list[str]
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "at": now.isoformat(timespec="seconds"),
        "machine": machine_facts(busy),
        "network": {**asdict(size), "seed": seed},
        "targets": {
            "load_seconds": LOAD_TARGET_SECONDS,
            "load_peak_rss_mib": LOAD_TARGET_PEAK_MIB,
            "page_p50_ms": PAGE_TARGETS_MS,
        },
        "results": [result.as_json() for result in results],
    }
    path = RESULTS / f"{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite")
    parser.add_argument("--postgresql", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="a network ten times smaller")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page size")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    chosen = [kind for kind in DATABASES if getattr(arguments, kind)] or list(DATABASES)
    size = generate.QUICK if arguments.quick else generate.FULL
    print(f"generating the network ({size.label}, seed {arguments.seed}) or reusing it…")
    folder = network_folder(size, arguments.seed)
    busy: list[str] = []
    results = [bench_database(kind, folder, arguments, busy) for kind in chosen]
    print_report(size, results)
    for warning in busy:
        print(f"warning: {warning}; figures are noisy")
    written = write_json(size, arguments.seed, results, busy)
    print(f"\nfigures written to {written.relative_to(ROOT)}")
    failed = any(result.error for result in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
