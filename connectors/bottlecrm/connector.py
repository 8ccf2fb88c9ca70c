"""The BottleCRM connector: scan streams, the webhook receiver (when a webhook secret is
configured), the mapping and the sink, over one client.

Settings come from ``Q2C_BOTTLECRM__*`` variables (e.g. ``Q2C_BOTTLECRM__URL``,
``Q2C_BOTTLECRM__TOKEN``), over what `q2c dev up` recorded for the local server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connectors.base.runtime import ConnectorParts, Service
from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.mapping import SYSTEM, BottleCrmMapper
from connectors.bottlecrm.settings import BottleCrmSettings
from connectors.bottlecrm.sink import BottleCrmSink
from connectors.bottlecrm.source import (
    AccountStream,
    ContactStream,
    DealStream,
    ProductStream,
    WebhookReceiver,
)
from q2c.settings import Settings

_RECORDED = ("url", "token", "jwt", "webhook_secret", "webhook_port")


class _ConfiguredSettings(BottleCrmSettings, BaseSettings):
    """BottleCrmSettings from the environment first, then from the local stack's record."""

    model_config = SettingsConfigDict(
        env_prefix="Q2C_BOTTLECRM__", extra="ignore", validate_default=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def configured(defaults: Mapping[str, Any]) -> BottleCrmSettings:
    """The connector's settings: ``Q2C_BOTTLECRM__*`` over the recorded ``defaults``."""
    recorded = {key: defaults[key] for key in _RECORDED if defaults.get(key)}
    return BottleCrmSettings.model_validate(_ConfiguredSettings(**recorded).model_dump())


async def build(settings: Settings, defaults: Mapping[str, Any]) -> ConnectorParts:
    del settings  # nothing global is needed beyond what the runtime passes around
    config = configured(defaults)
    client = BottleCrmClient(config)
    services: list[Service] = []
    if config.webhook_secret is not None:
        receiver = WebhookReceiver(
            client,
            config.webhook_secret,
            host=config.webhook_host,
            port=config.webhook_port,
            tolerance=config.webhook_tolerance,
        )
        services.append(receiver.serve)
    return ConnectorParts(
        system=SYSTEM,
        mapper=BottleCrmMapper(default_currency=config.currency),
        streams=[
            AccountStream(client),
            ContactStream(client),
            DealStream(client),
            ProductStream(client),
        ],
        sink=BottleCrmSink(client, currency=config.currency),
        services=services,
        poll_interval=config.scan_interval,
        close=client.close,
    )
