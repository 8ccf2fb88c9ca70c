"""k8s/monitoring: every alert expression and dashboard query names only metrics (and their
labels) that q2c.core.metrics exports, and promtool (built by `make tools`, pinned) parses every
one of them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from q2c.core import metrics
from tests.deploy.manifests import REPO

MONITORING = REPO / "k8s" / "monitoring"
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
SCRAPE = {"up": frozenset({"service", "pod", "job", "instance", "namespace"})}
"""What Prometheus adds itself: the scrape's health and the target's labels."""
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
METRIC = re.compile(r"\b(?:q2c_[a-z0-9_]+|up)\b")


def exported() -> dict[str, frozenset[str]]:
    """Every sample name q2c.core.metrics exports, with the labels its samples carry."""
    names: dict[str, frozenset[str]] = dict(SCRAPE)
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            labels = frozenset(value._labelnames)
        elif isinstance(value, metrics.WorkerReadiness):
            labels = frozenset()
        else:
            continue
        for family in value.describe():
            for suffix in SUFFIXES[family.type]:
                extra = {"le"} if suffix == "_bucket" else set()
                names[family.name + suffix] = labels | extra
    return names


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "q2c-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


EXPRESSIONS = [rule["expr"] for rule in rules()] + dashboard_queries()


def unknown_names(expr: str, names: dict[str, frozenset[str]]) -> list[str]:
    """What ``expr`` names that is not exported: metrics, and labels of matchers and
    groupings the metrics it selects do not have."""
    problems: list[str] = []
    used = METRIC.findall(expr)
    problems += [f"metric {name}" for name in used if name not in names]
    for name, matchers in SELECTOR.findall(expr):
        have = names.get(name, frozenset())
        problems += [
            f"label {label} of {name}" for label in sorted(set(MATCHER.findall(matchers)) - have)
        ]
    available = frozenset().union(*(names.get(name, frozenset()) for name in used))
    for grouping in GROUPING.findall(expr):
        labels = {label.strip() for label in grouping.split(",") if label.strip()}
        problems += [f"label {label} in a grouping" for label in sorted(labels - available)]
    return problems


def test_the_names_are_collected_with_their_suffixes() -> None:
    names = exported()
    assert "q2c_command_results_total" in names
    assert names["q2c_deal_won_to_order_seconds_bucket"] == {"le"}
    assert names["q2c_change_to_applied_seconds_count"] == {"system", "command"}
    assert all(name == "up" or name.startswith("q2c_") for name in names)


def test_a_name_or_label_not_exported_is_found() -> None:
    names = exported()
    assert unknown_names("rate(q2c_commands_total[5m])", names) == ["metric q2c_commands_total"]
    assert unknown_names('q2c_deals{deal="42"}', names) == ["label deal of q2c_deals"]
    assert unknown_names("sum by (pod_ip) (q2c_deals)", names) == ["label pod_ip in a grouping"]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_every_expression_names_only_exported_metrics(expr: str) -> None:
    names = exported()
    assert METRIC.search(expr), f"names no q2c metric: {expr}"
    assert unknown_names(expr, names) == []


def test_every_alert_is_complete() -> None:
    found = rules()
    assert {rule["alert"] for rule in found} >= {
        "Q2CSyncErrorRateHigh",
        "Q2CSourceStale",
        "Q2CDeadLettersGrowing",
        "Q2CWorkerNotReady",
        "Q2CReconcileDrift",
        "Q2CReconcileFailing",
    }
    for rule in found:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def promtool() -> Path:
    """The pinned promtool, installed from the Go module proxy on first use."""
    subprocess.run(["make", "-s", "tools"], cwd=REPO, check=True, capture_output=True)
    found = subprocess.run(
        ["make", "-s", "promtool-path"], cwd=REPO, check=True, capture_output=True, text=True
    )
    return Path(found.stdout.strip())


def test_promtool_accepts_the_rules_and_every_dashboard_query(tmp_path: Path) -> None:
    tool = promtool()
    doc = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    # Each dashboard query as a recording rule: promtool parses it like the alerts.
    queries = [
        {"record": f"q2c:dashboard_query_{n}", "expr": expr}
        for n, expr in enumerate(dashboard_queries())
    ]
    groups = [*doc["spec"]["groups"], {"name": "dashboard", "rules": queries}]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}))
    checked = subprocess.run(
        [str(tool), "check", "rules", str(rules_file)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(rules()) + len(queries)} rules found" in checked.stdout
