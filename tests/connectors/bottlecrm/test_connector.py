"""How the BottleCRM connector is put together from its settings."""

from __future__ import annotations

import pytest

from connectors.bottlecrm.mapping import BottleCrmMapper
from connectors.bottlecrm.sink import BottleCrmSink
from connectors.bottlecrm.spec import SPEC
from q2c.core.settings import Settings

RECORDED = {
    "url": "http://127.0.0.1:9",
    "token": "bcrm_pat_recorded",
    "jwt": "jwt-recorded",
    "org": "ignored",
    "pid": 1,
}


def test_environment_overrides_what_the_stack_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_BOTTLECRM__TOKEN", "bcrm_pat_from_env")
    monkeypatch.setenv("Q2C_BOTTLECRM__SCAN_INTERVAL", "5")
    config = SPEC.configured(RECORDED)
    assert config.url == "http://127.0.0.1:9"
    assert config.token.get_secret_value() == "bcrm_pat_from_env"
    assert config.jwt is not None
    assert config.jwt.get_secret_value() == "jwt-recorded"
    assert config.scan_interval == 5
    assert "bcrm_pat_from_env" not in repr(config)


def test_settings_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("Q2C_BOTTLECRM__URL", raising=False)
    monkeypatch.delenv("Q2C_BOTTLECRM__TOKEN", raising=False)
    with pytest.raises(ValueError, match="url"):
        SPEC.configured({})


async def test_parts_without_and_with_a_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("Q2C_BOTTLECRM__WEBHOOK_SECRET", raising=False)
    parts = await SPEC.build(Settings(), RECORDED)
    assert parts.system == "bottlecrm"
    assert [s.cursor_key for s in parts.streams] == [
        "bottlecrm/account",
        "bottlecrm/contact",
        "bottlecrm/deal",
        "bottlecrm/product",
    ]
    assert isinstance(parts.mapper, BottleCrmMapper)
    assert isinstance(parts.sink, BottleCrmSink)
    assert parts.services == []
    assert parts.poll_interval == 60.0
    assert parts.close is not None
    await parts.close()

    hooks = {**RECORDED, "webhook_secret": "whsec_x", "webhook_port": 18787}
    assert SPEC.configured(hooks).webhook_port == 18787
    with_hooks = await SPEC.build(Settings(), hooks)
    assert len(with_hooks.services) == 1
    assert with_hooks.close is not None
    await with_hooks.close()
