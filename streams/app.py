"""The Faust application: built from typed settings, with health, readiness and metrics open
and every other web route behind the admin token (see :mod:`streams.web_guard`)."""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.tables.manager import TableManager
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from q2c.core.metrics import WORKER_READY
from q2c.core.settings import Settings
from streams.web_guard import admin_guard


class Worker(faust.Worker):
    """Faust's worker without its terminal progress spinner: at log level WARNING and above,
    Faust sets the spinner up by turning the root logger to DEBUG, so that every aiokafka
    and Faust debug call builds a log record only to spin it (a tenth of a busy worker's
    CPU)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def broker_urls(bootstrap: str) -> list[str]:
    hosts = [h.strip() for h in bootstrap.split(",") if h.strip()]
    if not hosts:
        raise ValueError("kafka.bootstrap is empty: set Q2C_KAFKA__BOOTSTRAP or run `q2c dev up`")
    return [f"kafka://{h}" for h in hosts]


def _credentials(settings: Settings) -> Any:
    """Faust's broker credentials, with the same TLS context (CA, client certificate) as
    every other q2c client: :meth:`q2c.core.settings.KafkaSettings.ssl_context`."""
    kafka = settings.kafka
    ssl_context = kafka.ssl_context()
    if kafka.sasl_mechanism and kafka.sasl_password is not None:
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism,
            ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


def is_ready(app: faust.App) -> bool:
    """The web server answers before the worker has joined its group (one started in place
    of a killed worker waits there for the session timeout): not ready until its first
    table recovery completed, nor while a rebalance is under way."""
    tables = app.tables
    recovered = isinstance(tables, TableManager) and tables.recovery.completed.is_set()
    return recovered and not app.rebalancing


def create_app(settings: Settings) -> faust.App:
    """A Faust app for ``settings``; agents and tables are registered on it by the caller."""
    app = faust.App(
        settings.worker.app_id,
        broker=broker_urls(settings.kafka.bootstrap),
        broker_credentials=_credentials(settings),
        store="rocksdb://",
        datadir=str(settings.worker.data_dir),
        # web_bind is the address the server listens on (Faust's default: every interface);
        # web_host is only the name it advertises to other workers.
        web_bind=settings.worker.web_host,
        web_host=settings.worker.web_host,
        web_port=settings.worker.web_port,
        web_application_options={"middlewares": [admin_guard(settings.worker.admin_token)]},
        web_in_thread=False,
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        processing_guarantee="at_least_once",
        # What an agent sends is published before its input's offset is committed (see
        # streams.agents); frequent commits keep that from adding latency.
        stream_publish_on_commit=True,
        broker_commit_interval=0.2,
        producer_acks=-1,
        # A few milliseconds for the sends of a batch to share produce requests: without it
        # every message went out in a request of its own (a third of a worker's CPU).
        producer_linger=0.005,
        stream_wait_empty=True,
        consumer_auto_offset_reset="earliest",
        # Faust's 60 s default kept the partitions of a killed worker unprocessed for a
        # minute. Heartbeats come from the consumer's own thread, so busy agents do not
        # delay them and a shorter session is safe.
        broker_session_timeout=settings.worker.session_timeout,
        broker_heartbeat_interval=settings.worker.session_timeout / 5,
    )

    @app.page("/q2c/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/q2c/ready")
    async def ready(web: Any, request: Any) -> Any:
        if not is_ready(app):
            return web.json({"status": "rebalancing"}, status=503)
        return web.json({"status": "ready"})

    WORKER_READY.probe = lambda: is_ready(app)

    @app.page("/q2c/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    return app
