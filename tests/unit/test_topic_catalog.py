"""The topic catalog: every topic q2c uses, with explicit partitions, retention and cleanup."""

from __future__ import annotations

from q2c.core.settings import KafkaSettings
from q2c.core.topic_catalog import DAY_MS, TopicSpec, config_changes, q2c_topics


def _by_name(kafka: KafkaSettings, systems: list[str]) -> dict[str, TopicSpec]:
    return {spec.name: spec for spec in q2c_topics(kafka, systems)}


def test_every_topic_of_the_systems_and_the_shared_ones_is_listed() -> None:
    specs = _by_name(KafkaSettings(topic_prefix="acme"), ["tryton", "bottlecrm"])
    shared = [
        "changes",
        "sync",
        "control",
        "dead-letter",
        "dead-letter.resolutions",
        "audit",
        "cursors",
    ]
    per_system = [
        f"{kind}.{s}" for s in ("tryton", "bottlecrm") for kind in ("raw", "commands", "results")
    ]
    expected = {f"acme.{n}" for n in [*shared, *per_system, "ref.customers", "ref.items"]}
    assert set(specs) == expected


def test_retention_is_explicit_and_configurable() -> None:
    kafka = KafkaSettings(
        partitions=3, replication_factor=2, dead_letter_retention_days=90, audit_retention_days=730
    )
    specs = _by_name(kafka, ["tryton"])
    day_of_lag = str(72 * 60 * 60 * 1000)
    assert specs["q2c.dead-letter"].configs == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(90 * DAY_MS),
        "min.compaction.lag.ms": day_of_lag,
    }
    assert specs["q2c.audit"].configs["retention.ms"] == str(730 * DAY_MS)
    for name in ("q2c.changes", "q2c.commands.tryton", "q2c.results.tryton", "q2c.raw.tryton"):
        assert specs[name].configs == {
            "cleanup.policy": "compact,delete",
            "retention.ms": str(7 * DAY_MS),
            "min.compaction.lag.ms": day_of_lag,
        }
        assert (specs[name].partitions, specs[name].replication) == (3, 2)
    assert specs["q2c.control"].configs == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * DAY_MS),
    }


def test_topics_carrying_personal_data_are_erasable_by_key() -> None:
    """Compacted (a tombstone removes a key's earlier values) and still bounded in age."""
    specs = _by_name(KafkaSettings(erasure_lag_hours=2), ["bottlecrm"])
    personal = [
        "q2c.changes",
        "q2c.sync",
        "q2c.dead-letter",
        "q2c.audit",
        "q2c.raw.bottlecrm",
        "q2c.commands.bottlecrm",
        "q2c.results.bottlecrm",
    ]
    for name in personal:
        assert specs[name].configs["cleanup.policy"] == "compact,delete"
        assert specs[name].configs["min.compaction.lag.ms"] == str(2 * 60 * 60 * 1000)


def test_cursors_and_reference_topics_are_compacted_single_partitions() -> None:
    specs = _by_name(KafkaSettings(partitions=6), [])
    for name in (
        "q2c.cursors",
        "q2c.dead-letter.resolutions",
        "q2c.ref.customers",
        "q2c.ref.items",
    ):
        assert specs[name].configs == {"cleanup.policy": "compact"}
        assert specs[name].partitions == 1
        assert "retention.ms" not in specs[name].configs


def test_only_differing_configs_are_changed() -> None:
    spec = TopicSpec("t", 1, 1, {"cleanup.policy": "delete", "retention.ms": "100"})
    current = {"cleanup.policy": "delete", "retention.ms": "604800000", "segment.ms": "1"}
    assert config_changes(spec, current) == {"retention.ms": "100"}
    assert config_changes(spec, {"cleanup.policy": "delete", "retention.ms": "100"}) == {}
