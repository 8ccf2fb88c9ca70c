"""The org's daily API allowance, as every REST answer reports it, and how fast polling may
go because of it.

Each answer carries ``Sforce-Limit-Info: api-usage=USED/MAX`` (the "Limit Info Header"
page): calls made in the last 24 hours and the org's allowance. q2c may use a share of it
(``api_share``); polling stretches its interval as that share fills and pauses when it is
spent, so the org's other integrations and its users keep their part. Writes are not paced:
they carry the ERP's facts and are few.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import Gauge

API_USAGE = Gauge(
    "q2c_api_usage_calls",
    "API calls the system counted against its daily allowance (from its own answers).",
    ["system"],
)
API_ALLOWANCE = Gauge(
    "q2c_api_allowance_calls",
    "The system's daily API allowance (from its own answers).",
    ["system"],
)

HEADER = "Sforce-Limit-Info"
_USAGE = re.compile(r"(?:^|[;\s])api-usage=(\d+)/(\d+)")
MAX_DELAY = 3600.0
"""The longest polling waits: the allowance is a rolling 24 hours, an hour frees some."""


@dataclass(frozen=True)
class Usage:
    used: int
    allowance: int


def parse_limit_info(value: str | None) -> Usage | None:
    """``api-usage=25/5000; per-app-api-usage=...`` → Usage(25, 5000); None if absent."""
    if not value:
        return None
    match = _USAGE.search(value)
    if match is None or int(match.group(2)) <= 0:
        return None
    return Usage(int(match.group(1)), int(match.group(2)))


def usage_of(headers: Mapping[str, str]) -> Usage | None:
    for key, value in headers.items():
        if key.lower() == HEADER.lower():
            return parse_limit_info(value)
    return None


def poll_delay(usage: Usage | None, share: float, interval: float) -> float:
    """Seconds to wait before the next poll: ``interval`` while less than half of q2c's
    share is used, then stretched as ``interval / (1 - f)`` with ``f`` the part of the
    second half used, :data:`MAX_DELAY` once the share is spent."""
    if usage is None:
        return interval
    budget = share * usage.allowance
    if budget <= 0 or usage.used >= budget:
        return MAX_DELAY
    filled = usage.used / budget
    if filled < 0.5:
        return interval
    rest = 1.0 - (filled - 0.5) * 2
    return min(MAX_DELAY, interval / max(rest, interval / MAX_DELAY))


class LimitTracker:
    """The latest usage the org reported, exported as metrics."""

    def __init__(self, system: str = "salesforce") -> None:
        self.system = system
        self.usage: Usage | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        usage = usage_of(headers)
        if usage is None:
            return
        self.usage = usage
        API_USAGE.labels(self.system).set(usage.used)
        API_ALLOWANCE.labels(self.system).set(usage.allowance)
