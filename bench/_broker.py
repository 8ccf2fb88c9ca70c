"""A fresh Kafka broker in a temporary directory, for one benchmark module's run."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from q2c.core.settings import Settings
from q2c.devstack.kafka import KafkaBroker, ensure_jars

T = TypeVar("T")


def on_a_broker(measure: Callable[[str, Path], Coroutine[Any, Any, T]], name: str) -> T:
    """``measure(bootstrap, workdir)`` run on a broker of its own, started for it in a
    temporary working directory (``q2c-NAME-…``) and stopped after, whatever happens."""
    settings = Settings()
    libs = ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
    with tempfile.TemporaryDirectory(prefix=f"q2c-{name}-") as tmp:
        broker = KafkaBroker(libs=libs, data_dir=Path(tmp) / "kafka")
        broker.start()
        try:
            return asyncio.run(measure(broker.bootstrap, Path(tmp)))
        finally:
            broker.stop()
