"""An OTLP/HTTP trace receiver on loopback for the processes under test: the benchmarks'
(:class:`bench.traces.TraceCollector`), one per test that asks for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.traces import TraceCollector


@pytest.fixture
async def otlp_collector() -> AsyncIterator[TraceCollector]:
    async with TraceCollector() as collector:
        yield collector
