"""deploy/monitoring: the alert rules parse, promtool accepts them and the example config, and
each alert fires when it should (alerts.test.yml).  That every metric named exists in the
gateway's real /metrics is checked in test_nginx_gateway.py, against a running gateway."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import REPO, require_binary

MONITORING = REPO / "deploy" / "monitoring"
# Not from the gateway: Prometheus' own scrape result, and the blackbox exporter's probe.
EXTERNAL_METRICS = {"up", "probe_success"}
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "inf", "nan"}  # fmt: skip


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (inside {...} or by/without/on/ignoring (...)), strings or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w:.])[A-Za-z_:][\w:]*", expr):  # not 5m, 1e3
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or match[0].lower() in _KEYWORDS:
            continue
        names.add(match[0])
    return names


def used_metrics() -> set[str]:
    return set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (instance, le) (rate(a_bucket{function="login",'
        ' le=~"x"}[30m]))) > 10 and on(job) b_total / ignoring (x) c == 0 unless up offset 5m'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c", "up"}


def test_alerts_cover_readiness_pool_5xx_and_switch_latency() -> None:
    rules = alert_rules()
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    by_name = {rule["alert"]: rule["expr"] for rule in rules}
    assert 'probe_success{job="mt5-gateway-ready"}' in by_name["MT5GatewayNotReady"]
    assert "gateway_pool_healthy_terminals == 0" in by_name["MT5GatewayNoHealthyTerminal"]
    assert 'status=~"5.."' in by_name["MT5GatewayHigh5xxRate"]
    assert 'function="login"' in by_name["MT5GatewaySlowAccountSwitch"]
    assert used_metrics() - EXTERNAL_METRICS  # most alerts are about the gateway's own metrics


def test_promtool_accepts_the_rules_and_the_example_config(promtool: str) -> None:
    for args in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]):
        result = subprocess.run(
            [promtool, *args], cwd=MONITORING, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_when_it_should(promtool: str, tmp_path: Path) -> None:
    """alerts.test.yml on a copy of the rules without annotations (the cases check labels)."""
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(doc))
    cases = (MONITORING / "alerts.test.yml").read_text()
    (tmp_path / "alerts.test.yml").write_text(cases)
    tested = {t["alertname"] for g in yaml.safe_load(cases)["tests"] for t in g["alert_rule_test"]}
    assert {"MT5GatewayNotReady", "MT5GatewayNoHealthyTerminal", "MT5GatewayHigh5xxRate",
            "MT5GatewaySlowAccountSwitch"} <= tested  # fmt: skip
    result = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
