"""The login host's token endpoint: the JWT bearer and refresh-token flows, their documented
replies and errors, and sessions that expire."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from q2c.localserver.salesforce.dml import Writer
from q2c.localserver.salesforce.server import LocalSalesforce, running
from q2c.localserver.salesforce.settings import ServerSettings
from q2c.localserver.salesforce.store import WriteContext
from tests.localserver.salesforce.org import JWT_GRANT, Org, assertion, jwt_login, token_request


async def test_jwt_bearer_flow_gives_a_session_on_the_instance(
    salesforce: LocalSalesforce, http: aiohttp.ClientSession
) -> None:
    credentials = salesforce.credentials
    status, body = await token_request(
        http, credentials, {"grant_type": JWT_GRANT, "assertion": assertion(credentials)}
    )
    assert status == 200
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == credentials["instance_url"] != credentials["login_url"]
    assert body["id"].startswith(f"{credentials['login_url']}/id/{credentials['org_id']}/005")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with http.get(f"{body['instance_url']}/services/data/v62.0/limits", headers=headers) as r:
        assert r.status == 200
    # The login host serves no REST API: a client must follow instance_url.
    async with http.get(
        f"{credentials['login_url']}/services/data/v62.0/limits", headers=headers
    ) as r:
        assert r.status == 404


async def test_jwt_bearer_errors(salesforce: LocalSalesforce, http: aiohttp.ClientSession) -> None:
    credentials = salesforce.credentials
    now = int(time.time())
    cases = {
        "audience is invalid": assertion(credentials, aud="https://login.salesforce.com"),
        "expired authorization code": assertion(credentials, exp=now - 60),
        "invalid assertion": assertion(credentials, exp=now + 3600),
        "user hasn't approved this consumer": assertion(credentials, sub="someone@else.example"),
    }
    for description, signed in cases.items():
        status, body = await token_request(
            http, credentials, {"grant_type": JWT_GRANT, "assertion": signed}
        )
        assert (status, body) == (400, {"error": "invalid_grant", "error_description": description})
    status, body = await token_request(
        http, credentials, {"grant_type": JWT_GRANT, "assertion": assertion(credentials, iss="x")}
    )
    assert (status, body["error"]) == (400, "invalid_client_id")
    forged = jwt_signed_by_another_key(credentials)
    status, body = await token_request(
        http, credentials, {"grant_type": JWT_GRANT, "assertion": forged}
    )
    assert (status, body) == (
        400,
        {"error": "invalid_grant", "error_description": "invalid assertion"},
    )


def jwt_signed_by_another_key(credentials: dict[str, str]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "iss": credentials["consumer_key"],
        "sub": credentials["username"],
        "aud": credentials["login_url"],
        "exp": int(time.time()) + 60,
    }
    return jwt.encode(claims, key, algorithm="RS256")


async def test_refresh_token_flow_and_its_signature(
    salesforce: LocalSalesforce, http: aiohttp.ClientSession
) -> None:
    credentials = salesforce.credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "refresh_token": credentials["refresh_token"],
    }
    status, body = await token_request(http, credentials, form)
    assert status == 200
    assert "refresh_token" not in body
    expected = base64.b64encode(
        hmac.new(
            credentials["client_secret"].encode(),
            (body["id"] + body["issued_at"]).encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    assert body["signature"] == expected
    assert body["instance_url"] == credentials["instance_url"]
    for change, error in [
        ({"client_id": "nope"}, "invalid_client_id"),
        ({"client_secret": "nope"}, "invalid_client"),
        ({"refresh_token": "nope"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ]:
        status, body = await token_request(http, credentials, {**form, **change})
        assert (status, body["error"]) == (400, error)


async def test_expired_sessions_get_invalid_session_id(org: Org) -> None:
    assert (await org.call("GET", "/limits")).status == 200
    org.server.control.expire_sessions()
    reply = await org.call("GET", "/limits")
    assert reply.status == 401
    assert reply.body == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]
    org.token = "00Dbogus!token"
    assert (await org.call("GET", "/limits")).status == 401


async def test_credentials_file_is_private_and_stable_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "org"
    async with running(state) as first:
        context = WriteContext(first.store.integration_user_id)
        with first.store.transaction(context) as tx:
            account = first.store.objects["Account"]
            account_id = Writer(first.store).create(tx, account, {"Name": "Kept"})
    saved = _private_json(state / "credentials.json")
    assert _mode(Path(str(saved["private_key_file"]))) == 0o600
    async with running(state) as second:
        assert second.credentials == saved == first.credentials
        assert second.store.get(account_id) is not None


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _private_json(path: Path) -> dict[str, object]:
    assert _mode(path) == 0o600
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


async def test_sessions_expire_after_the_session_timeout(tmp_path: Path) -> None:
    settings = ServerSettings(session_lifetime=timedelta(seconds=1))
    async with (
        running(tmp_path / "org", settings=settings) as server,
        aiohttp.ClientSession() as http,
    ):
        login = await jwt_login(http, server.credentials)
        org = Org(http, server, str(login["access_token"]), str(login["instance_url"]))
        assert (await org.call("GET", "/limits")).status == 200
        deadline = asyncio.get_running_loop().time() + 30
        while (reply := await org.call("GET", "/limits")).status == 200:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.2)
        assert (reply.status, reply.body[0]["errorCode"]) == (401, "INVALID_SESSION_ID")
