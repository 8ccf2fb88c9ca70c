"""Typed configuration.

Values come from, in order of precedence: keyword arguments, environment variables with the
``Q2C_`` prefix (nested with ``__``, e.g. ``Q2C_KAFKA__BOOTSTRAP``), a TOML or JSON config
file named by ``Q2C_CONFIG``, and the defaults below. Secrets are ``SecretStr`` so they never
print; :meth:`KafkaSettings.client_kwargs` is the only place they are revealed, to the client.
"""

from __future__ import annotations

import json
import os
import ssl
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


class KafkaSettings(BaseModel):
    """How to reach the Kafka cluster q2c reads from and writes to."""

    bootstrap: str = Field(
        default="",
        description="host:port[,host:port]; empty means the local broker of `q2c dev up`.",
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    topic_prefix: str = Field(default="q2c", description="Prefix of every topic q2c creates.")
    replication_factor: int = Field(default=1, ge=1)
    partitions: int = Field(default=6, ge=1)
    ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates; unset = system CAs.",
    )
    ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate, for brokers that require one."
    )
    ssl_keyfile: Path | None = Field(default=None, description="PEM key of ssl_certfile.")
    ssl_key_password: SecretStr | None = None
    retention_days: int = Field(
        default=7,
        ge=1,
        description="Raw changes, canonical changes, commands, results, control and sync.",
    )
    dead_letter_retention_days: int = Field(default=30, ge=1)
    audit_retention_days: int = Field(default=365, ge=1)
    erasure_lag_hours: int = Field(
        default=72,
        ge=0,
        description=(
            "How long a record on a topic carrying personal data is kept whole before the "
            "log cleaner may compact it (min.compaction.lag.ms): an erasure's tombstones "
            "take effect after it, and a consumer or a replay within it sees every change, "
            "not only the last of each key (a customer's finance changes share its ledger "
            "key): keep it above the longest outage of a consumer."
        ),
    )

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for SSL and SASL_SSL: verifies the brokers against ``ssl_cafile``
        (the system's CAs when unset) and presents the client certificate when one is set."""
        if not self.uses_ssl:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile is not None:
            context.load_cert_chain(
                str(self.ssl_certfile),
                str(self.ssl_keyfile) if self.ssl_keyfile else None,
                self.ssl_key_password.get_secret_value() if self.ssl_key_password else None,
            )
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (the only place the password is revealed)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        return kwargs


class DevSettings(BaseModel):
    """The local stack started by `q2c dev up`."""

    model_config = ConfigDict(validate_default=True)

    state_dir: Path = Field(default=Path(".q2c"), description="Where stack.json and logs go.")
    cache_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "q2c"
        ),
        description="Downloaded jars and virtual environments, reused between runs.",
    )
    kafka_version: str = "4.0.1"
    kafka_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    tryton_db: Literal["sqlite", "postgresql"] = Field(
        default="sqlite",
        description="Tryton's database: a SQLite file (fast first start) or a PostgreSQL "
        "cluster of the stack's own (concurrent writers, no 503s under load).",
    )

    crm: str = Field(
        default="bottlecrm",
        description="The CRM the local stack runs (its local server and its connector).",
    )
    erp: str = Field(
        default="tryton",
        description="The ERP the local stack runs (its local server and its connector).",
    )

    def systems(self) -> tuple[str, str]:
        """The CRM and the ERP the local stack runs."""
        return (self.crm, self.erp)

    @field_validator("state_dir", "cache_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        # Servers started from here change directory; relative paths would break for them.
        return path.expanduser().resolve()


class TelemetrySettings(BaseModel):
    service_name: str = "q2c"
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP endpoint, e.g. http://collector:4318; none = off."
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    trace_sample_ratio: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description=(
            "Share of changes traced, decided where a trace starts (the source poll) and "
            "followed by every later hop; none = every change."
        ),
    )


class WorkerSettings(BaseModel):
    app_id: str = "q2c"
    data_dir: Path = Field(default=Path(".q2c/worker"), description="RocksDB table state.")
    web_port: int = Field(default=6066, ge=0, le=65535)
    web_host: str = Field(default="127.0.0.1", description="The address the web server listens on.")
    admin_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token of every route but health, readiness and metrics; unset, those "
            "routes are refused."
        ),
    )
    session_timeout: float = Field(
        default=10.0,
        ge=6.0,
        le=1800.0,
        description=(
            "Seconds without a heartbeat before the broker hands a worker's partitions to "
            "another; a worker started in place of a killed one waits this long to take over."
        ),
    )
    reconcile_interval: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "Seconds between the worker's reconciles of both systems (0 = none): each is the "
            "console's last report and sets the q2c_reconcile_* metrics."
        ),
    )
    clock_offset: timedelta = Field(
        default=timedelta(0),
        description=(
            "Added to the clock the sync's rules read (due dates, waits): rehearses what a "
            "later day does to overdue balances. 0 in production."
        ),
    )


class ConnectorSettings(BaseModel):
    """The web endpoint of `q2c connector run`: health, readiness and metrics."""

    web_host: str = Field(default="127.0.0.1", description="0.0.0.0 in a container.")
    web_port: int | None = Field(
        default=None, ge=1, le=65535, description="None = no endpoint (several run on one host)."
    )


def _config_file() -> dict[str, Any]:
    path = os.environ.get("Q2C_CONFIG")
    if not path:
        return {}
    raw = Path(path).read_bytes()
    data: dict[str, Any] = (
        tomllib.loads(raw.decode()) if path.endswith(".toml") else json.loads(raw)
    )
    return data


class _FileSource(InitSettingsSource):
    """Reads the optional config file named by Q2C_CONFIG (TOML or JSON)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, _config_file())


M = TypeVar("M", bound=BaseModel)


def load_section(model: type[M], name: str, defaults: Mapping[str, Any] | None = None) -> M:
    """The settings of one connector, ``[name]`` in the config file and ``Q2C_NAME__*``
    environment variables, over ``defaults`` (e.g. what `q2c dev up` recorded)."""
    data: dict[str, Any] = dict(defaults or {})
    data.update(_config_file().get(name, {}))
    prefix = f"Q2C_{name.upper()}__"
    for key, value in os.environ.items():
        if key.upper().startswith(prefix):
            # Nested values (a table of the config file) come as JSON.
            nested = value.lstrip().startswith(("{", "["))
            data[key[len(prefix) :].lower()] = json.loads(value) if nested else value
    return model.model_validate(data)


class DeadLetterSettings(BaseModel):
    max_payload_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=512 * 1024,
        description=(
            "Bytes of a failed message a dead letter keeps; beyond them only the start is "
            "kept, with the whole size, sha256 and the topic, partition and offset to read "
            "it from (a dead letter must fit in the producer's 1 MiB request)."
        ),
    )


class Settings(BaseSettings):
    """All of q2c's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="Q2C_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    kafka: KafkaSettings = KafkaSettings()
    dev: DevSettings = DevSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    worker: WorkerSettings = WorkerSettings()
    connector: ConnectorSettings = ConnectorSettings()
    dead_letters: DeadLetterSettings = DeadLetterSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls), file_secret_settings)
