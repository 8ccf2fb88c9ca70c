"""Production commands read the environment and the config file only: `.q2c/stack.json` is
read with --dev alone, and a missing setting is named by the variable that sets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from connectors.tryton.settings import TrytonSettings
from q2c.cli import cli
from q2c.cli.resolve import missing_settings, resolved_settings


@pytest.fixture
def local_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local stack's stack.json, and no Q2C_* variable set."""
    import os

    for name in list(os.environ):
        if name.startswith("Q2C_"):
            monkeypatch.delenv(name)
    (tmp_path / "stack.json").write_text(
        json.dumps({"kafka": {"bootstrap": "127.0.0.1:1"}, "tryton": {"url": "http://x"}})
    )
    monkeypatch.setenv("Q2C_DEV__STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["worker"],
        ["topics", "ensure"],
        ["connector", "run", "tryton"],
        ["approve", "deal-1", "--by", "cfo"],
        ["replay", "--group", "q2c", "--topic", "q2c.changes", "--offset", "0"],
        ["reconcile"],
        ["resync", "--rejected"],
        ["dead-letters", "list"],
        ["dead-letters", "resolve", "0:1", "--by", "ops", "--note", "n"],
    ],
)
def test_a_production_command_does_not_read_the_local_stack(
    local_stack: Path, command: list[str]
) -> None:
    outcome = CliRunner().invoke(cli, command)
    assert outcome.exit_code != 0
    assert "Q2C_KAFKA__BOOTSTRAP is not set" in outcome.output
    assert "--dev" in outcome.output


def test_dev_takes_the_local_broker_under_what_is_configured(
    local_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolved_settings(dev=True).kafka.bootstrap == "127.0.0.1:1"
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", "broker:9092")
    assert resolved_settings(dev=True).kafka.bootstrap == "broker:9092"


def test_dev_without_a_local_stack_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_DEV__STATE_DIR", str(tmp_path / "none"))
    outcome = CliRunner().invoke(cli, ["status", "--dev"])
    assert outcome.exit_code != 0
    assert "q2c dev up" in outcome.output


def test_a_connector_names_each_missing_setting(
    local_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("Q2C_TRYTON__PASSWORD", "s3cret-value")
    monkeypatch.setenv("Q2C_TRYTON__PAGE_SIZE", "0")
    for command in (["connector", "run", "tryton"], ["connector", "setup", "tryton"]):
        outcome = CliRunner().invoke(cli, command)
        assert outcome.exit_code != 0
        assert "Q2C_TRYTON__URL is not set" in outcome.output
        assert "Q2C_TRYTON__DATABASE is not set" in outcome.output
        assert "Q2C_TRYTON__PAGE_SIZE:" in outcome.output
        assert "s3cret-value" not in outcome.output


def test_an_invalid_credential_is_named_never_shown() -> None:
    with pytest.raises(ValidationError) as caught:
        TrytonSettings.model_validate({"url": "u", "database": "d", "password": ["hunter2"]})
    message = missing_settings("tryton", caught.value).message
    assert "Q2C_TRYTON__PASSWORD" in message
    assert "hunter2" not in message
