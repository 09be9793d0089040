"""Latency of one page of circuits, through the API and as bare SQL.

The baseline is what the list endpoint cannot avoid: the ``count(*)`` it reports and one
``SELECT`` of the circuit table's columns ``ORDER BY id LIMIT … OFFSET …``, run with
SQLAlchemy Core on a pooled connection of the same engine settings. The API's figure is the
time from sending the request to having read the whole response body, over a kept-alive
HTTP connection to a uvicorn server on loopback. Both fetch the same random offsets, in
turn: API, SQL, API, SQL…
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench import BenchFailure
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.models import Circuit

CIRCUITS_PATH = "/api/v1/circuits"
WARM_UP_REQUESTS = 20
CIRCUIT = table_of(Circuit)
# Fetches the page at an offset; returns how many circuits it held.
PageFetcher = Callable[[int], int]


@dataclass(frozen=True)
class Timings:
    """Seconds per request, in the order they were made."""

    samples: tuple[float, ...]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p99_ms(self) -> float:
        """Nearest-rank 99th percentile: with 200 samples, the second slowest."""
        ordered = sorted(self.samples)
        return ordered[math.ceil(0.99 * len(ordered)) - 1] * 1000


def random_offsets(total: int, limit: int, count: int, seed: int) -> list[int]:
    """``count`` offsets spread over the whole table, each leaving a full page."""
    rng = random.Random(seed)
    return [rng.randrange(0, max(1, total - limit + 1)) for _ in range(count)]


def count_circuits(engine: Engine) -> int:
    with engine.connect() as connection:
        count = sa.select(sa.func.count()).select_from(CIRCUIT)
        return int(connection.execute(count).scalar_one())


def sql_page_fetcher(engine: Engine, limit: int) -> PageFetcher:
    """The baseline: the count and the page, as bare Core statements on a pooled connection."""
    count = sa.select(sa.func.count()).select_from(CIRCUIT)

    def fetch_page(offset: int) -> int:
        page = sa.select(CIRCUIT).order_by(CIRCUIT.c.id).limit(limit).offset(offset)
        with engine.connect() as connection:
            connection.execute(count).scalar_one()
            return len(connection.execute(page).mappings().all())

    return fetch_page


def api_page_fetcher(client: httpx.Client, limit: int) -> PageFetcher:
    """The list endpoint; the body is read whole but parsed only to count its items."""

    def fetch_page(offset: int) -> int:
        response = client.get(CIRCUITS_PATH, params={"limit": limit, "offset": offset})
        response.raise_for_status()
        return response.content.count(b'"ref":')

    return fetch_page


def time_side_by_side(
    fetchers: tuple[PageFetcher, PageFetcher], limit: int, offsets: list[int]
) -> tuple[Timings, Timings]:
    """Both ways of fetching each page, one right after the other, so that whatever else the
    machine does weighs on both alike."""
    for offset in offsets[:WARM_UP_REQUESTS]:
        for fetch_page in fetchers:
            fetch_page(offset)
    samples: tuple[list[float], list[float]] = ([], [])
    for offset in offsets:
        for fetch_page, timings in zip(fetchers, samples, strict=True):
            start = time.perf_counter()
            rows = fetch_page(offset)
            timings.append(time.perf_counter() - start)
            if rows != limit:
                raise BenchFailure(f"a page at offset {offset} held {rows} circuits, not {limit}")
    return Timings(tuple(samples[0])), Timings(tuple(samples[1]))
