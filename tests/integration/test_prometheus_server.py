"""A real Prometheus (``/usr/bin/prometheus``) scrapes a running ``gigalis serve`` with a noc
token made by ``gigalis token create``, evaluates the rules of ``monitoring/rules/`` and
answers on its HTTP API: the target is up, recorded series hold the values the database
implies, a circuit the poller saw down raises GigalisCircuitDown, and every query of the
dashboards is valid PromQL. Both processes listen on free loopback ports, keep their data
under the test's temporary folder, and are stopped by their own handles.

Without the prometheus binary the test is skipped with the reason, except in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.models import CircuitState, ObservedState
from tests.conftest import ROOT, need
from tests.integration.ordering_support import (
    build_network,
    item,
    items_of,
    order_body,
    place_order,
)
from tests.integration.test_prometheus_rules import CONTRACT, DASHBOARDS, dashboard_queries
from tests.postgres import free_port
from tests.processes import gigalis_command, gigalis_serve, listening

SECRET_KEY = "prometheus-test-secret-key-0123456789abcdef"
RULES_SECONDS = 60  # a few 1 s scrapes and evaluations, with margin for a slow machine
# What the exporter exports whatever the state, for two ordered circuits with a known state
# in service: the rest of the contract needs an outage, protection, counters or a poll round.
ALWAYS_EXPORTED = {
    "gigalis_circuit_info",
    "gigalis_circuit_up",
    "gigalis_circuit_month_downtime_seconds",
    "gigalis_circuit_month_excluded_seconds",
    "gigalis_sla_month_period_seconds",
    "gigalis_sla_month_elapsed_seconds",
    "gigalis_sla_class_availability_target_ratio",
    "gigalis_sla_class_gtr_seconds",
    "gigalis_circuit_states",
    "gigalis_backbone_link_capacity_bits_per_second",
    "gigalis_backbone_link_held_bits_per_second",
    "gigalis_backbone_link_held_ratio",
    "gigalis_poller_rounds_total",
    "gigalis_poller_device_errors_total",
    "gigalis_poller_interval_seconds",
    "gigalis_provisioning_jobs",
    "gigalis_product_orders",
    "gigalis_circuits",
    "gigalis_notification_deliveries",
    "gigalis_exporter_scrape_duration_seconds",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Circuits:
    down: str  # Opérateur A's E-Line 100 Mb/s, standard class, seen down by the poller
    up: str  # Opérateur B's E-Line 10 Gb/s, premium class, seen up


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    need(found is not None, "prometheus server not installed (Debian package prometheus)")
    assert found is not None
    return found


@pytest.fixture
def circuits(engine: Engine) -> Circuits:
    """Two ordered circuits in service, one down and one up as the poller would record them."""
    network = build_network(engine, capacity_mbps=20_000)
    down = _ordered_circuit(engine, "eline-100m", network.operator_a)
    up = _ordered_circuit(engine, "eline-10g", network.operator_b)
    since = datetime.now(UTC) - timedelta(minutes=10)
    with session_scope(engine, actor="test:poller") as session:
        for circuit_id, state in ((down, ObservedState.DOWN), (up, ObservedState.UP)):
            circuit = session.get(Circuit, circuit_id)
            assert circuit is not None
            circuit.status = CircuitStatus.ACTIVE
            session.add(circuit)
            session.add(
                CircuitState(circuit_id=circuit_id, state=state, since=since, reason="test")
            )
        refs = {circuit_id: session.get(Circuit, circuit_id) for circuit_id in (down, up)}
        return Circuits(down=_ref(refs[down]), up=_ref(refs[up]))


def _ordered_circuit(engine: Engine, offer: str, operator: int) -> int:
    made = place_order(engine, order_body(item(offer)), tenant=operator)
    assert made.order.id is not None
    [ordered] = items_of(engine, made.order.id)
    assert ordered.circuit_id is not None
    return ordered.circuit_id


def _ref(circuit: Circuit | None) -> str:
    assert circuit is not None
    return circuit.ref


@pytest.fixture
def service_environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    """What `gigalis token create` and `gigalis serve` read: the test's database and key, and
    no background work (jobs, orders, the poller) that would change what the test wrote."""
    return {
        **os.environ,
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATA_DIR": str(tmp_path / "data"),
        "GIGALIS_DATABASE_URL": database_url,
        "GIGALIS_SECRET_KEY": SECRET_KEY,
        "GIGALIS_JOB_WORKER": "false",
        "GIGALIS_ORDER_WORKER": "false",
        "GIGALIS_POLLER": "false",
        "GIGALIS_POLL_SECONDS": "60",
    }


@pytest.fixture
def metrics_token(service_environment: dict[str, str], circuits: Circuits) -> str:
    """A noc token, made as the README tells an engineer to make Prometheus's."""
    done = subprocess.run(
        [gigalis_command(), "token", "create", "--role", "noc", "--name", "prometheus"],
        env=service_environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("gig_"), done.stdout
    return token


@pytest.fixture
def service(
    service_environment: dict[str, str], metrics_token: str, tmp_path: Path
) -> Iterator[str]:
    """`gigalis serve` on a free loopback port; its address as host:port."""
    with gigalis_serve(service_environment, tmp_path / "serve.log") as url:
        yield url.removeprefix("http://")


def prometheus_config(target: str, token_file: Path) -> dict[str, Any]:
    """monitoring/prometheus.yml with the test's target and token, every second."""
    config: dict[str, Any] = yaml.safe_load(
        (ROOT / "monitoring" / "prometheus.yml").read_text(encoding="utf-8")
    )
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ROOT / "monitoring" / path) for path in config["rule_files"]]
    [job] = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(token_file)
    job["static_configs"] = [{"targets": [target]}]
    return config


@pytest.fixture
def prometheus(
    prometheus_binary: str, service: str, metrics_token: str, tmp_path: Path
) -> Iterator[httpx.Client]:
    """A Prometheus server scraping the service; a client of its HTTP API."""
    token_file = tmp_path / "gigalis-metrics.token"
    token_file.write_text(metrics_token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(prometheus_config(service, token_file)), "utf-8")
    port = free_port()
    command = [
        prometheus_binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with (
        listening("prometheus", command, port=port, log=tmp_path / "prometheus.log", cwd=tmp_path),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        eventually(lambda: _ready(client), "prometheus ready")
        yield client


def _ready(client: httpx.Client) -> None:
    assert client.get("/-/ready").status_code == 200


def eventually(check: Callable[[], T], what: str, seconds: float = RULES_SECONDS) -> T:
    """``check()``'s result once it stops failing; its last failure after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"still failing after {seconds} s: {what}") from None
        time.sleep(0.5)


def query(client: httpx.Client, promql: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/query", params={"query": promql})
    body = response.json()
    assert response.status_code == 200, (promql, body)
    assert body["status"] == "success", (promql, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def values(client: httpx.Client, promql: str, label: str) -> dict[str, float]:
    return {series["metric"][label]: float(series["value"][1]) for series in query(client, promql)}


def month_period_seconds(now: datetime) -> float:
    paris = now.astimezone(PARIS)
    start, end = month_bounds(paris.year, paris.month)
    return (end - start).total_seconds()


# The test


def test_prometheus_scrapes_the_service_and_evaluates_the_rules(
    prometheus: httpx.Client, circuits: Circuits, service: str
) -> None:
    def target_up() -> dict[str, Any]:
        targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
        assert len(targets) == 1, targets
        [target] = targets
        assert target["health"] == "up", target
        return dict(target)

    target = eventually(target_up, "the gigalis target scraped")
    assert target["labels"] == {"job": "gigalis", "instance": service}
    assert target["scrapeUrl"] == f"http://{service}/metrics"

    # The exporter keeps to the names the rules and dashboards are written against.
    names = set(prometheus.get("/api/v1/label/__name__/values").json()["data"])
    exported = {name for name in names if name.startswith("gigalis_")}
    assert ALWAYS_EXPORTED - exported == set()
    assert exported - CONTRACT == set()

    # From the info series alone.
    counted = eventually(
        lambda: _nonempty(values(prometheus, "gigalis:operator_circuits:count", "operator")),
        "circuits per operator recorded",
    )
    assert counted == {"Opérateur A": 1, "Opérateur B": 1}

    # From the circuit states the poller would have written.
    down = eventually(
        lambda: _nonempty(values(prometheus, "gigalis:operator_circuits_down:count", "operator")),
        "circuits down per operator recorded",
    )
    assert down == {"Opérateur A": 1, "Opérateur B": 0}

    # The month's allowance: 0.5 % (standard) and 0.1 % (premium) of this Paris month, no
    # time excluded. Computed here from the calendar, not read from the exporter.
    budgets = eventually(
        lambda: _nonempty(
            values(prometheus, "gigalis:circuit_month_error_budget_seconds", "circuit")
        ),
        "error budgets recorded",
    )
    period = month_period_seconds(datetime.now(UTC))
    assert budgets == {
        circuits.down: pytest.approx(period * 0.005, rel=1e-9),
        circuits.up: pytest.approx(period * 0.001, rel=1e-9),
    }

    alert = eventually(lambda: _raised(prometheus, "GigalisCircuitDown"), "circuit down alert")
    assert alert["labels"]["circuit"] == circuits.down
    assert alert["labels"]["operator"] == "Opérateur A"
    assert alert["labels"]["offer"] == "eline-100m"
    assert alert["labels"]["sla_class"] == "standard"
    assert alert["labels"]["severity"] == "critical"
    assert alert["state"] in {"pending", "firing"}
    assert alert["annotations"]["summary"] == f"Circuit {circuits.down} of Opérateur A is down"

    # No poller runs here: an interval announced and no round ever finished.
    stalled = eventually(lambda: _raised(prometheus, "GigalisPollerFailing"), "poller alert")
    assert stalled["labels"] == {
        "alertname": "GigalisPollerFailing",
        "severity": "critical",
        "job": "gigalis",
        "instance": service,
    }


def _nonempty(found: dict[str, float]) -> dict[str, float]:
    assert found
    return found


def _raised(client: httpx.Client, name: str) -> dict[str, Any]:
    """The one alert of that name Prometheus holds, pending or firing."""
    alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
    raised = [a for a in alerts if a["labels"]["alertname"] == name]
    assert len(raised) == 1, alerts
    return dict(raised[0])


def test_every_dashboard_query_is_valid_promql(prometheus: httpx.Client) -> None:
    for dashboard in DASHBOARDS:
        for promql in dashboard_queries(dashboard):
            if promql.startswith("label_values("):
                continue  # Grafana's own function, not PromQL
            concrete = promql.replace("$operator", ".*").replace("$offer", ".*")
            query(prometheus, concrete.replace("$sla_class", ".*"))
