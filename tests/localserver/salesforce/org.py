"""What the tests use to talk to the local Salesforce server as a client would: a JWT bearer
assertion signed the documented way, and a thin REST caller that returns status and JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from q2c.localserver.salesforce.server import LocalSalesforce

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(credentials: dict[str, Any], **claims: Any) -> str:
    """``iss`` consumer key, ``sub`` username, ``aud`` the login URL, ``exp`` a minute ahead,
    RS256 with the connected app's private key; ``claims`` override any of them."""
    private_key = Path(credentials["private_key_file"]).read_text()
    payload = {
        "iss": credentials["consumer_key"],
        "sub": credentials["username"],
        "aud": credentials["login_url"],
        "exp": int(time.time()) + 60,
        **claims,
    }
    return jwt.encode(payload, private_key, algorithm="RS256")


async def token_request(
    http: aiohttp.ClientSession, credentials: dict[str, Any], form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{credentials['login_url']}/services/oauth2/token", data=form) as reply:
        return reply.status, await reply.json()


async def jwt_login(http: aiohttp.ClientSession, credentials: dict[str, Any]) -> dict[str, Any]:
    status, body = await token_request(
        http, credentials, {"grant_type": JWT_GRANT, "assertion": assertion(credentials)}
    )
    assert status == 200, body
    return body


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Org:
    http: aiohttp.ClientSession
    server: LocalSalesforce
    token: str
    instance_url: str

    @property
    def version(self) -> str:
        return str(self.server.credentials["api_version"])

    @property
    def base(self) -> str:
        return f"/services/data/v{self.version}"

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        url = (
            path
            if path.startswith("http")
            else self.instance_url
            + (
                path
                if path.startswith("/services") or path.startswith("/_local")
                else self.base + path
            )
        )
        async with self.http.request(
            method,
            url,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
        ) as reply:
            text = await reply.text()
            parsed = None
            if text:
                parsed = await reply.json(content_type=None)
            return Reply(reply.status, parsed, dict(reply.headers))

    async def create(self, sobject: str, **fields: Any) -> str:
        reply = await self.call("POST", f"/sobjects/{sobject}", fields)
        assert reply.status == 201, reply.body
        return str(reply.body["id"])

    async def query(self, soql: str) -> Reply:
        return await self.call("GET", "/query", params={"q": soql})

    async def records(self, soql: str) -> list[dict[str, Any]]:
        reply = await self.query(soql)
        assert reply.status == 200, reply.body
        return list(reply.body["records"])
