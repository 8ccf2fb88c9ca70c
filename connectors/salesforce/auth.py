"""OAuth 2.0 for a server-to-server integration: the JWT bearer flow (a JWT signed RS256 with
the key whose certificate the connected app holds; ``iss`` the consumer key, ``sub`` the
user, ``aud`` the login host, ``exp`` at most three minutes ahead) or the refresh-token flow.

The token answer names the org's ``instance_url``: every API call goes there, never to the
login host. The JWT bearer answer carries no refresh token, so an expired session is a new
assertion (:class:`Authenticator.renew`), as the refresh-token flow is a new exchange.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from connectors.base import ConnectorError, ErrorKind, ErrorResolution, HttpClient, HttpResponse
from connectors.base.retry import RetryPolicy
from connectors.salesforce.settings import SalesforceSettings

SYSTEM = "salesforce"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
JWT_LIFETIME = 170  # seconds: the flow accepts at most three minutes


@dataclass(frozen=True)
class Session:
    access_token: str
    instance_url: str
    org_id: str = ""
    """The org's id, from the identity URL the token answer names (``…/id/<org>/<user>``)."""

    def __repr__(self) -> str:
        return f"Session(instance_url={self.instance_url!r})"


def jwt_assertion(
    consumer_key: str, username: str, audience: str, private_key: str, now: float
) -> str:
    """The signed JWT the bearer flow exchanges for a session."""
    claims = {
        "iss": consumer_key,
        "sub": username,
        "aud": audience.rstrip("/"),
        "exp": int(now) + JWT_LIFETIME,
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


def read_private_key(config: SalesforceSettings) -> str:
    if config.private_key is not None:
        return config.private_key.get_secret_value()
    if config.private_key_file is None:
        raise ConnectorError(
            ErrorKind.FATAL, "no private key for the JWT bearer flow", system=SYSTEM
        )
    try:
        return Path(config.private_key_file).read_text()
    except OSError as exc:
        raise ConnectorError(
            ErrorKind.FATAL,
            f"the private key file cannot be read ({type(exc).__name__})",
            system=SYSTEM,
        ) from None


def token_form(config: SalesforceSettings, now: float, private_key: str | None) -> dict[str, str]:
    """The token request's form for the configured flow."""
    if config.flow == "jwt":
        if not (config.consumer_key and config.username and private_key):
            raise ConnectorError(ErrorKind.FATAL, "incomplete JWT bearer settings", system=SYSTEM)
        audience = config.audience or config.login_url
        assertion = jwt_assertion(config.consumer_key, config.username, audience, private_key, now)
        return {"grant_type": JWT_GRANT, "assertion": assertion}
    if not (config.client_id and config.refresh_token):
        raise ConnectorError(ErrorKind.FATAL, "incomplete refresh-token settings", system=SYSTEM)
    form = {
        "grant_type": "refresh_token",
        "client_id": config.client_id,
        "refresh_token": config.refresh_token.get_secret_value(),
    }
    if config.client_secret is not None:
        form["client_secret"] = config.client_secret.get_secret_value()
    return form


def session_of(answer: Any) -> Session:
    """The session in a token answer; FATAL when it is not one."""
    if not isinstance(answer, Mapping):
        raise ConnectorError(ErrorKind.FATAL, "the token answer is not an object", system=SYSTEM)
    token, instance = answer.get("access_token"), answer.get("instance_url")
    if not isinstance(token, str) or not token or not isinstance(instance, str) or not instance:
        raise ConnectorError(
            ErrorKind.FATAL,
            "the token answer has no access_token or instance_url",
            system=SYSTEM,
        )
    identity = answer.get("id")
    parts = identity.rstrip("/").split("/") if isinstance(identity, str) else []
    org_id = parts[-2] if len(parts) >= 3 and parts[-3] == "id" else ""
    return Session(token, instance.rstrip("/"), org_id)


def interpret_token_error(response: HttpResponse) -> ErrorResolution | None:
    """The token endpoint's ``{"error", "error_description"}``: a refused grant is FATAL
    (credentials, an unapproved user, a clock far off); its server failures retriable."""
    if response.status >= 500:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        description = str(body.get("error_description") or "")[:200]
        return ErrorResolution(
            ErrorKind.FATAL, f"the org refused the grant: {body['error']} {description}".strip()
        )
    return None


class Authenticator:
    """Holds the current session; :meth:`renew` replaces it (once for many callers that saw
    the same session expire)."""

    def __init__(self, config: SalesforceSettings, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._key = read_private_key(config) if config.flow == "jwt" else None
        secrets = tuple(
            s.get_secret_value()
            for s in (config.client_secret, config.refresh_token, config.private_key)
            if s is not None
        )
        self.http = HttpClient(
            system=SYSTEM,
            base_url=config.login_url.rstrip("/"),
            timeout=config.timeout,
            retry=RetryPolicy(max_attempts=config.max_attempts),
            interpret=interpret_token_error,
            secrets=secrets,
        )
        self._session: Session | None = None
        self._lock = asyncio.Lock()

    async def session(self) -> Session:
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    self._session = await self._token()
        return self._session

    async def renew(self, expired: Session) -> Session:
        """A new session in place of ``expired`` (another caller may have renewed it)."""
        async with self._lock:
            if self._session is None or self._session is expired:
                self._session = await self._token()
            return self._session

    async def _token(self) -> Session:
        form = token_form(self.config, self.clock(), self._key)
        reply = await self.http.request("POST", TOKEN_PATH, data=form)
        return session_of(reply.json())

    async def close(self) -> None:
        await self.http.close()
