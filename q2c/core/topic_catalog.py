"""Every topic q2c uses, with its partitions and configs.

Brokers should run with ``auto.create.topics.enable=false``: a misspelt topic name is then an
error instead of a new, silently unread topic. So q2c declares each of its topics here and
creates them before it uses them (``q2c topics ensure``, and at the start of workers and
connectors). Configs are explicit, not the broker's defaults, so two clusters behave alike.

Faust's own topics (table changelogs, the partition assignor's leader topic) are not listed:
Faust creates them through the admin API.

Topics that carry personal data (raw and canonical changes, sync, commands, results, dead
letters, audit) are compacted *and* deleted by age (``compact,delete``): each record is
keyed by the record it concerns (dead letters and audit records by their own identity), so
an erasure's tombstone for a key removes every earlier value of it once the log cleaner
has run, while retention still bounds the age of everything. ``min.compaction.lag.ms``
keeps records whole for ``erasure_lag_hours`` first, so a replay within that window sees
every change, not only the last one of each record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from q2c.core.settings import KafkaSettings
from q2c.core.topics import Topics

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str] = field(default_factory=dict)


HOUR_MS = 60 * 60 * 1000


def _deleting(days: int) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(days * DAY_MS)}


def _personal(days: int, lag_hours: int) -> dict[str, str]:
    """A topic carrying personal data: erasable by tombstones, and bounded in age."""
    return {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(days * DAY_MS),
        "min.compaction.lag.ms": str(lag_hours * HOUR_MS),
    }


COMPACTED = {"cleanup.policy": "compact"}


def q2c_topics(kafka: KafkaSettings, systems: Iterable[str]) -> list[TopicSpec]:
    """The topics of one installation for ``systems``: their raw, command and result topics,
    and the topics every installation shares."""
    topics = Topics(kafka.topic_prefix)
    rf = kafka.replication_factor
    lag = kafka.erasure_lag_hours
    streams = _personal(kafka.retention_days, lag)

    def partitioned(name: str, configs: Mapping[str, str] = streams) -> TopicSpec:
        return TopicSpec(name, kafka.partitions, rf, dict(configs))

    def compacted(name: str) -> TopicSpec:
        # One partition: readers (cursor stores, join views) read these topics whole.
        return TopicSpec(name, 1, rf, dict(COMPACTED))

    specs = [
        partitioned(topics.changes),
        partitioned(topics.sync),
        partitioned(topics.control, _deleting(kafka.retention_days)),
        partitioned(topics.dead_letter, _personal(kafka.dead_letter_retention_days, lag)),
        partitioned(topics.audit, _personal(kafka.audit_retention_days, lag)),
        compacted(topics.dead_letter_resolutions),
        compacted(topics.cursors),
        compacted(topics.reference("customers")),
        compacted(topics.reference("items")),
    ]
    for system in sorted(set(systems)):
        specs += [
            partitioned(topics.raw(system)),
            partitioned(topics.commands(system)),
            partitioned(topics.results(system)),
        ]
    return specs


def config_changes(spec: TopicSpec, current: Mapping[str, str]) -> dict[str, str]:
    """The configs of ``spec`` whose value differs from ``current`` (empty: nothing to do)."""
    return {k: v for k, v in spec.configs.items() if current.get(k) != v}
