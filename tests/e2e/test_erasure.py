"""Erasure of a customer on the real peers and the real broker: a BottleCRM account with a
recognisable name and email (and a contact) is synced to Tryton, a dead letter holds its
data, and `q2c erase customer` erases it. The account and contact are
anonymised in BottleCRM, the party erased in Tryton, and once the log cleaner has compacted
q2c's topics and the sync's changelogs, the name and email are on none of them. Asked
again (`POST /admin/erase/customer/{id}`), the erasure finds nothing more of the
customer's."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from connectors.bottlecrm.models import AccountInput, ContactInput
from schemas import CODEC, AuditKind, AuditRecord, DeadLetter, DecodeError, EntityKind
from streams.erasure import read_whole
from streams.rules.erasure import REDACTED
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.integration

COMPACT_NOW = {
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "max.compaction.lag.ms": "100",
    "delete.retention.ms": "100",
}
"""Topic configs that let the log cleaner compact everything but the active segment now."""
ROLL_KEY = b"erasure-test-roll"
DYNAMIC_TOPIC_CONFIG = 1
"""DescribeConfigs' source of a config set on the topic itself."""


async def q2c_topics(stack: Stack) -> list[str]:
    """Every topic of the stack: q2c's and the worker's table changelogs."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    app_id = stack.env["Q2C_WORKER__APP_ID"]
    return sorted(n for n in names if n.startswith((f"{stack.topics.prefix}.", f"{app_id}-")))


async def holding(stack: Stack, topics: list[str], needles: list[bytes]) -> list[str]:
    """Where any of ``needles`` is still found: 'topic/partition/offset', read from the start."""
    found = []
    for r in await read_whole({"bootstrap_servers": stack.bootstrap}, topics):
        text = ((r.key or b"") + b" " + (r.value or b"")).lower()
        if any(n in text for n in needles):
            found.append(f"{r.topic}/{r.partition}/{r.offset}")
    return found


async def compact_now(stack: Stack, topics: list[str]) -> None:
    """Let the cleaner compact ``topics`` and roll their segments (a tombstone for a key no
    one uses, on each partition: every consumer passes tombstones over)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        )
        compacted: dict[str, dict[str, str]] = {}
        for response in described:
            for resource in response.to_object()["resources"]:
                entries = resource["config_entries"]
                policy = next(e for e in entries if e["config_names"] == "cleanup.policy")
                if "compact" in policy["config_value"]:
                    # A (non-incremental) alter replaces the topic's own configs: keep them.
                    own = {
                        e["config_names"]: e["config_value"]
                        for e in entries
                        if e["config_source"] == DYNAMIC_TOPIC_CONFIG
                    }
                    compacted[resource["resource_name"]] = {**own, **COMPACT_NOW}
        for topic, configs in compacted.items():
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)]
            )
    finally:
        await admin.close()
    await asyncio.sleep(0.3)  # older than segment.ms: the next record rolls the segment
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        for topic in compacted:
            for p in await producer.partitions_for(topic):
                await producer.send_and_wait(topic, key=ROLL_KEY, value=None, partition=p)
    finally:
        await producer.stop()


async def dead_letter_of(stack: Stack, needle: str) -> DeadLetter:
    consumer = AIOKafkaConsumer(
        stack.topics.dead_letter, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[DeadLetter] = []
    try:

        async def probe() -> DeadLetter | None:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                seen.extend(CODEC.decode_as(r.value or b"", DeadLetter) for r in records)
            return next((d for d in seen if needle in (d.payload_text or "")), None)

        return await stack.eventually(probe, "the dead letter of the customer")
    finally:
        await consumer.stop()


async def erased_audit(stack: Stack, account: str) -> AuditRecord:
    consumer = AIOKafkaConsumer(
        stack.topics.audit, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[AuditRecord] = []
    try:

        async def probe() -> AuditRecord | None:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    try:
                        seen.append(CODEC.decode_as(r.value or b"", AuditRecord))
                    except DecodeError:
                        continue
            return next(
                (
                    a
                    for a in seen
                    if a.kind is AuditKind.ERASED
                    and a.entity is EntityKind.CUSTOMER
                    and a.record.crm_id == account
                ),
                None,
            )

        return await stack.eventually(probe, "the audit record of the erasure")
    finally:
        await consumer.stop()


async def erase_by_api(stack: Stack, account: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{stack.env['Q2C_WORKER__WEB_PORT']}/admin/erase/customer/{account}"
    headers = {"Authorization": f"Bearer {stack.env['Q2C_WORKER__ADMIN_TOKEN']}"}
    params = {"actor": "dpo@example.test"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, params=params, headers=headers) as r,
    ):
        body = await r.json()
        assert r.status == 200, body
        assert isinstance(body, dict)
        return body


@pytest.mark.q2c_env(
    Q2C_SYNC__ERASURE='{"anonymise_crm": true, "anonymise_erp": true}',
)
async def test_an_erased_customer_is_anonymised_and_gone_from_every_topic(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    name, email = f"Zebulon Erasure {tag}", f"zebulon.{tag}@erasure.example"
    person, person_email = f"Quintessa{tag}", f"quintessa.{tag}@erasure.example"
    needles = [v.lower().encode() for v in (name, email, person, person_email)]
    account = await stack.crm.create_account(AccountInput(name=name, email=email))
    contact = await stack.crm.create_contact(
        ContactInput(first_name=person, last_name="Plain", email=person_email, account=account)
    )

    async def party() -> int | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", account)])
        return int(rows[0]) if rows else None

    party_id = await stack.eventually(party, "the account as a Tryton party")

    async def mechanisms() -> bool | None:
        found = await stack.erp.search(
            "party.contact_mechanism", [("party", "=", party_id), ("value", "=", person_email)]
        )
        return True if found else None

    await stack.eventually(mechanisms, "the contact's email in Tryton")

    # A dead letter holding the customer's data: a change of it the sync cannot read.
    broken = {
        "schema": "entity_change",
        "schema_version": 3,
        "entity": "customer",
        "ids": {"crm_id": account},
        "data": {"name": name, "email": email},
    }
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        key = f"customer:{account}".encode()
        await producer.send_and_wait(stack.topics.changes, orjson.dumps(broken), key=key)
    finally:
        await producer.stop()
    letter = await dead_letter_of(stack, email)

    erased = stack.q2c("erase", "customer", account, "--actor", "dpo@example.test", "--json")
    assert erased.returncode == 0, erased.stderr
    report = json.loads(erased.stdout)
    assert report["customer"] == {"crm_id": account, "erp_id": str(party_id)}
    assert f"customer:{account}" in report["records"]
    assert f"contact:{contact}" in report["records"]
    assert report["redacted"].get(stack.topics.dead_letter, 0) >= 1
    assert report["tombstoned"].get(stack.topics.changes, 0) >= 1
    audit = await erased_audit(stack, account)
    assert audit.actor == "dpo@example.test"
    assert name not in audit.model_dump_json()
    assert email not in audit.model_dump_json()

    async def anonymised_crm() -> bool | None:
        acc = await stack.crm.record("account", account)
        person_now = await stack.crm.record("contact", contact)
        done = acc.get("name", "").startswith("Erased customer") and not acc.get("email")
        done = done and not person_now.get("email") and person_now.get("first_name") == "Erased"
        return True if done else None

    await stack.eventually(anonymised_crm, "the account and its contact anonymised in BottleCRM")

    async def erased_erp() -> bool | None:
        (row,) = await stack.erp.read(
            "party.party", [party_id], ["name", "active"], context={"active_test": False}
        )
        return True if not row["name"] and not row["active"] else None

    await stack.eventually(erased_erp, "the party erased in Tryton")

    # Asked again, through the admin API: whatever came after the first erasure (the
    # peers' anonymised records) holds nothing of the customer's.
    again = await erase_by_api(stack, account)
    assert again["customer"]["crm_id"] == account

    topics = await q2c_topics(stack)
    assert f"{stack.env['Q2C_WORKER__APP_ID']}-golden-changelog" in topics
    assert await holding(stack, topics, needles), "the data was on the topics before"
    await compact_now(stack, topics)

    async def gone() -> bool | None:
        return True if not await holding(stack, topics, needles) else None

    try:
        await stack.eventually(gone, "no topic holding the customer's data", within=240)
    except AssertionError:
        left = await holding(stack, topics, needles)
        raise AssertionError(f"the customer's data is still at {left}") from None
    # The dead letter stays, redacted: its reason, stage and origin are kept.
    kept = await dead_letters_from(stack, letter)
    assert [k.payload_text for k in kept] == [REDACTED]
    assert (kept[0].stage, kept[0].reason) == (letter.stage, letter.reason)


async def dead_letters_from(stack: Stack, letter: DeadLetter) -> list[DeadLetter]:
    """The dead letters (left after compaction) of the message ``letter`` is about."""
    records = await read_whole({"bootstrap_servers": stack.bootstrap}, [stack.topics.dead_letter])
    read = [CODEC.decode_as(r.value, DeadLetter) for r in records if r.value is not None]
    return [d for d in read if d.origin == letter.origin]
