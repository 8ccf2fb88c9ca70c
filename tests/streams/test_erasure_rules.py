"""The erasure's pure parts: what is a customer's data, how a record of it is redacted, and
what the sync's step does with an erasure and with later changes of an erased record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import pytest
from pydantic import JsonValue

from q2c.core.settings import KafkaSettings, Settings
from schemas import CODEC, AuditKind, DeadLetter, DeleteMode, DeleteRecord, MessageOrigin
from schemas.changes import SystemRole
from schemas.decisions import EraseRecord
from schemas.entities import Address, EntityKind, ExternalIds
from streams.agents import SyncApp, route_key
from streams.batch import Overlay
from streams.config import SyncConfig
from streams.rules.erasure import (
    REDACTED,
    VALUES_ERASED,
    ErasurePolicy,
    Target,
    customer_keys,
    erased_key,
    learn,
    mentions_customer,
    personal_values,
    redacted_audit,
    redacted_letter,
)
from tests.streams.factories import change, customer

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
NAME = "Zebulon Erasure GmbH"
EMAIL = "zebulon@erasure.example"


def _json(message: Any) -> dict[str, Any]:
    decoded = orjson.loads(CODEC.encode(message))
    assert isinstance(decoded, dict)
    return decoded


def _customer() -> Any:
    return customer(
        crm_id="acc-9",
        erp_id="42",
        name=NAME,
        email=EMAIL,
        phone="+49 30 1234567",
        billing_address=Address(street="Erasestr. 1", city="Berlin", country="DE"),
    )


def test_personal_values_are_the_customers_names_and_contact_details() -> None:
    values = personal_values(_json(_customer()))
    assert {NAME.lower(), EMAIL, "+49 30 1234567", "erasestr. 1"} <= values
    assert "de" not in values
    # Shared by other customers: a record in Berlin is not this customer's for that.
    assert "berlin" not in values
    assert "acc-9" not in values


def test_a_customer_record_completes_the_ids_and_a_contact_of_it_adds_its_key() -> None:
    target = Target(ids=ExternalIds(crm_id="acc-9"))
    learn(target, "acc-9", _json(_customer()))
    assert target.ids == ExternalIds(crm_id="acc-9", erp_id="42")
    assert EMAIL in target.needles
    contact = {
        "entity": "contact",
        "ids": {"crm_id": "c-1", "erp_id": None},
        "data": {"customer": {"crm_id": "acc-9"}, "last_name": "Plaintext", "email": "p@x.io"},
    }
    learn(target, "contact:c-1", contact)
    invoice = {
        "schema": "entity_change",
        "entity": "invoice",
        "data": {"customer": {"erp_id": "42"}},
    }
    learn(target, "ledger:42", invoice)
    other = {"entity": "contact", "ids": {"crm_id": "c-2"}, "data": {"customer": {"crm_id": "x"}}}
    learn(target, "contact:c-2", other)
    assert {"contact:c-1", "ledger:42"} <= target.keys
    assert "contact:c-2" not in target.keys
    assert {"plaintext", "p@x.io"} <= target.needles
    assert customer_keys(target.ids) == {"customer:acc-9", "customer:erp:42", "ledger:42"}


def test_golden_field_states_name_the_customer_too() -> None:
    golden: dict[str, JsonValue] = {
        "entity": "contact",
        "fields": {"customer": {"value": {"crm_id": "acc-9"}, "owner": "crm"}},
    }
    assert mentions_customer(golden, ExternalIds(crm_id="acc-9"))
    assert not mentions_customer(golden, ExternalIds(crm_id="acc-10"))


def test_personal_values_are_found_and_scrubbed_whatever_the_case() -> None:
    target = Target(ids=ExternalIds(crm_id="acc-9"), needles={NAME.lower(), EMAIL})
    assert target.contains_personal(f'{{"name": "{NAME.upper()}"}}'.encode())
    assert not target.contains_personal(b'{"name": "Someone Else"}')
    assert target.scrub(f"{NAME} has a bad email {EMAIL.upper()}") == (
        f"{REDACTED} has a bad email {REDACTED}"
    )


def test_a_redacted_dead_letter_keeps_its_reason_and_origin_but_not_the_data() -> None:
    payload = CODEC.encode(_customer())
    letter = DeadLetter.of(
        payload=payload,
        error=ValueError("x"),
        stage="normalize.bottlecrm",
        failed_at=NOW,
        origin=MessageOrigin(topic="q2c.raw.bottlecrm", partition=1, offset=7),
        key=b"account/acc-9",
        reason=f"email {EMAIL} is not valid",
    )
    target = Target(ids=ExternalIds(crm_id="acc-9"), needles={NAME.lower(), EMAIL})
    redacted = redacted_letter(letter, target, NOW)
    text = CODEC.encode(redacted).decode()
    assert NAME not in text
    assert EMAIL not in text
    assert redacted.payload_text == REDACTED
    assert redacted.reason == f"email {REDACTED} is not valid"
    assert (redacted.origin, redacted.stage, redacted.error_class) == (
        letter.origin,
        letter.stage,
        letter.error_class,
    )


def test_a_redacted_audit_record_loses_its_values() -> None:
    from schemas import AuditRecord, FieldValue

    audit = AuditRecord(
        kind=AuditKind.OWNERSHIP_CONFLICT,
        entity=EntityKind.CUSTOMER,
        record=ExternalIds(crm_id="acc-9"),
        field="email",
        attempted=FieldValue(system="tryton", value=EMAIL),
        kept=FieldValue(system="bottlecrm", value="old@x.io"),
        reason="tryton changed email",
        at=NOW,
    )
    redacted = redacted_audit(audit, Target(ids=audit.record, needles={EMAIL}))
    assert (redacted.attempted, redacted.kept) == (None, None)
    assert redacted.reason.endswith(VALUES_ERASED)
    assert redacted.field == "email"


def test_the_policy_names_the_systems_to_anonymise_in_unless_the_call_says() -> None:
    policy = ErasurePolicy(anonymise_crm=True)
    assert policy.roles() == [SystemRole.CRM]
    assert policy.roles(crm=True, erp=True) == [SystemRole.CRM, SystemRole.ERP]
    assert policy.roles(crm=False, erp=False) == []


def test_an_erased_key_is_remembered_by_its_hash_only() -> None:
    assert erased_key("customer:acc-9") == erased_key("customer:acc-9")
    assert "acc-9" not in erased_key("customer:acc-9")


@pytest.fixture
def sync() -> SyncApp:
    settings = Settings(kafka=KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="t"))
    app = faust.App("q2c-erasure-step", broker="kafka://127.0.0.1:9", store="memory://")
    return SyncApp(app, settings, SyncConfig())


def test_the_step_erases_the_record_and_skips_its_later_changes(sync: SyncApp) -> None:
    overlay: Overlay[Any] = Overlay()
    key = "customer:acc-9"

    def step(message: Any) -> Any:
        out, writes = sync.step(key, message, NOW, overlay)
        for table, table_key, state in writes:
            overlay.put(table.name, table_key, state, None)
        return out, writes

    step(change(_customer(), SystemRole.CRM))
    erase = EraseRecord(
        key=key,
        customer=ExternalIds(crm_id="acc-9"),
        anonymise=[SystemRole.CRM, SystemRole.ERP],
        actor="dpo",
        at=NOW,
    )
    assert route_key(erase, None) == key
    out, writes = step(erase)
    deleted = {(table.name, k) for table, k, state in writes if state is None}
    assert deleted == {("golden", key), ("orders", key), ("finance", key)}
    assert ("golden", erased_key(key)) in {(t.name, k) for t, k, s in writes if s is not None}
    assert out.withdrawn == ["acc-9", "erp:42"]
    commands = [e.command for e in out.commands]
    assert all(isinstance(c, DeleteRecord) and c.mode is DeleteMode.ANONYMISE for c in commands)
    assert sorted(e.role for e in out.commands) == [SystemRole.CRM, SystemRole.ERP]
    (audit,) = out.audits
    assert audit.kind is AuditKind.ERASED
    assert audit.actor == "dpo"
    for message in (*out.audits, *commands):
        text = CODEC.encode(message).decode()
        assert NAME not in text
        assert EMAIL not in text

    later, writes = step(change(_customer(), SystemRole.ERP))
    assert (later.commands, later.customers, writes) == ([], [], [])
    (skipped,) = later.audits
    assert skipped.kind is AuditKind.ERASED
    assert "skipped" in skipped.reason
