"""Trace sampling: parent-based, so a change sampled where its trace starts is traced by
every later hop, and one not sampled is traced by none; every change by default."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from q2c.core.settings import TelemetrySettings
from q2c.core.telemetry import sampler
from q2c.core.tracing import context_from_headers, with_trace_headers

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C


def parent(sampled: bool) -> object:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(TRACE_ID, 0xB7AD6B7169203331, True, flags))
    return trace.set_span_in_context(span)


def decision(ratio: float | None, context: object | None) -> Decision:
    result = sampler(ratio).should_sample(context, TRACE_ID, "sync")  # type: ignore[arg-type]
    return result.decision


def test_every_change_is_traced_by_default() -> None:
    assert TelemetrySettings().trace_sample_ratio is None
    assert decision(None, None) is Decision.RECORD_AND_SAMPLE


def test_a_ratio_decides_where_a_trace_starts() -> None:
    assert decision(0.0, None) is Decision.DROP
    assert decision(1.0, None) is Decision.RECORD_AND_SAMPLE


def test_later_hops_follow_the_decision_of_the_first() -> None:
    assert decision(0.0, parent(sampled=True)) is Decision.RECORD_AND_SAMPLE
    assert decision(1.0, parent(sampled=False)) is Decision.DROP


def test_an_unsampled_change_still_carries_its_trace_to_the_next_hop() -> None:
    tracer = TracerProvider(sampler=sampler(0.0)).get_tracer("test")
    with tracer.start_as_current_span("poll") as span:
        assert not span.is_recording()
        headers = with_trace_headers()
    carried = trace.get_current_span(context_from_headers(headers)).get_span_context()
    assert carried.trace_id == span.get_span_context().trace_id
    assert not carried.trace_flags.sampled
