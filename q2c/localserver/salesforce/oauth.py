"""The login host's OAuth 2.0 token endpoint, ``POST /services/oauth2/token``, with the two
flows a server integration uses (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
Server-to-Server Integration" and "OAuth 2.0 Refresh Token Flow for Renewed Sessions"):

- JWT bearer: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an RS256
  ``assertion`` signed with the connected app's private key, verified against its
  certificate; ``iss`` the consumer key, ``sub`` the username, ``aud`` the login URL (this
  server's; a real org wants ``https://login.salesforce.com`` or, for a sandbox,
  ``https://test.salesforce.com``), ``exp`` in the future and at most three minutes ahead.
  The reply has no refresh token.
- Refresh token: ``client_id``, ``client_secret`` and ``refresh_token``; the reply carries
  ``issued_at`` and ``signature`` (HMAC-SHA256 of ``id`` + ``issued_at`` keyed with the
  client secret, base64).

Errors are the standard OAuth error body ``{"error", "error_description"}`` with status 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web

from .org import OrgIdentity
from .settings import ServerSettings

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "."


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass
class Sessions:
    """Issued access tokens and their expiry (the org's session timeout)."""

    lifetime: timedelta
    org_id: str
    _sessions: dict[str, Session] = field(default_factory=dict)

    def issue(self, user_id: str) -> Session:
        now = datetime.now(UTC)
        for stale in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[stale]
        # The platform's shape: the org id's 15 characters, "!", then letters, digits, dots.
        secret = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(94))
        token = f"{self.org_id[:15]}!AQ{secret}"
        session = Session(token, user_id, now, now + self.lifetime)
        self._sessions[token] = session
        return session

    def check(self, token: str) -> Session | None:
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires_at <= datetime.now(UTC):
            del self._sessions[token]
            return None
        return session

    def expire_all(self) -> None:
        self._sessions.clear()


def _oauth_error(error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description},
        status=400,
        headers={"Cache-Control": "no-store"},
    )


class TokenEndpoint:
    def __init__(
        self,
        *,
        identity: OrgIdentity,
        settings: ServerSettings,
        sessions: Sessions,
        public_key: Any,
        users: dict[str, str],
        login_url: str,
        instance_url: str,
    ) -> None:
        self.identity = identity
        self.settings = settings
        self.sessions = sessions
        self.public_key = public_key
        self.users = users
        """Usernames the connected app is pre-authorized for, with their user ids."""
        self.login_url = login_url
        self.instance_url = instance_url

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/services/oauth2/token", self.token),
            web.get("/id/{org_id}/{user_id}", self.identity_service),
        ]

    async def identity_service(self, request: web.Request) -> web.Response:
        """The identity URL of a token reply's ``id``: who the session's user is."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        session = self.sessions.check(token.strip()) if scheme.lower() == "bearer" else None
        if session is None:
            return web.Response(status=403, text="Bad_OAuth_Token")
        if (
            request.match_info["org_id"] != self.identity.org_id
            or request.match_info["user_id"] != session.user_id
        ):
            return web.Response(status=404, text="Bad_Id")
        username = next(name for name, user in self.users.items() if user == session.user_id)
        return web.json_response(
            {
                "id": self._identity_url(session.user_id),
                "user_id": session.user_id,
                "organization_id": self.identity.org_id,
                "username": username,
                "active": True,
                "user_type": "STANDARD",
                "urls": {
                    "rest": f"{self.instance_url}/services/data/v{{version}}/",
                    "query": f"{self.instance_url}/services/data/v{{version}}/query/",
                    "sobjects": f"{self.instance_url}/services/data/v{{version}}/sobjects/",
                },
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        if grant == JWT_GRANT:
            return self._jwt_bearer(str(form.get("assertion", "")))
        if grant == "refresh_token":
            return self._refresh(
                str(form.get("client_id", "")),
                form.get("client_secret"),
                str(form.get("refresh_token", "")),
            )
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt_bearer(self, assertion: str) -> web.Response:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "invalid assertion")
        if unverified.get("iss") != self.identity.consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=[self.login_url, self.login_url + "/"],
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "expired authorization code")
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "audience is invalid")
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        latest = time.time() + self.settings.jwt_max_lifetime.total_seconds()
        if float(claims["exp"]) > latest:
            return _oauth_error("invalid_grant", "invalid assertion")
        user_id = self.users.get(str(claims["sub"]))
        if user_id is None:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        session = self.sessions.issue(user_id)
        return web.json_response(
            {
                "access_token": session.token,
                "scope": "api",
                "instance_url": self.instance_url,
                "id": self._identity_url(user_id),
                "token_type": "Bearer",
            },
            headers={"Cache-Control": "no-store"},
        )

    def _refresh(self, client_id: str, client_secret: object, refresh_token: str) -> web.Response:
        if not hmac.compare_digest(client_id, self.identity.consumer_key):
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if client_secret is not None and not hmac.compare_digest(
            str(client_secret), self.identity.client_secret
        ):
            return _oauth_error("invalid_client", "invalid client credentials")
        if not hmac.compare_digest(refresh_token, self.identity.refresh_token):
            return _oauth_error("invalid_grant", "expired access/refresh token")
        user_id = next(iter(self.users.values()))
        session = self.sessions.issue(user_id)
        identity_url = self._identity_url(user_id)
        issued_at = str(int(session.issued_at.timestamp() * 1000))
        signature = base64.b64encode(
            hmac.new(
                self.identity.client_secret.encode(),
                (identity_url + issued_at).encode(),
                hashlib.sha256,
            ).digest()
        ).decode()
        return web.json_response(
            {
                "access_token": session.token,
                "signature": signature,
                "scope": "refresh_token api",
                "instance_url": self.instance_url,
                "id": identity_url,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
            headers={"Cache-Control": "no-store"},
        )

    def _identity_url(self, user_id: str) -> str:
        return f"{self.login_url}/id/{self.identity.org_id}/{user_id}"
