"""``monitoring/``: Prometheus's own tools accept the configuration and the rules, the rules'
unit tests pass (``promtool test rules``), every alert and recording rule is exercised by
them, and the dashboards and rules name only metrics the exporter promises or the recording
rules make.

Without promtool (Debian package prometheus) the promtool checks are skipped with the
reason, except in CI, where they fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, need

MONITORING = ROOT / "monitoring"
RULES = MONITORING / "rules"
RULE_FILES = (RULES / "recording.yml", RULES / "alerts.yml")
RULE_TESTS = sorted(RULES.glob("*.test.yml"))
DASHBOARDS = sorted((MONITORING / "grafana").glob("*.json"))
TOKEN_FILE = "secrets/gigalis-metrics.token"

# The exporter's side of the contract (the common brief and the design's naming rules).
CONTRACT = frozenset(
    {
        "gigalis_circuit_info",
        "gigalis_circuit_up",
        "gigalis_circuit_on_protection",
        "gigalis_circuit_month_downtime_seconds",
        "gigalis_circuit_month_excluded_seconds",
        "gigalis_circuit_outage_restore_seconds",
        "gigalis_circuit_outage_gtr_seconds",
        "gigalis_sla_month_period_seconds",
        "gigalis_sla_month_elapsed_seconds",
        "gigalis_sla_class_availability_target_ratio",
        "gigalis_sla_class_gtr_seconds",
        "gigalis_circuit_states",
        "gigalis_incidents_open",
        "gigalis_backbone_link_up",
        "gigalis_backbone_link_capacity_bits_per_second",
        "gigalis_backbone_link_held_bits_per_second",
        "gigalis_backbone_link_held_ratio",
        "gigalis_backbone_link_transmit_bytes_total",
        "gigalis_device_reachable",
        "gigalis_poller_rounds_total",
        "gigalis_poller_device_errors_total",
        "gigalis_poller_last_round_duration_seconds",
        "gigalis_poller_last_round_timestamp_seconds",
        "gigalis_poller_last_round_failed_devices",
        "gigalis_poller_interval_seconds",
        "gigalis_provisioning_jobs",
        "gigalis_product_orders",
        "gigalis_circuits",
        "gigalis_notification_deliveries",
        "gigalis_exporter_scrape_duration_seconds",
    }
)
METRIC_NAME = re.compile(r"gigalis[_:][a-z0-9_:]*")
SEVERITIES = {"critical", "warning", "info"}


def promtool() -> str:
    found = shutil.which("promtool")
    need(found is not None, "promtool not installed (Debian package prometheus)")
    assert found is not None
    return found


def run_promtool(*arguments: str | Path, cwd: Path = MONITORING) -> str:
    """promtool's output; the test fails with that output when promtool says no."""
    done = subprocess.run(
        [promtool(), *map(str, arguments)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def rules_of(path: Path) -> list[dict[str, Any]]:
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules_of(RULES / "recording.yml")}


def alert_rules() -> list[dict[str, Any]]:
    return rules_of(RULES / "alerts.yml")


def dashboard_queries(path: Path) -> list[str]:
    """Every PromQL expression of a dashboard: panel targets and template variables."""
    board = json.loads(path.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        queries.append(variable["query"]["query"])
    return queries


# promtool


def test_the_configuration_is_valid(tmp_path: Path) -> None:
    # check config opens the token file: a copy of monitoring/ with a token of its own.
    copy = tmp_path / "monitoring"
    shutil.copytree(MONITORING, copy, ignore=shutil.ignore_patterns("secrets"))
    token = copy / TOKEN_FILE
    token.parent.mkdir()
    token.write_text("gig_not-a-real-token\n", encoding="utf-8")

    output = run_promtool("check", "config", "prometheus.yml", cwd=copy)

    assert "SUCCESS: prometheus.yml is valid prometheus config file syntax" in output
    for rules in RULE_FILES:  # read through rule_files, each rule of each file parsed
        assert f"SUCCESS: {len(rules_of(rules))} rules found" in output


def test_the_configuration_refuses_a_missing_token(tmp_path: Path) -> None:
    copy = tmp_path / "monitoring"
    shutil.copytree(MONITORING, copy, ignore=shutil.ignore_patterns("secrets"))

    done = subprocess.run(
        [promtool(), "check", "config", "prometheus.yml"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode != 0
    assert TOKEN_FILE in done.stdout + done.stderr


def test_the_rules_are_valid() -> None:
    output = run_promtool("check", "rules", *RULE_FILES)

    assert output.count("SUCCESS") == 2, output


@pytest.mark.parametrize("unit_tests", RULE_TESTS, ids=lambda path: path.name)
def test_the_rules_pass_their_unit_tests(unit_tests: Path) -> None:
    output = run_promtool("test", "rules", unit_tests.name, cwd=RULES)

    assert "SUCCESS" in output


# What the configuration points at


def test_prometheus_scrapes_gigalis_on_loopback_with_a_token_file() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text(encoding="utf-8"))

    assert config["global"]["scrape_interval"] == "30s"
    assert config["rule_files"] == ["rules/recording.yml", "rules/alerts.yml"]
    assert "alerting" not in config  # no Alertmanager anywhere by default
    [job] = config["scrape_configs"]
    assert job["job_name"] == "gigalis"
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}
    assert [c["targets"] for c in job["static_configs"]] == [["127.0.0.1:8000"]]
    assert (MONITORING / ".gitignore").read_text(encoding="utf-8").split() == ["secrets/"]


# The rules' own tests cover every rule


def _tested_expressions() -> str:
    return "\n".join(
        case["expr"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("promql_expr_test", [])
    )


def _alert_cases() -> list[dict[str, Any]]:
    return [
        case
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def test_every_recording_rule_is_checked_against_values() -> None:
    tested = set(METRIC_NAME.findall(_tested_expressions()))

    assert recorded_names() - tested == set()


def test_every_alert_is_seen_firing_and_seen_silent() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    cases = _alert_cases()
    fired = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}

    assert names - fired == set()
    assert names - silent == set()
    severities = {
        (case["alertname"], alert["exp_labels"]["severity"])
        for case in cases
        for alert in case["exp_alerts"]
    }
    assert severities >= {(rule["alert"], rule["labels"]["severity"]) for rule in alert_rules()}


def test_every_alert_has_a_severity_words_and_a_runbook() -> None:
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    for rule in alert_rules():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert f"### {rule['alert']}" in readme, f"no runbook for {rule['alert']}"


# Names: only what the exporter promises or the recording rules make


def _unknown_names(expressions: list[str], known: AbstractSet[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)} - known


def test_the_rules_read_only_promised_or_recorded_metrics() -> None:
    recorded = recorded_names()
    expressions = [rule["expr"] for path in RULE_FILES for rule in rules_of(path)]

    assert _unknown_names(expressions, CONTRACT | recorded) == set()
    assert recorded.isdisjoint(CONTRACT)
    assert all(name.startswith("gigalis:") for name in recorded)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda path: path.name)
def test_the_dashboards_read_only_promised_or_recorded_metrics(dashboard: Path) -> None:
    queries = dashboard_queries(dashboard)

    assert len(queries) >= 10
    assert _unknown_names(queries, CONTRACT | recorded_names()) == set()


def test_the_regex_catches_a_name_outside_the_contract() -> None:
    # The check above is only as good as its extraction: a typo must show up.
    query = 'sum(gigalis_circuit_upp{job="gigalis"}) / gigalis:operator_circuits:count'

    assert _unknown_names([query], CONTRACT | recorded_names()) == {"gigalis_circuit_upp"}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda path: path.name)
def test_the_dashboards_import_with_a_datasource_input(dashboard: Path) -> None:
    board = json.loads(dashboard.read_text(encoding="utf-8"))

    assert board["schemaVersion"] >= 36
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    panels = [panel for panel in board["panels"] if panel["type"] != "row"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == "${DS_PROMETHEUS}"


def test_both_dashboards_exist() -> None:
    assert [path.name for path in DASHBOARDS] == ["management.json", "noc.json"]
