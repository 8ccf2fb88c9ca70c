"""`q2c connector map` accepts every sample document a system ships, each stream has one,
and a document read twice gives the same fingerprints."""

from __future__ import annotations

from typing import Any

import orjson
from click.testing import CliRunner

from connectors.base.spec import ConnectorSpec
from q2c.cli import cli
from tests.conformance.conftest import Sample, samples_of


def test_every_document_stream_has_a_sample(connector_spec: ConnectorSpec[Any]) -> None:
    assert connector_spec.documents, f"{connector_spec.name} declares no document streams"
    covered = {sample.stream for sample in samples_of(connector_spec.name)}
    missing = sorted(set(connector_spec.documents) - covered)
    assert not missing, f"no sample under samples/<stream>/ for: {', '.join(missing)}"
    unknown = sorted(covered - set(connector_spec.documents))
    assert not unknown, f"samples for streams the spec does not declare: {', '.join(unknown)}"


def test_map_accepts_the_sample(system: str, sample: Sample) -> None:
    result = CliRunner().invoke(
        cli, ["connector", "map", system, sample.stream, "-"], input=sample.document.read_bytes()
    )
    assert result.exit_code == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert lines, f"{sample.name} made no canonical change and no action"
    for line in lines:
        assert "action" in line or line["origin_system"] == system


def test_a_document_read_twice_has_the_same_fingerprints(
    connector_spec: ConnectorSpec[Any],
) -> None:
    for sample in samples_of(connector_spec.name):
        read = connector_spec.documents[sample.stream].read
        document = orjson.loads(sample.document.read_bytes())
        first, again = read(document), read(document)
        assert [c.fingerprint for c in first.changes] == [c.fingerprint for c in again.changes]
        assert [c.record_id for c in first.changes] == [c.record_id for c in again.changes]
        mapper = connector_spec.mapper()
        for raw in first.changes:
            for change in mapper.canonical(raw):
                assert change.fingerprint == raw.fingerprint
