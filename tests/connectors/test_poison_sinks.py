"""Hostile commands through the sinks' pure paths: decoding a command, and turning its
fields into a request. Any JSON either is refused as not a command (DecodeError) or gives a
command whose request is built or refused as a data failure: a SKIPPABLE ConnectorError, or
an error the sink runner dead-letters (never one it counts as infrastructure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.sink import INFRASTRUCTURE, decode_command, entity_of, failed_result
from connectors.bottlecrm import mapping as crm_mapping
from connectors.bottlecrm import sink as crm
from connectors.tryton import sink as erp
from schemas import (
    CODEC,
    Command,
    CreateSalesOrder,
    DecodeError,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
)
from tests.connectors.poison_strategies import FIELDS, json_values
from tests.json_paths import paths, replaced
from tests.schemas.samples import all_samples

COMMANDS = {
    m.schema_subject: orjson.loads(CODEC.encode(m)) for m in all_samples() if isinstance(m, Command)
}
hostile = settings(
    max_examples=100,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def requests_of(command: Command) -> list[Any]:
    """Every request both sinks build from ``command`` without calling their peer."""
    built: list[Any] = [entity_of(command), failed_result(command, "tryton", "x")]
    if isinstance(command, UpdateDealFinancialStatus):
        built.append(crm.deal_fields(command))
    if isinstance(command, UpdateAccountBalance):
        built.append(crm.account_fields(command))
    if isinstance(command, UpsertItem):
        built.append(crm.product_input(command.item, "EUR"))
    if isinstance(command, UpsertCustomer):
        built.append(crm_mapping.account_input(command.customer))
        if command.customer.ids.erp_id is not None:
            built.append(erp.record_id(command.customer.ids.erp_id, "party"))
    if isinstance(command, UpsertContact):
        built.append(crm_mapping.contact_input(command.contact, "acc-1"))
    if isinstance(command, CreateSalesOrder):
        for line in command.quote.lines:
            built.append(erp.net_unit_price(line.unit_price.amount, line.discount_percent))
            if line.item is not None and line.item.erp_id is not None:
                built.append(erp.record_id(line.item.erp_id, "product"))
    return built


def refusal(command: Command) -> BaseException | None:
    """What building ``command``'s requests raised, if anything."""
    try:
        requests_of(command)
    except Exception as exc:  # classified by the caller
        return exc
    return None


def built_or_refused(command: Command) -> None:
    error = refusal(command)
    if isinstance(error, ConnectorError):
        assert error.kind is ErrorKind.SKIPPABLE, error
        assert error.reason
    # The runner stops on an infrastructure failure: a bad command must never look like one.
    assert not isinstance(error, INFRASTRUCTURE), repr(error)


@pytest.mark.parametrize("subject", sorted(COMMANDS))
@hostile
@given(data=st.data(), value=json_values())
def test_a_command_with_any_field_replaced_is_decoded_and_built_or_refused(
    subject: str, data: st.DataObject, value: Any
) -> None:
    document = COMMANDS[subject]
    path = data.draw(st.sampled_from(paths(document)))
    payload = orjson.dumps(replaced(document, path, value))
    try:
        command = decode_command(payload)
    except DecodeError as exc:
        reason = exc.reason
        assert reason
        return
    built_or_refused(command)


@pytest.mark.parametrize("subject", sorted(COMMANDS))
@hostile
@given(extra=st.dictionaries(st.sampled_from(FIELDS), json_values(), max_size=4))
def test_a_command_with_unknown_or_retyped_members_is_refused_or_built(
    subject: str, extra: dict[str, Any]
) -> None:
    payload = orjson.dumps({**COMMANDS[subject], **extra})
    try:
        command = decode_command(payload)
    except DecodeError:
        return
    built_or_refused(command)


@hostile
@given(message=json_values(max_leaves=30))
def test_any_json_is_not_a_command(message: Any) -> None:
    with pytest.raises(DecodeError):
        decode_command(orjson.dumps(message))


def test_a_result_or_a_change_is_not_a_command() -> None:
    for sample in all_samples():
        if not isinstance(sample, Command):
            with pytest.raises(DecodeError, match="not a command"):
                decode_command(CODEC.encode(sample))


@pytest.mark.parametrize("erp_id", ["abc", "", " ", "-1", "1e3", "١٢", "9" * 40, "12 OR 1=1"])
def test_an_erp_id_that_is_no_tryton_id_is_a_data_failure(erp_id: str) -> None:
    with pytest.raises(ConnectorError, match="is not a Tryton record id") as refused:
        erp.record_id(erp_id, "party")
    assert refused.value.kind is ErrorKind.SKIPPABLE


def test_a_tryton_id_is_read_as_one() -> None:
    assert erp.record_id("42", "party") == 42
    assert erp.record_id(" 7 ", "product") == 7


def test_every_command_names_the_entity_its_failure_is_reported_on() -> None:
    # A command the sink gives up on becomes a failed result naming its entity: a command
    # whose entity were unknown would crash the sink instead of being dead-lettered.
    samples = [m for m in all_samples() if isinstance(m, Command)]
    subjects = {m.schema_subject for m in samples}
    assert {"create_renewal_deal", "upsert_crm_invoice", "delete_record"} <= subjects
    for command in samples:
        assert failed_result(command, "bottlecrm", "refused").entity is entity_of(command)
