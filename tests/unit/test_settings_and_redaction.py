from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from q2c.core.settings import Settings
from q2c.core.telemetry import JsonFormatter, redact


def test_env_vars_with_the_prefix_configure_nested_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("Q2C_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("Q2C_KAFKA__SASL_USERNAME", "q2c")
    monkeypatch.setenv("Q2C_KAFKA__SASL_PASSWORD", "hunter2-hunter2")
    settings = Settings()
    assert settings.kafka.bootstrap == "broker-1:9092,broker-2:9092"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()
    assert settings.kafka.client_kwargs()["sasl_plain_password"] == "hunter2-hunter2"


def test_a_config_file_is_read_and_env_vars_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "q2c.toml"
    config.write_text('[kafka]\nbootstrap = "from-file:9092"\ntopic_prefix = "acme"\n')
    monkeypatch.setenv("Q2C_CONFIG", str(config))
    assert Settings().kafka.topic_prefix == "acme"
    assert Settings().kafka.bootstrap == "from-file:9092"
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", "from-env:9092")
    assert Settings().kafka.bootstrap == "from-env:9092"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer bcrm_pat_abcdef123456", "abcdef123456"),
        ('{"password": "p4ssw0rd!"}', "p4ssw0rd!"),
        ("token=abc.def.ghi&x=1", "abc.def.ghi"),
        ("postgresql://q2c:tops3cret@db:5432/x", "tops3cret"),
        ("Session YWRtaW46MTpkZWFkYmVlZg==", "YWRtaW46MTpkZWFkYmVlZg=="),
        ("client_secret: 'sfdc-9f8e7d'", "sfdc-9f8e7d"),
    ],
)
def test_redaction_masks_credentials(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_systems_secret_shapes_are_masked_once_installed() -> None:
    from connectors.registry import install_secret_patterns

    install_secret_patterns()
    assert redact("retrying with bcrm_pat_AbC-123_x failed") == "retrying with bcrm_pat_*** failed"


def test_json_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "q2c", logging.ERROR, __file__, 1, "login failed with password=%s", ("s3cret",), None
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert "s3cret" not in line["msg"]


def test_a_connector_section_merges_defaults_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import BaseModel, SecretStr

    from q2c.core.settings import load_section

    class PeerSettings(BaseModel):
        url: str
        user: str = "admin"
        password: SecretStr
        timeout: float = 30.0

    config = tmp_path / "q2c.toml"
    config.write_text('[peer]\nuser = "q2c"\ntimeout = 5\n')
    monkeypatch.setenv("Q2C_CONFIG", str(config))
    monkeypatch.setenv("Q2C_PEER__PASSWORD", "from-env")
    loaded = load_section(PeerSettings, "peer", {"url": "http://127.0.0.1:1", "user": "x"})
    assert loaded.url == "http://127.0.0.1:1"
    assert loaded.user == "q2c"
    assert loaded.timeout == 5.0
    assert loaded.password.get_secret_value() == "from-env"


def test_sync_rules_come_from_the_config_file_and_json_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from q2c.core.settings import load_section
    from schemas.changes import SystemRole
    from schemas.entities import EntityKind
    from streams.config import SyncConfig

    config = tmp_path / "q2c.toml"
    config.write_text(
        '[sync.trigger]\nstages = ["WON"]\nmin_amount = "10000"\n'
        '[sync.ownership.entities.customer]\ndefault = "erp"\n'
    )
    monkeypatch.setenv("Q2C_CONFIG", str(config))
    monkeypatch.setenv("Q2C_SYNC__POLICY", '{"max_discount_percent": "15", "max_wait": "PT2H"}')
    cfg = load_section(SyncConfig, "sync")
    assert cfg.trigger.stages == frozenset({"WON"})
    assert cfg.trigger.min_amount == Decimal(10000)
    assert cfg.policy.max_discount_percent == Decimal(15)
    assert cfg.policy.max_wait.total_seconds() == 7200
    assert cfg.ownership.owner(EntityKind.CUSTOMER, "name") is SystemRole.ERP
