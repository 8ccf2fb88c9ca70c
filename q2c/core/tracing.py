"""W3C trace context in Kafka headers: one trace per change, across every hop.

A hop extracts the context from the headers it read, starts its span as a child, and
writes a fresh ``traceparent`` into the headers it sends, dropping the one it received
(Faust's ``forward`` keeps input headers, so a stale parent would otherwise travel on).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span

Headers = list[tuple[str, bytes]]
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})

tracer = trace.get_tracer("q2c")


def context_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> context.Context:
    carrier = {
        key: value.decode("latin-1")
        for key, value in (headers or ())
        if key in _TRACE_HEADERS and value is not None
    }
    return propagate.extract(carrier)


def with_trace_headers(headers: Sequence[tuple[str, bytes]] | None = None) -> Headers:
    """``headers`` without any old trace context, plus the current span's."""
    kept = [(k, v) for k, v in (headers or ()) if k not in _TRACE_HEADERS]
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return kept + [(k, v.encode("latin-1")) for k, v in carrier.items()]


@contextmanager
def span_from_headers(
    name: str,
    headers: Iterable[tuple[str, bytes]] | None,
    attributes: dict[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span that continues the trace found in ``headers`` (or starts one)."""
    with tracer.start_as_current_span(
        name, context=context_from_headers(headers), attributes=attributes
    ) as span:
        yield span
