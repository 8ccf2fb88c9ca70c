"""The local NetSuite server per test, and a client that signs its requests as NetSuite's
TBA documentation says (oauthlib, HMAC-SHA256, the account id as realm)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from q2c.localserver.netsuite.server import Running, running


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class TbaClient:
    """Calls the server the way a NetSuite REST client does, signing each request."""

    def __init__(self, server: Running, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    def sign(self, method: str, url: str, *, timestamp: int | None = None) -> str:
        credentials = self.server.credentials
        client = Client(
            credentials.consumer_key,
            client_secret=credentials.consumer_secret,
            resource_owner_key=credentials.token_id,
            resource_owner_secret=credentials.token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=credentials.account_id,
            timestamp=None if timestamp is None else str(timestamp),
        )
        _, headers, _ = client.sign(url, http_method=cast(Any, method))
        return str(headers["Authorization"])

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        authorization: str | None = None,
    ) -> Reply:
        url = self.server.base_url + path
        sent = {"Authorization": authorization or self.sign(method, url)}
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        data = None if body is None else json.dumps(body)
        async with self.session.request(method, url, data=data, headers=sent) as response:
            text = await response.text()
            return Reply(
                response.status, dict(response.headers), json.loads(text) if text else None
            )

    async def suiteql(self, query: str, limit: int = 1000, offset: int = 0) -> Reply:
        return await self.call(
            "POST",
            f"/services/rest/query/v1/suiteql?limit={limit}&offset={offset}",
            {"q": query},
            headers={"Prefer": "transient"},
        )

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.server.base_url}/_local/{path}"
        headers = {"Authorization": f"Bearer {self.server.credentials.control_token}"}
        async with self.session.post(url, json=body or {}, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@pytest.fixture
async def netsuite(tmp_path: Path) -> AsyncIterator[Running]:
    async with running(tmp_path / "netsuite") as server:
        yield server


@pytest.fixture
async def client(netsuite: Running) -> AsyncIterator[TbaClient]:
    async with aiohttp.ClientSession() as session:
        yield TbaClient(netsuite, session)


def record_id(reply: Reply) -> str:
    """The id of the record a 204 created, from its ``Location``."""
    assert reply.status == 204, reply.body
    return reply.headers["Location"].rsplit("/", 1)[1]
