"""The sync's pure step with hostile messages: every message that decodes, with any field
replaced by any JSON value, under any key, gives outputs the codec can write, or raises a
DecodeError the agent dead-letters. Also the agents' pure parts: keys that are not UTF-8
and reference records that are not customers or items are refused, not crashed on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from q2c.core.settings import KafkaSettings, Settings
from schemas import CODEC, CommandResult, DecodeError, EntityKind, Outcome
from schemas.changes import SystemRole
from streams.agents import SyncApp, route_key
from streams.config import SyncConfig
from streams.handlers.common import Step
from tests.connectors.poison_strategies import json_values
from tests.json_paths import paths, replaced
from tests.schemas.samples import all_samples
from tests.streams.factories import change, customer, item, line, quote

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
WIRE = [orjson.loads(CODEC.encode(m)) for m in all_samples()]
WIRE += [
    orjson.loads(CODEC.encode(change(quote(line(1, "W-1", "2", "100.00")), SystemRole.CRM))),
    orjson.loads(CODEC.encode(change(customer(erp_id="42"), SystemRole.ERP))),
]
KEYS = st.sampled_from(["deal:deal-1", "customer:acc-1", "item:W-1", "ledger:42", "", "x:"])
hostile = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def sync_app() -> SyncApp:
    settings = Settings(kafka=KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="t"))
    app = faust.App("q2c-poison-step", broker="kafka://127.0.0.1:9", store="memory://")
    sync = SyncApp(app, settings, SyncConfig())
    sync.views.apply(CODEC.encode(customer(erp_id="42")))
    sync.views.apply(CODEC.encode(item("W-1", "100.00")))
    return sync


SYNC = sync_app()


def written(step: Step) -> None:
    """Everything a step sends can be written, as the agent will."""
    for emit in step.commands:
        CODEC.decode(CODEC.encode(emit.command))
    for message in (*step.audits, *step.customers, *step.items):
        CODEC.decode(CODEC.encode(message))


@hostile
@given(data=st.data(), value=json_values(), key=KEYS)
def test_the_step_gives_writable_outputs_or_a_dead_letter(
    data: st.DataObject, value: Any, key: str
) -> None:
    document = data.draw(st.sampled_from(WIRE))
    path = data.draw(st.sampled_from(paths(document)))
    try:
        message = CODEC.decode(orjson.dumps(replaced(document, path, value)))
    except DecodeError:
        return  # the agent dead-letters it before the step
    try:
        step, writes = SYNC.step(key, message, NOW)
    except DecodeError as exc:
        reason = exc.reason
        assert "is not a message the sync handles" in reason
        return
    written(step)
    for _table, _key, state in writes:
        if state is not None:  # None: the key is deleted
            type(state).model_validate_json(state.model_dump_json())


def test_a_result_whose_kafka_key_is_not_utf8_is_refused() -> None:
    result = CommandResult(
        idempotency_key="k",
        command="upsert_customer",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.CREATED,
        completed_at=NOW,
    )
    assert route_key(result, b"customer:acc-1") == "customer:acc-1"
    with pytest.raises(DecodeError, match="3 bytes that are not UTF-8 text"):
        route_key(result, b"\xff\xfe\x00")


@pytest.mark.parametrize(
    "value",
    [b"\xff\x00", b"{}", b"[]", CODEC.encode(change(customer(), SystemRole.CRM)), b""],
)
def test_a_reference_record_that_is_no_customer_or_item_is_refused(value: bytes) -> None:
    with pytest.raises(DecodeError):
        SYNC.views.apply(value)
