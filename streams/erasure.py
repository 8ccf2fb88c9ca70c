"""`q2c erase customer ID` and ``POST /admin/erase/customer/{id}``: erase a customer's
personal data from q2c (see :mod:`streams.rules.erasure` for what is erased and how).

1. *Find*: the reference customers, the sync's table changelogs and the canonical changes
   are read whole; they name the customer's other ids, its contacts, deals and ledger, and
   its personal values.
2. *Tables*: an :class:`~schemas.decisions.EraseRecord` per record goes to the control
   topic, keyed by the record, so the worker that owns the record's table partition
   deletes its entries (tombstones on the changelogs), remembers the key as erased (by a
   hash), withdraws the customer from the reference view and, as configured, asks the CRM
   and the ERP sinks to anonymise the customer and its contacts.
3. *Topics*: every q2c topic that carries personal data is read whole; a record of the
   customer gets a tombstone for its key on its partition (state topics), or is replaced
   under its key by a redacted copy (dead letters, audit records), so the log cleaner
   removes the original. Records already erased are left alone: running it again changes
   nothing more.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from q2c.core.kafka_admin import partitions_of
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from schemas import CODEC, AuditKind, AuditRecord, DeadLetter, DecodeError
from schemas.changes import SystemRole
from schemas.decisions import EraseRecord
from schemas.entities import EntityKind, ExternalIds
from streams.config import SyncConfig
from streams.rules.erasure import (
    REDACTED,
    VALUES_ERASED,
    Target,
    customer_keys,
    learn,
    mentions_customer,
    redacted_audit,
    redacted_letter,
    reference_keys,
    same_customer,
)

log = logging.getLogger(__name__)

TABLES = ("golden", "orders", "finance")
"""The sync's tables (their changelogs are ``<app id>-<table>-changelog``)."""
SYNC_KEYS = ("customer:", "contact:", "deal:", "ledger:")


class UnknownCustomer(LookupError):
    """q2c holds nothing of the customer named."""


@dataclass
class ErasureReport:
    """What one erasure did: the customer's ids, the records the worker was told to erase,
    and per topic how many records got a tombstone or a redacted copy."""

    customer: ExternalIds
    records: list[str] = field(default_factory=list)
    anonymise: list[SystemRole] = field(default_factory=list)
    tombstoned: Counter[str] = field(default_factory=Counter)
    redacted: Counter[str] = field(default_factory=Counter)
    keyless: Counter[str] = field(default_factory=Counter)
    """Records of the customer without a key (written before the topic was compacted): no
    tombstone can name them; the log cleaner drops keyless records when it compacts."""

    def as_json(self) -> dict[str, Any]:
        return {
            "customer": self.customer.model_dump(),
            "records": self.records,
            "anonymise": [role.value for role in self.anonymise],
            "tombstoned": dict(self.tombstoned),
            "redacted": dict(self.redacted),
            "keyless": dict(self.keyless),
        }

    def lines(self) -> list[str]:
        ids = self.customer
        out = [f"erased customer crm_id={ids.crm_id} erp_id={ids.erp_id}"]
        out += [f"  record {key}" for key in self.records]
        out += [f"  anonymise in the {role.value.upper()}" for role in self.anonymise]
        out += [f"  tombstones  {t}: {n}" for t, n in sorted(self.tombstoned.items())]
        out += [f"  redacted    {t}: {n}" for t, n in sorted(self.redacted.items())]
        out += [
            f"  keyless     {t}: {n} (the log cleaner drops them)" for t, n in self.keyless.items()
        ]
        return out


def personal_topics(settings: Settings, cfg: SyncConfig) -> list[str]:
    """The topics whose records may carry a customer's personal data."""
    topics = Topics(settings.kafka.topic_prefix)
    names = [topics.changes, topics.sync, topics.reference("customers")]
    for system in (cfg.crm_system, cfg.erp_system):
        names += [topics.raw(system), topics.commands(system), topics.results(system)]
    return [*names, topics.dead_letter, topics.audit]


def changelogs(settings: Settings) -> list[str]:
    return [f"{settings.worker.app_id}-{table}-changelog" for table in TABLES]


async def read_whole(
    client_kwargs: dict[str, Any], topics: Iterable[str]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record ``topics`` hold now (a missing topic holds none)."""
    tps = [
        TopicPartition(topic, p)
        for topic in topics
        for p in await partitions_of(client_kwargs, topic)
    ]
    if not tps:
        return []
    consumer = AIOKafkaConsumer(
        **client_kwargs, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        waiting = {tp for tp in tps if ends[tp] > 0}
        while waiting:
            batch = await consumer.getmany(*waiting, timeout_ms=500)
            for tp, got in batch.items():
                records += [r for r in got if r.offset < ends[tp]]
            waiting = {tp for tp in waiting if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


def _json(value: bytes | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _key(record: ConsumerRecord[bytes, bytes]) -> str | None:
    return None if record.key is None else record.key.decode("utf-8", errors="replace")


def find(target: Target, records: Iterable[ConsumerRecord[bytes, bytes]]) -> Target:
    """``target`` completed from ``records`` (read twice: the customer's ids found in the
    first pass name its contacts, deals and ledger in the second)."""
    kept = list(records)
    for _ in range(2):
        for record in kept:
            message = _json(record.value)
            if message is not None:
                learn(target, _key(record), message)
    target.keys |= customer_keys(target.ids)
    return target


def concerns(target: Target, record: ConsumerRecord[bytes, bytes], refs: set[str]) -> bool:
    """Whether ``record`` holds data of the customer: keyed by one of its records, naming
    it by its ids, or holding one of its personal values."""
    key = _key(record)
    if key is not None and (key in target.keys or key in refs):
        return True
    if key is not None and key.split("/", 1)[0] in _audit_prefixes(target):
        return True
    if record.value is None:
        return False
    message = _json(record.value)
    if message is not None and mentions_customer(message, target.ids):
        return True
    return target.contains_personal(record.value)


def _audit_prefixes(target: Target) -> set[str]:
    """Audit records are keyed ``entity/id/hash``: the prefixes of the customer's."""
    prefixes = set()
    for key in target.keys:
        kind, _, ident = key.partition(":")
        if kind in ("customer", "contact") and not ident.startswith("erp:"):
            prefixes.add(f"{kind}/{ident}")
    return prefixes


def to_erase(
    target: Target, records: Iterable[ConsumerRecord[bytes, bytes]], refs: set[str]
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records to erase: per key and partition of a topic, the last record that holds
    data of the customer, unless a tombstone or a redacted copy already follows it (the
    log cleaner then removes it). Keyless records are listed too: they cannot be erased."""
    last: dict[tuple[str, int, bytes], ConsumerRecord[bytes, bytes]] = {}
    hit: dict[tuple[str, int, bytes], ConsumerRecord[bytes, bytes]] = {}
    keyless = []
    for record in records:
        if record.key is None:
            if record.value is not None and concerns(target, record, refs):
                keyless.append(record)
            continue
        place = (record.topic, record.partition, record.key)
        last[place] = record
        if record.value is not None and concerns(target, record, refs) and not erased(record):
            hit[place] = record
    return keyless + [r for place, r in hit.items() if last[place] is r]


def erased(record: ConsumerRecord[bytes, bytes]) -> bool:
    """Whether ``record`` is what an erasure leaves: a redacted dead letter, an audit
    record without values, the audit record of an erasure."""
    try:
        message = CODEC.decode(record.value or b"")
    except DecodeError:
        return False
    if isinstance(message, DeadLetter):
        return message.payload_text == REDACTED
    if isinstance(message, AuditRecord):
        return message.kind is AuditKind.ERASED or message.reason.endswith(VALUES_ERASED)
    return False


def erased_before(target: Target, records: Iterable[ConsumerRecord[bytes, bytes]]) -> bool:
    """Whether the audit topic records an erasure of the customer."""
    for record in records:
        try:
            message = CODEC.decode(record.value or b"")
        except DecodeError:
            continue
        if not isinstance(message, AuditRecord) or message.kind is not AuditKind.ERASED:
            continue
        if message.entity is EntityKind.CUSTOMER and same_customer(
            message.record.model_dump(), target.ids
        ):
            return True
    return False


def replacement(
    record: ConsumerRecord[bytes, bytes], target: Target, now: datetime
) -> bytes | None:
    """What replaces ``record`` under its key: a redacted copy of a dead letter or an audit
    record, a tombstone (None) for anything else."""
    try:
        message = CODEC.decode(record.value or b"")
    except DecodeError:
        return None
    if isinstance(message, DeadLetter):
        return CODEC.encode(redacted_letter(message, target, now))
    if isinstance(message, AuditRecord):
        return CODEC.encode(redacted_audit(message, target))
    return None


async def erase_customer(
    settings: Settings,
    cfg: SyncConfig,
    ids: ExternalIds,
    actor: str,
    anonymise: list[SystemRole],
) -> ErasureReport:
    """Erase the customer ``ids`` (one side is enough); UnknownCustomer when q2c holds
    nothing of it."""
    client_kwargs = settings.kafka.client_kwargs()
    topics = Topics(settings.kafka.topic_prefix)
    scanned = personal_topics(settings, cfg)
    found = await read_whole(
        client_kwargs, [topics.reference("customers"), *changelogs(settings), topics.changes]
    )
    target = find(Target(ids=ids), found)
    refs = reference_keys(target.ids)
    everything = await read_whole(client_kwargs, scanned)
    mine = to_erase(target, everything, refs)
    report = ErasureReport(customer=target.ids, anonymise=sorted(set(anonymise)))
    if not mine and not any(concerns(target, r, refs) for r in found):
        if not erased_before(target, everything):
            raise UnknownCustomer(f"q2c holds no record of customer {_named(ids)}")
        return report  # erased already: nothing left
    report.records = sorted(k for k in target.keys if k.startswith(SYNC_KEYS))
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(**client_kwargs, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = []
        for key in report.records:
            message = EraseRecord(
                key=key,
                customer=target.ids,
                anonymise=report.anonymise if key.startswith(("customer:", "contact:")) else [],
                actor=actor,
                at=now,
            )
            sent.append(
                await producer.send(topics.control, key=key.encode(), value=CODEC.encode(message))
            )
        for record in mine:
            if record.key is None:
                report.keyless[record.topic] += 1
                continue
            value = replacement(record, target, now)
            sent.append(
                await producer.send(
                    record.topic, key=record.key, value=value, partition=record.partition
                )
            )
            counter = report.tombstoned if value is None else report.redacted
            counter[record.topic] += 1
        for future in sent:
            await future
    finally:
        await producer.stop()
    log.info("erased customer %s: %d records", _named(target.ids), len(report.records))
    return report


def _named(ids: ExternalIds) -> str:
    return " / ".join(
        part
        for part in (
            f"CRM {ids.crm_id}" if ids.crm_id else "",
            f"ERP {ids.erp_id}" if ids.erp_id else "",
        )
        if part
    )
