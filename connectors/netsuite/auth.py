"""NetSuite's two ways to authenticate a REST web services call.

Token-based authentication (TBA) is OAuth 1.0a with HMAC-SHA256, the only signature method
NetSuite still accepts: every request is signed on its own (method, URL without the query,
and the query and ``oauth_*`` parameters, sorted and percent-encoded; the body is not
signed), with ``realm`` set to the account id. oauthlib does the signing.

OAuth 2.0 client credentials (machine to machine): a JWT signed with the private key of the
certificate uploaded for the integration (PS256; header ``kid`` = the certificate id;
claims ``iss`` = the client id, ``scope`` = ``rest_webservices``, ``aud`` = the token URL,
``iat`` and ``exp`` under an hour later) is exchanged at the token endpoint for an access
token, used as ``Authorization: Bearer`` until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import jwt
from oauthlib import oauth1

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 (a path, not a secret)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "rest_webservices"


@dataclass(frozen=True)
class TbaSigner:
    """Signs requests with token-based authentication (OAuth 1.0a, HMAC-SHA256)."""

    account_id: str
    consumer_key: str
    consumer_secret: str = field(repr=False)
    token_id: str
    token_secret: str = field(repr=False)

    def authorization(
        self, method: str, url: str, *, nonce: str | None = None, timestamp: str | None = None
    ) -> str:
        """The ``Authorization`` header of a request to ``url`` (query included)."""
        client = oauth1.Client(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.token_id,
            resource_owner_secret=self.token_secret,
            signature_method=oauth1.SIGNATURE_HMAC_SHA256,
            realm=self.account_id,
            nonce=nonce,
            timestamp=timestamp,
        )
        _, headers, _ = client.sign(url, http_method=cast(Any, method.upper()))
        return str(headers["Authorization"])


def client_assertion(
    *,
    client_id: str,
    certificate_id: str,
    private_key: bytes,
    token_url: str,
    now: float | None = None,
    lifetime: int = 300,
) -> str:
    """The JWT a client-credentials token request carries (PS256, signed with the
    certificate's private key)."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": client_id,
        "scope": SCOPE,  # "restlets, rest_webservices, …" as a comma-separated string
        "aud": token_url,
        "iat": issued,
        "exp": issued + min(lifetime, 3600),
    }
    return jwt.encode(
        claims, private_key, algorithm="PS256", headers={"kid": certificate_id, "typ": "JWT"}
    )


TokenFetcher = Callable[[str], Awaitable[tuple[str, float]]]
"""``fetch(assertion)``: the access token and its lifetime in seconds."""


@dataclass
class M2MTokens:
    """The current access token of an OAuth 2.0 client-credentials integration."""

    client_id: str
    certificate_id: str
    private_key_file: Path
    token_url: str
    margin: float = 60.0
    _token: str | None = field(default=None, init=False, repr=False)
    _expires: float = field(default=0.0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def assertion(self) -> str:
        return client_assertion(
            client_id=self.client_id,
            certificate_id=self.certificate_id,
            private_key=self.private_key_file.read_bytes(),
            token_url=self.token_url,
        )

    async def bearer(self, fetch: TokenFetcher) -> str:
        """A valid access token, fetched anew when the last one is about to expire."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                token, lifetime = await fetch(self.assertion())
                self._token = token
                self._expires = time.monotonic() + max(0.0, lifetime - self.margin)
            return self._token

    def forget(self) -> None:
        """Drop the token (the server refused it): the next call fetches a new one."""
        self._token = None
