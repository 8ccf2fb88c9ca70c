"""Authentication of REST web services requests, as NetSuite documents it.

Token-based authentication (OAuth 1.0a): ``Authorization: OAuth realm="<account>", …`` with
``oauth_signature_method="HMAC-SHA256"`` only; the signature base string is built from the
method, the URL without its query and the oauth and query parameters (the body is not
signed), and checked with oauthlib's signature functions; a nonce used before or a timestamp
more than five minutes off is refused.

OAuth 2.0 client credentials: ``POST /services/rest/auth/oauth2/v1/token`` with a
``client_assertion`` JWT signed by the M2M certificate's key (header ``kid`` the certificate
id; claims ``iss`` the client id, ``scope`` with ``rest_webservices``, ``aud`` the token
URL, ``iat``, ``exp`` at most an hour after ``iat``) returns a bearer access token valid for
an hour."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any, cast

import jwt
from cryptography import x509
from oauthlib.oauth1.rfc5849 import signature, utils

from .credentials import Credentials
from .errors import NetSuiteError, invalid_login
from .store import Store

TOKEN_LIFETIME = 3600
TIMESTAMP_TOLERANCE = 300
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["PS256", "PS384", "PS512"]


class _Secrets:
    """The two secrets oauthlib's HMAC signing reads."""

    def __init__(self, consumer_secret: str, token_secret: str) -> None:
        self.client_secret = consumer_secret
        self.resource_owner_secret = token_secret


def tba_signature(
    method: str, url: str, query: str, header: str, consumer_secret: str, token_secret: str
) -> str:
    """The HMAC-SHA256 signature a request with this ``Authorization`` header must carry:
    over the method, the URL without its query, and the query and oauth parameters (not
    the realm, not the body), keyed by both secrets."""
    collected = signature.collect_parameters(
        uri_query=query, headers={"Authorization": header}, exclude_oauth_signature=True
    )
    base = signature.signature_base_string(
        cast(Any, method.upper()),
        signature.base_string_uri(url),
        signature.normalize_parameters(cast(Any, collected)),
    )
    secrets_ = _Secrets(consumer_secret, token_secret)
    return str(signature.sign_hmac_sha256_with_client(base, secrets_))  # type: ignore[no-untyped-call]


class OAuthError(Exception):
    """A refused token request, answered with the RFC 6749 error body."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class Authenticator:
    def __init__(self, credentials: Credentials, certificate: x509.Certificate, store: Store):
        self.credentials = credentials
        self.certificate = certificate
        self.store = store
        self._nonces: dict[tuple[str, str], float] = {}

    # token-based authentication ---------------------------------------------------------

    def verify_tba(self, method: str, url: str, query: str, header: str) -> None:
        try:
            params = {
                key: utils.unescape(value)
                for key, value in utils.parse_authorization_header(header)
            }
        except (ValueError, IndexError):
            raise invalid_login() from None
        credentials = self.credentials
        if (
            params.get("realm") != credentials.account_id
            or params.get("oauth_signature_method") != "HMAC-SHA256"
            or params.get("oauth_version", "1.0") != "1.0"
            or not hmac.compare_digest(
                params.get("oauth_consumer_key", ""), credentials.consumer_key
            )
            or not hmac.compare_digest(params.get("oauth_token", ""), credentials.token_id)
        ):
            raise invalid_login()
        nonce = params.get("oauth_nonce", "")
        try:
            stamp = int(params.get("oauth_timestamp", ""))
        except ValueError:
            raise invalid_login() from None
        now = time.time()
        if not nonce or abs(now - stamp) > TIMESTAMP_TOLERANCE:
            raise invalid_login()
        expected = tba_signature(
            method, url, query, header, credentials.consumer_secret, credentials.token_secret
        )
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            raise invalid_login()
        for key, seen in list(self._nonces.items()):
            if now - seen > 2 * TIMESTAMP_TOLERANCE:
                del self._nonces[key]
        if (params["oauth_consumer_key"], nonce) in self._nonces:
            raise invalid_login()
        self._nonces[(params["oauth_consumer_key"], nonce)] = now

    # OAuth 2.0 client credentials -------------------------------------------------------

    def issue_token(self, form: Mapping[str, str], token_url: str) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise OAuthError("invalid_request", "client_assertion is not a JWT") from None
        if header.get("kid") != self.credentials.certificate_id:
            raise OAuthError("invalid_client", "unknown certificate id (kid)", 401)
        if header.get("alg") not in ALGORITHMS:
            raise OAuthError("invalid_request", "the JWT algorithm must be PS256, PS384 or PS512")
        try:
            claims = jwt.decode(
                assertion,
                self.certificate.public_key(),  # type: ignore[arg-type]
                algorithms=ALGORITHMS,
                audience=token_url,
                issuer=self.credentials.client_id,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", f"invalid client_assertion: {exc}") from None
        scope = claims["scope"]
        scopes = (
            set(scope) if isinstance(scope, list) else set(str(scope).replace(",", " ").split())
        )
        if "rest_webservices" not in scopes:
            raise OAuthError("invalid_scope", "the scope must include rest_webservices")
        if not isinstance(claims["iat"], int | float) or claims["exp"] - claims["iat"] > 3600:
            raise OAuthError("invalid_grant", "exp must be at most 60 minutes after iat")
        token = secrets.token_urlsafe(48)
        self.store.execute(
            "INSERT INTO ns_token (token, client_id, expires_at) VALUES (?, ?, ?)",
            (token, self.credentials.client_id, time.time() + TOKEN_LIFETIME),
        )
        return {"access_token": token, "expires_in": str(TOKEN_LIFETIME), "token_type": "Bearer"}

    def verify_bearer(self, token: str) -> None:
        row = self.store.row("SELECT expires_at FROM ns_token WHERE token = ?", (token,))
        if row is None or float(row["expires_at"]) <= time.time():
            raise invalid_login()

    def expire_tokens(self) -> int:
        """Ends every issued access token now (a control endpoint)."""
        count = self.store.row(
            "SELECT COUNT(*) AS n FROM ns_token WHERE expires_at > ?", (time.time(),)
        )
        self.store.execute("UPDATE ns_token SET expires_at = 0")
        return int(count["n"]) if count is not None else 0

    def verify(self, method: str, url: str, query: str, header: str | None) -> None:
        if not header:
            raise invalid_login()
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "oauth":
            self.verify_tba(method, url, query, header)
        elif scheme.lower() == "bearer" and rest.strip():
            self.verify_bearer(rest.strip())
        else:
            raise NetSuiteError(401, "INVALID_LOGIN", invalid_login().detail)
