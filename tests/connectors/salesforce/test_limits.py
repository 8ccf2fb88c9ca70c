"""The daily API allowance as Sforce-Limit-Info reports it, and how polling paces itself."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest

from connectors.salesforce.limits import (
    MAX_DELAY,
    LimitTracker,
    Usage,
    parse_limit_info,
    poll_delay,
    usage_of,
)
from tests.metrics_text import parse_samples


def test_the_header_as_documented() -> None:
    assert parse_limit_info("api-usage=18/5000") == Usage(18, 5000)
    value = "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
    assert parse_limit_info(value) == Usage(25, 5000)
    assert parse_limit_info(None) is None
    assert parse_limit_info("per-app-api-usage=17/250(appName=x)") is None
    assert parse_limit_info("api-usage=1/0") is None
    assert usage_of({"sforce-limit-info": "api-usage=3/100"}) == Usage(3, 100)


@pytest.mark.parametrize(
    ("used", "expected"),
    [(0, 10.0), (2400, 10.0), (3750, 20.0), (4999, None), (5000, MAX_DELAY), (9000, MAX_DELAY)],
)
def test_polling_slows_down_before_the_share_is_spent(used: int, expected: float | None) -> None:
    # share 0.5 of 10,000 calls: q2c may use 5,000
    delay = poll_delay(Usage(used, 10_000), 0.5, 10.0)
    if expected is None:
        assert 10.0 * 100 <= delay <= MAX_DELAY
    else:
        assert delay == pytest.approx(expected)


def test_the_delay_grows_with_use() -> None:
    delays = [poll_delay(Usage(used, 10_000), 0.5, 10.0) for used in range(0, 5001, 250)]
    assert delays == sorted(delays)
    assert poll_delay(None, 0.5, 10.0) == 10.0


def test_usage_is_exported_as_metrics() -> None:
    tracker = LimitTracker("salesforce-test")
    tracker.observe({"Sforce-Limit-Info": "api-usage=42/15000"})
    assert tracker.usage == Usage(42, 15000)
    samples = parse_samples(generate_latest(REGISTRY).decode())
    assert samples.value("q2c_api_usage_calls", system="salesforce-test") == 42
    assert samples.value("q2c_api_allowance_calls", system="salesforce-test") == 15000
    tracker.observe({})  # an answer without the header keeps the last known usage
    assert tracker.usage == Usage(42, 15000)
