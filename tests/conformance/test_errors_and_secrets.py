"""Errors classified, secrets redacted: the system's documented error answers land in the
right family, and its settings' secrets never show in a repr, an error's text or a log."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.spec import ConnectorSpec
from connectors.registry import install_secret_patterns
from q2c.core.settings import Settings
from q2c.core.telemetry import JsonFormatter, RedactingTextFormatter, redact
from tests.conformance.adapter import Adapter, Live

# Meltano's rule, which q2c's shared table follows: 429 and 5xx are retriable; refused
# credentials or rights are fatal.
SHARED: tuple[tuple[int, ErrorKind], ...] = (
    (401, ErrorKind.FATAL),
    (403, ErrorKind.FATAL),
    (429, ErrorKind.RETRIABLE),
    (500, ErrorKind.RETRIABLE),
    (502, ErrorKind.RETRIABLE),
    (503, ErrorKind.RETRIABLE),
    (504, ErrorKind.RETRIABLE),
)


def test_documented_errors_are_classified(adapter: Adapter) -> None:
    cases = adapter.error_cases()
    assert {case.kind for case in cases} == set(ErrorKind), "a case of each family is listed"
    wrong = [
        f"{case.what}: {found} instead of {case.kind}"
        for case in cases
        if (found := adapter.classify(case.status, case.body)) is not case.kind
    ]
    assert not wrong


@pytest.mark.parametrize(("status", "kind"), SHARED, ids=[str(s) for s, _ in SHARED])
def test_shared_statuses_are_classified_alike(
    adapter: Adapter, status: int, kind: ErrorKind
) -> None:
    assert adapter.classify(status, b"") is kind
    assert adapter.classify(status, b"<html>not JSON</html>") is kind


def secrets_of(settings: BaseModel) -> list[str]:
    values = [getattr(settings, name) for name in type(settings).model_fields]
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]


def leaks(secret: str) -> list[str]:
    """How a secret ends up in text: headers, bodies, form fields, URLs."""
    return [
        f"Authorization: Bearer {secret}",
        f"Authorization: Session {secret}",
        f'{{"password": "{secret}", "user": "admin"}}',
        f"token={secret}&page=2",
        f"http://admin:{secret}@127.0.0.1:8000/db/",
    ]


def test_settings_never_show_their_secrets(adapter: Adapter) -> None:
    settings = adapter.settings_with_secrets()
    secrets = secrets_of(settings)
    assert secrets, "the adapter's settings set no secret"
    shown = [repr(settings), str(settings), settings.model_dump_json()]
    for secret in secrets:
        assert not [text for text in shown if secret in text]


def test_errors_and_logs_are_redacted(adapter: Adapter, connector_spec: ConnectorSpec[Any]) -> None:
    install_secret_patterns()
    text_log = io.StringIO()
    json_log = io.StringIO()
    logger = logging.getLogger(f"q2c.conformance.{connector_spec.name}")
    handlers = [logging.StreamHandler(text_log), logging.StreamHandler(json_log)]
    handlers[0].setFormatter(RedactingTextFormatter("%(message)s"))
    handlers[1].setFormatter(JsonFormatter())
    for handler in handlers:
        logger.addHandler(handler)
    try:
        for secret in secrets_of(adapter.settings_with_secrets()):
            for leak in leaks(secret):
                error = ConnectorError(
                    ErrorKind.FATAL, f"refused: {leak}", system=connector_spec.name, detail=leak
                )
                assert secret not in str(error)
                assert secret not in error.detail
                assert secret not in redact(leak)
                logger.error("call failed: %s", leak)
            # A secret of a shape the system declares is masked wherever it appears.
            if any(re.search(p, secret) for p, _ in connector_spec.secret_patterns):
                assert secret not in redact(f"the answer echoed {secret} back")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    logged = text_log.getvalue() + json_log.getvalue()
    assert logged.count("call failed") >= 2
    for secret in secrets_of(adapter.settings_with_secrets()):
        assert secret not in logged


async def _build_and_read(connector_spec: ConnectorSpec[Any], defaults: Mapping[str, Any]) -> None:
    parts = await connector_spec.build(Settings(), defaults)
    try:
        for stream in parts.streams:
            await stream.read(None)
    finally:
        if parts.close is not None:
            await parts.close()


@pytest.mark.integration
async def test_refused_credentials_are_fatal_and_not_shown(
    connector_spec: ConnectorSpec[Any], live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    defaults, secret = live.wrong_credentials()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectorError) as raised:
        await _build_and_read(connector_spec, defaults)
    error: Any = raised.value
    assert error.kind is ErrorKind.FATAL
    formatter = RedactingTextFormatter("%(name)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    for text in (str(error), repr(error), error.reason, error.detail, logged):
        assert secret not in text
