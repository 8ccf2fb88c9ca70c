"""An OTLP/HTTP trace receiver on loopback for the benchmarks and the tests: every span the
processes export, with its start and end, so a run can say where a change's time went.

The processes export through their BatchSpanProcessor (``Q2C_TELEMETRY__OTLP_ENDPOINT``);
:data:`EXPORT_ENV` makes them export every 200 ms instead of every 5 s, so the spans of the
last deal arrive soon after it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

EXPORT_ENV = {"OTEL_BSP_SCHEDULE_DELAY": "200"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start: float
    """Seconds since the epoch (the processes share the machine's clock)."""
    end: float
    attributes: dict[str, str]

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class TraceCollector:
    """Serves ``POST /v1/traces`` on 127.0.0.1 while used as an async context manager."""

    url: str = ""
    spans: list[Span] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _by_trace: dict[str, list[Span]] = field(default_factory=lambda: defaultdict(list))

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def env(self) -> dict[str, str]:
        """What the stack's processes need to export here."""
        return {"Q2C_TELEMETRY__OTLP_ENDPOINT": self.url, **EXPORT_ENV}

    async def _receive(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        for resource_spans in export.resource_spans:
            for scope in resource_spans.scope_spans:
                for raw in scope.spans:
                    span = Span(
                        trace_id=raw.trace_id.hex(),
                        span_id=raw.span_id.hex(),
                        parent_id=raw.parent_span_id.hex(),
                        name=raw.name,
                        start=raw.start_time_unix_nano / 1e9,
                        end=raw.end_time_unix_nano / 1e9,
                        attributes={
                            a.key: a.value.string_value or str(a.value.int_value)
                            for a in raw.attributes
                        },
                    )
                    self.spans.append(span)
                    self._by_trace[span.trace_id].append(span)
        return web.Response(status=200, content_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[Span]:
        return list(self._by_trace.get(trace_id, ()))

    def named(self, name: str, **attributes: str) -> list[Span]:
        """The spans called ``name`` whose attributes include ``attributes``."""
        return [
            s
            for s in self.spans
            if s.name == name and all(s.attributes.get(k) == v for k, v in attributes.items())
        ]

    def children(self, parent: Span) -> list[Span]:
        return [s for s in self.trace(parent.trace_id) if s.parent_id == parent.span_id]
