"""Why q2c cannot talk to Kafka, in one line that names the setting to fix.

aiokafka reports every failed bootstrap as "Unable to bootstrap from [...]", whether the
password was wrong, the CA did not sign the broker's certificate or nothing listens there.
When a command fails on Kafka, :func:`run_with_kafka` opens one connection to each bootstrap
server itself, with the same settings, and turns what that connection meets into a
:class:`KafkaAccessError`. Messages never hold a secret: only setting names, hosts and paths.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, SaslAuthenticationFailed

from q2c.core.settings import KafkaSettings

T = TypeVar("T")

_PROBE_TIMEOUT = 10.0
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH.
_HOSTNAME_MISMATCH = 62


class KafkaAccessError(Exception):
    """Kafka cannot be used with the configured settings; the message says which to fix."""


def tls_problem(kafka: KafkaSettings) -> str | None:
    """What is wrong with the TLS files named by the settings, or None."""
    if not kafka.uses_ssl:
        return None
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(kafka, name)
        if path is None:
            continue
        try:
            path.read_bytes()
        except OSError as exc:
            return f"cannot read Q2C_KAFKA__{name.upper()} ({path}): {exc.strerror}"
    try:
        kafka.ssl_context()
    except (ssl.SSLError, OSError, ValueError) as exc:
        return (
            f"the TLS files are not usable ({exc.__class__.__name__}): check that "
            "Q2C_KAFKA__SSL_CAFILE, Q2C_KAFKA__SSL_CERTFILE and Q2C_KAFKA__SSL_KEYFILE hold PEM "
            "certificates and the key (and Q2C_KAFKA__SSL_KEY_PASSWORD)"
        )
    return None


def _servers(bootstrap: str) -> list[tuple[str, int]]:
    servers = []
    for entry in bootstrap.split(","):
        host, _, port = entry.strip().rpartition(":")
        if host and port.isdigit():
            servers.append((host.strip("[]"), int(port)))
    return servers


async def _probe(kafka: KafkaSettings, host: str, port: int) -> str | None:
    """Open one authenticated connection to ``host:port``: what went wrong, or None."""
    kwargs = kafka.client_kwargs()
    kwargs.pop("bootstrap_servers")
    where = f"{host}:{port}"
    protocol = kafka.security_protocol
    try:
        conn = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(_PROBE_TIMEOUT * 1000), **kwargs),
            _PROBE_TIMEOUT,
        )
    except SaslAuthenticationFailed:
        return (
            "Kafka refused the SASL credentials: check Q2C_KAFKA__SASL_USERNAME / "
            "Q2C_KAFKA__SASL_PASSWORD"
        )
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code == _HOSTNAME_MISMATCH:
            return f"the certificate of the broker at {where} is not issued for {host}"
        if kafka.ssl_cafile is None:
            return (
                f"the certificate of the broker at {where} is not signed by a CA this "
                "machine trusts: set Q2C_KAFKA__SSL_CAFILE"
            )
        return (
            f"the broker's certificate is not signed by Q2C_KAFKA__SSL_CAFILE "
            f"({kafka.ssl_cafile}): {where}"
        )
    except ssl.SSLError:
        return (
            f"no TLS handshake with {where}: check Q2C_KAFKA__SECURITY_PROTOCOL ({protocol}) "
            "against the broker's listener"
        )
    except ConnectionRefusedError:
        return f"nothing listens at {where}: check Q2C_KAFKA__BOOTSTRAP"
    except (TimeoutError, KafkaConnectionError, ConnectionError):
        return (
            f"the broker at {where} dropped the connection: check Q2C_KAFKA__SECURITY_PROTOCOL "
            f"({protocol}) and Q2C_KAFKA__SASL_MECHANISM against the broker's listener"
        )
    except KafkaError as exc:
        return f"Kafka at {where} refused the connection ({exc.__class__.__name__})"
    except OSError as exc:
        return f"cannot reach {where} ({exc.strerror or exc}): check Q2C_KAFKA__BOOTSTRAP"
    conn.close()
    return None


async def explain(kafka: KafkaSettings) -> str | None:
    """Why clients with ``kafka`` cannot use the cluster, or None when a connection to every
    bootstrap server succeeds (the failure was something else)."""
    problem = tls_problem(kafka)
    if problem is not None:
        return problem
    for host, port in _servers(kafka.bootstrap):
        problem = await _probe(kafka, host, port)
        if problem is not None:
            return problem
    return None


def run_with_kafka(kafka: KafkaSettings, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())``; a failure that comes from reaching Kafka with these settings
    is raised as a :class:`KafkaAccessError` saying which setting to check."""
    problem = tls_problem(kafka)
    if problem is not None:
        raise KafkaAccessError(problem)
    try:
        return asyncio.run(main())
    except (KafkaError, OSError) as exc:
        problem = asyncio.run(explain(kafka))
        if problem is None:
            raise
        raise KafkaAccessError(problem) from exc
