"""``/metrics`` writes the Prometheus text itself (``gigalis_nms.api.metrics.exposition``)
instead of prometheus-client's ``generate_latest``, for speed: the bytes must be the same.

Checked on hand-made families that reach every corner of the format (escaped label values,
labels out of order, -0.0, NaN, infinities, large integers, empty families, families of
prometheus-client's own classes), and on the exporter's families read from a database with
circuits up, down, on protection, in and out of a maintenance window (both databases), whose
values are also checked by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from gigalis_nms.api.metrics import exposition
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.monitoring import exporter
from gigalis_nms.monitoring.exporter import GigalisCollector
from gigalis_nms.monitoring.models import (
    CircuitState,
    FailingKind,
    Incident,
    IncidentCircuit,
    MaintenanceWindow,
    ObservedState,
    SubjectKind,
)
from gigalis_nms.monitoring.monitored import SeriesFamily
from gigalis_nms.monitoring.sla import OutageCause
from tests.integration.ordering_support import (
    build_network,
    item,
    items_of,
    order_body,
    place_order,
)

# A Wednesday, 13:00 in Paris: inside business hours, the month of November well begun.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


class Families(Collector):
    """Families already made, as a registry: both writers read the very same ones."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def assert_written_alike(families: list[Metric]) -> str:
    ours, theirs = exposition(Families(families)), generate_latest(Families(families))
    assert ours.decode("utf-8").splitlines() == theirs.decode("utf-8").splitlines()
    assert ours == theirs
    return ours.decode("utf-8")


# --- hand-made families -------------------------------------------------------------------

AWKWARD_LABELS = (
    "GIG-ETH-000001",
    'a "quoted" name',
    "back\\slash",
    "two\nlines",
    "Opérateur Télécom",
    "",
    "{braces} and %s",
)


def awkward_gauge() -> SeriesFamily:
    family = SeriesFamily(
        "gigalis_test_seconds",
        'Help with a \\ backslash,\na newline and "quotes".',
        "gauge",
        ["circuit"],
    )
    values = (0, -0.0, 0.0, 1, 10_000_000_000, math.nan, math.inf, -math.inf, 0.1, 1e-7)
    for number, value in enumerate(values):
        family.add((AWKWARD_LABELS[number % len(AWKWARD_LABELS)] + str(number),), value)
    family.add(("big float",), 123_456_789.125)
    family.add(("decimal",), Decimal("2.50"))  # type: ignore[arg-type]  # as the database may give
    return family


def test_series_families_are_written_byte_for_byte_as_generate_latest_writes_them() -> None:
    info = SeriesFamily(
        "gigalis_test", "Info, labels not in name order.", "info", ["zeta", "alpha", "mid"]
    )
    info.add(("z", 'a"b', "m\\n"), 1)
    info.add(("z2", "", "line\nbreak"), 1)
    counter = SeriesFamily("gigalis_test_bytes", "Bytes sent.", "counter", ["link", "direction"])
    counter.add(("BL-1", "a_to_z"), 10**15)
    counter.add(("BL-1", "z_to_a"), 0)
    whole = SeriesFamily("gigalis_test_up", "Integers only.", "gauge", ["device"])
    for device, value in (("r1", 1), ("r2", 0), ("r3", 1)):
        whole.add((device,), value)
    mixed = SeriesFamily("gigalis_test_mixed", "Integers and floats, no -0.0.", "gauge", ["c"])
    for label, value in (("a", 0), ("b", 0.0), ("c", 1), ("d", 1.0), ("e", 0.5), ("f", 0)):
        mixed.add((label,), value)
    no_labels = SeriesFamily("gigalis_test_ratio", "No label at all.", "gauge", [])
    no_labels.add((), 0.25)
    empty = SeriesFamily("gigalis_test_none", "Nothing yet.", "gauge", ["circuit"])

    plain = GaugeMetricFamily("gigalis_test_plain", "prometheus-client's own.", labels=["state"])
    plain.add_metric(["up"], 3)
    histogram = HistogramMetricFamily(
        "gigalis_test_latency_seconds",
        "Left to generate_latest.",
        buckets=[("1.0", 2), ("+Inf", 3)],
        sum_value=2.5,
    )
    families: list[Metric] = [
        awkward_gauge(),
        info,
        counter,
        whole,
        no_labels,
        empty,
        plain,
        histogram,
    ]

    text = assert_written_alike(families)

    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    [first, second] = parsed["gigalis_test_info"].samples
    assert first.name == "gigalis_test_info"
    assert first.labels == {"zeta": "z", "alpha": 'a"b', "mid": "m\\n"}
    assert second.labels["mid"] == "line\nbreak"
    assert [s.value for s in parsed["gigalis_test_bytes"].samples] == [1e15, 0]
    assert 'gigalis_test_info{alpha="a\\"b",mid="m\\\\n",zeta="z"} 1.0\n' in text
    assert 'gigalis_test_seconds{circuit="back\\\\slash2"} 0.0\n' in text
    assert 'gigalis_test_seconds{circuit="a \\"quoted\\" name1"} -0.0\n' in text
    assert 'gigalis_test_seconds{circuit="Opérateur Télécom4"} 1e+10\n' in text
    assert "gigalis_test_ratio 0.25\n" in text


def test_a_series_family_gives_the_samples_prometheus_client_families_give() -> None:
    gauge = SeriesFamily("gigalis_g", "G.", "gauge", ["circuit"])
    theirs_gauge = GaugeMetricFamily("gigalis_g", "G.", labels=["circuit"])
    info = SeriesFamily("gigalis_i", "I.", "info", ["circuit", "operator"])
    theirs_info = InfoMetricFamily("gigalis_i", "I.", labels=["circuit"])
    counter = SeriesFamily("gigalis_c", "C.", "counter", ["link"])
    theirs_counter = CounterMetricFamily("gigalis_c", "C.", labels=["link"])
    bare = SeriesFamily("gigalis_b", "B.", "gauge", [])
    theirs_bare = GaugeMetricFamily("gigalis_b", "B.", value=0.5)
    bare.add((), 0.5)
    for ref, value in (("GIG-ETH-000001", 0), ("GIG-ETH-000002", 12.5)):
        gauge.add((ref,), value)
        theirs_gauge.add_metric([ref], value)
        info.add((ref, "Opérateur A"), 1)
        theirs_info.add_metric([ref], {"operator": "Opérateur A"})
        counter.add((ref,), value)
        theirs_counter.add_metric([ref], value)

    assert gauge == theirs_gauge
    assert info == theirs_info
    assert counter == theirs_counter
    assert bare == theirs_bare
    assert generate_latest(Families([gauge, info, counter])) == generate_latest(
        Families([theirs_gauge, theirs_info, theirs_counter])
    )
    with pytest.raises(ValueError, match="gigalis_g: add series with add"):
        gauge.samples = theirs_gauge.samples
    with pytest.raises(ValueError, match="gigalis_g: one column per label"):
        gauge.set_series([["GIG-ETH-000003"]], [1, 0])


# --- the exporter's families, from a database -------------------------------------------


@dataclass(frozen=True)
class Followed:
    down: str  # standard class (business hours, GTR 8 h): an outage under way since 10:00
    protected: str  # premium class, protected, on its protection path; planned work earlier


def _ordered(engine: Engine, offer: str, operator: int) -> int:
    made = place_order(engine, order_body(item(offer)), tenant=operator)
    assert made.order.id is not None
    [ordered] = items_of(engine, made.order.id)
    assert ordered.circuit_id is not None
    return ordered.circuit_id


@pytest.fixture
def followed(engine: Engine) -> Followed:
    network = build_network(engine, capacity_mbps=20_000)
    down = _ordered(engine, "eline-100m", network.operator_a)
    protected = _ordered(engine, "eline-10g", network.operator_b)
    with session_scope(engine, actor="test:poller") as session:
        refs = {}
        for circuit_id in (down, protected):
            circuit = session.get(Circuit, circuit_id)
            assert circuit is not None
            circuit.status = CircuitStatus.ACTIVE
            circuit.protected = circuit_id == protected
            session.add(circuit)
            refs[circuit_id] = circuit.ref
        window = MaintenanceWindow(
            subject_kind=SubjectKind.DEVICE,
            subject_id=1,
            subject="nte1-cr1",
            starts_at=datetime(2026, 11, 12, 2, 0, tzinfo=UTC),
            ends_at=datetime(2026, 11, 12, 4, 0, tzinfo=UTC),
            reason="optics replaced",
            declared_by="noc",
        )
        session.add(window)
        session.flush()
        outages = (
            # (circuit, start, end, cause): 30 min counted, 30 min planned, 2 h under way
            (down, datetime(2026, 11, 10, 10, 0), datetime(2026, 11, 10, 10, 30), None),
            (protected, datetime(2026, 11, 12, 2, 30), datetime(2026, 11, 12, 3, 0), window.id),
            (down, datetime(2026, 11, 18, 10, 0), None, None),
        )
        for circuit_id, start, end, window_id in outages:
            incident = Incident(
                opened_at=start.replace(tzinfo=UTC),
                closed_at=end.replace(tzinfo=UTC) if end else None,
                failing_kind=FailingKind.LINK,
                failing_id=network.link,
                failing="link under test",
                cause=OutageCause.PLANNED if window_id else OutageCause.UNPLANNED,
                maintenance_window_id=window_id,
            )
            session.add(incident)
            session.flush()
            assert incident.id is not None
            session.add(
                IncidentCircuit(
                    incident_id=incident.id,
                    circuit_id=circuit_id,
                    started_at=start.replace(tzinfo=UTC),
                    ended_at=end.replace(tzinfo=UTC) if end else None,
                )
            )
        since = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        session.add(CircuitState(circuit_id=down, state=ObservedState.DOWN, since=since))
        session.add(
            CircuitState(
                circuit_id=protected, state=ObservedState.UP, since=since, on_protection=True
            )
        )
    return Followed(down=refs[down], protected=refs[protected])


def test_the_exporters_families_are_written_as_generate_latest_writes_them(
    engine: Engine, followed: Followed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporter, "utcnow", lambda: NOW)
    collector = GigalisCollector(engine, load_catalogue(REPOSITORY_CATALOGUE))
    families = list(collector.collect())

    text = assert_written_alike(families)

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    down, protected = followed.down, followed.protected
    assert value("gigalis_circuit_up", circuit=down) == 0
    assert value("gigalis_circuit_up", circuit=protected) == 1
    assert value("gigalis_circuit_on_protection", circuit=protected) == 1
    assert ("gigalis_circuit_on_protection", (("circuit", down),)) not in samples
    # 30 min on the 10th, and 10:00 to 12:00 today, still under way
    assert value("gigalis_circuit_month_downtime_seconds", circuit=down) == 1_800 + 7_200
    assert value("gigalis_circuit_month_excluded_seconds", circuit=down) == 0
    assert value("gigalis_circuit_month_downtime_seconds", circuit=protected) == 0
    assert value("gigalis_circuit_month_excluded_seconds", circuit=protected) == 1_800
    # 11:00 to 13:00 Paris, a Wednesday: two business hours; the standard class's 8 h GTR
    assert value("gigalis_circuit_outage_restore_seconds", circuit=down) == 7_200
    assert value("gigalis_circuit_outage_gtr_seconds", circuit=down) == 8 * 3_600
    assert ("gigalis_circuit_outage_gtr_seconds", (("circuit", protected),)) not in samples
    info = dict(
        next(
            key
            for key in samples
            if key[0] == "gigalis_circuit_info" and ("circuit", protected) in key[1]
        )[1]
    )
    assert info == {
        "circuit": protected,
        "offer": "eline-10g",
        "operator": "Opérateur B",
        "service": "ethernet_eline",
        "sla_class": "premium",
        "status": "active",
    }
    assert value("gigalis_circuit_states", state="down") == 1
    assert value("gigalis_circuit_states", state="up") == 1
    assert value("gigalis_circuit_states", state="unknown") == 0
