"""``GET /metrics``: the Prometheus exposition of :mod:`gigalis_nms.monitoring.exporter`.

Staff tokens only (admin, noc, viewer): the circuit info series name each circuit's
operator, commercial information an operator must not read of another. Prometheus sends the
token with ``authorization: {type: Bearer, credentials_file: …}`` in its scrape config.

The text is written here rather than by prometheus-client's ``generate_latest``: with
100,000 circuits a scrape holds over 400,000 series, and ``generate_latest`` formats each
one through several calls (sorting its labels, escaping names that need no escaping), 2 of
the 5 seconds a scrape took. The families of the exporter's rows
(:class:`~gigalis_nms.monitoring.monitored.SeriesFamily`) are written with one template
per family; any other family is left to ``generate_latest`` itself. The bytes are the same
as ``generate_latest``'s (tests/integration/test_metrics_exposition.py).
"""

from __future__ import annotations

import gc
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, repeat

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from gigalis_nms.api.deps import STAFF, RoleRequirement
from gigalis_nms.api.errors import error_responses
from gigalis_nms.monitoring.monitored import SeriesFamily

# Names the text format takes as they are; generate_latest escapes or quotes any other.
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
NEGATIVE_ZERO = array("d", [-0.0]).tobytes()
NEGATIVE_ZERO_SIZE = len(NEGATIVE_ZERO)

router = APIRouter(
    tags=["service"],
    dependencies=[Depends(RoleRequirement(STAFF, "read the metrics"))],
    responses=error_responses(401, 403),
)


@router.get("/metrics", response_class=Response)
def read_metrics(request: Request) -> Response:
    """Backbone links' capacity and held bandwidth, one info series per circuit, orders,
    jobs and notifications by state, in the Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)


def exposition(registry: Collector) -> bytes:
    """What ``generate_latest(registry)`` answers, byte for byte, written faster."""
    with cycle_collection_paused():
        return "".join(_family_texts(registry.collect())).encode("utf-8")


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """A scrape makes millions of objects (rows, strings, lists) and frees them at its end;
    meanwhile Python's cycle collector would run again and again over the growing heap, for
    garbage that reference counting frees anyway. Paused for the scrape (for the whole
    process: other requests' cycles wait a second), unless someone else had paused it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Only(Collector):
    """One family, as a registry for ``generate_latest``."""

    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> Iterator[Metric]:
        yield self._family


def _family_texts(families: Iterable[Metric]) -> Iterator[str]:
    for family in families:
        if isinstance(family, SeriesFamily) and _plainly_named(family):
            yield from _series_text(family)
        else:
            yield generate_latest(_Only(family)).decode("utf-8")


def _plainly_named(family: SeriesFamily) -> bool:
    """Names that generate_latest writes as they are (no escaping, no quoting)."""
    return METRIC_NAME.fullmatch(family.sample_name) is not None and all(
        LABEL_NAME.fullmatch(name) for name in family.label_names
    )


def _series_text(family: SeriesFamily) -> Iterator[str]:
    # The HELP and TYPE lines from prometheus-client itself, from the family without series.
    header = Metric(family.name, family.documentation, family.type)
    yield generate_latest(_Only(header)).decode("utf-8")
    if not family.values:
        return
    names, name = family.label_names, family.sample_name
    numbers = _number_texts(family.values)
    if len(names) == 1:  # most series: one f-string per line
        column = _escaped_column(family.columns[0])
        head = f'{name}{{{names[0]}="'
        yield "".join(
            [f'{head}{label}"}} {number}\n' for label, number in zip(column, numbers, strict=True)]
        )
        return
    # Otherwise each line is fixed text and the series' own pieces in turn, the labels
    # sorted by name as generate_latest sorts them: 'name{a="' a '",b="' b '"} ' value '\n'.
    pieces: list[Iterable[str]] = [repeat(name)]
    opening = "{"
    for index in sorted(range(len(names)), key=names.__getitem__):
        pieces += [repeat(f'{opening}{names[index]}="'), _escaped_column(family.columns[index])]
        opening = '",'
    pieces += [repeat('"} ' if names else " "), numbers, repeat("\n")]
    # repeat() never ends: the series end the lines.
    yield "".join(chain.from_iterable(zip(*pieces, strict=False)))


def _escaped_column(values: Sequence[str]) -> Sequence[str]:
    """Label values as the text format writes them: backslash, newline and double quote
    escaped, as generate_latest does. Looked for in the whole column at once: it is rare."""
    joined = "".join(values)
    if "\\" not in joined and "\n" not in joined and '"' not in joined:
        return values
    return [value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"") for value in values]


def _number_texts(values: list[float]) -> list[str]:
    """floatToGoString of each value, each distinct value written once: a scrape repeats 0
    and 1 hundreds of thousands of times.

    0, 0.0 and -0.0 are one key but not one text ("-0.0"): values are looked up by key only
    when no negative zero is among them."""
    if _negative_zero_in(values):
        return [floatToGoString(value) for value in values]
    known = {value: floatToGoString(value) for value in set(values)}
    return list(map(known.__getitem__, values))


def _negative_zero_in(values: list[float]) -> bool:
    """Whether a -0.0 is among ``values``: looked for in their bytes as doubles, without a
    Python step per value (a -0.0 equals 0, so no comparison can find it)."""
    try:
        doubles = array("d", values).tobytes()
    except (TypeError, OverflowError):  # not all plain numbers: say yes, the safe answer
        return True
    found = doubles.find(NEGATIVE_ZERO)
    while found != -1:
        if found % NEGATIVE_ZERO_SIZE == 0:  # a whole double, not the end and start of two
            return True
        found = doubles.find(NEGATIVE_ZERO, found + 1)
    return False
