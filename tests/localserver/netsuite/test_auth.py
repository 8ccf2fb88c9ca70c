"""Token-based authentication and OAuth 2.0 client credentials (M2M), as documented."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from q2c.localserver.netsuite.auth import tba_signature
from q2c.localserver.netsuite.server import Running

from .conftest import TbaClient

CUSTOMERS = "/services/rest/record/v1/customer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _assertion(netsuite: Running, **overrides: Any) -> str:
    credentials = netsuite.credentials
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": credentials.client_id,
        "scope": ["rest_webservices"],
        "aud": credentials.token_url,
        "iat": now,
        "exp": now + 3600,
    }
    headers = {"typ": "JWT", "kid": credentials.certificate_id}
    algorithm = overrides.pop("alg", "PS256")
    headers.update(overrides.pop("headers", {}))
    claims.update(overrides)
    key = _read(Path(credentials.private_key_file))
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


async def _token(client: TbaClient, assertion: str) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    async with client.session.post(client.server.credentials.token_url, data=form) as response:
        return response.status, await response.json()


async def test_credentials_file_is_private_and_stable(netsuite: Running, tmp_path: Path) -> None:
    path = tmp_path / "netsuite" / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    written = json.loads(_read(path))
    assert written["base_url"] == netsuite.base_url
    assert written["account_id"] == "1234567_SB1"
    assert written["time_zone"] == "America/Los_Angeles"
    assert _read(Path(written["private_key_file"])).startswith(b"-----BEGIN PRIVATE KEY")


async def test_m2m_token_is_issued_and_accepted(client: TbaClient, netsuite: Running) -> None:
    status, body = await _token(client, _assertion(netsuite))
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"
    bearer = f"Bearer {body['access_token']}"
    listed = await client.call("GET", CUSTOMERS, authorization=bearer)
    assert listed.status == 200

    await client.control("expire-tokens")
    expired = await client.call("GET", CUSTOMERS, authorization=bearer)
    assert expired.status == 401
    assert expired.body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


async def test_m2m_assertions_that_are_refused(client: TbaClient, netsuite: Running) -> None:
    now = int(time.time())
    refused = [
        _assertion(netsuite, headers={"kid": "another-certificate"}),
        _assertion(netsuite, scope=["restlets"]),
        _assertion(netsuite, aud="https://elsewhere.example/token"),
        _assertion(netsuite, iss="someone-else"),
        _assertion(netsuite, iat=now, exp=now + 3601 + 60),
        _assertion(netsuite, alg="RS256"),
        "not-a-jwt",
    ]
    for assertion in refused:
        status, body = await _token(client, assertion)
        assert status in (400, 401), body
        assert "error" in body


async def test_tba_refuses_bad_signature_reused_nonce_and_stale_timestamp(
    client: TbaClient, netsuite: Running
) -> None:
    url = netsuite.base_url + CUSTOMERS
    good = client.sign("GET", url)
    assert (await client.call("GET", CUSTOMERS, authorization=good)).status == 200
    replayed = await client.call("GET", CUSTOMERS, authorization=good)
    assert replayed.status == 401

    other_method = await client.call("GET", CUSTOMERS, authorization=client.sign("POST", url))
    assert other_method.status == 401

    stale = client.sign("GET", url, timestamp=int(time.time()) - 3600)
    assert (await client.call("GET", CUSTOMERS, authorization=stale)).status == 401

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 401
        body = await response.json()
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


async def test_tba_signs_query_parameters_but_not_the_body(
    client: TbaClient, netsuite: Running
) -> None:
    query_url = netsuite.base_url + "/services/rest/query/v1/suiteql?limit=5&offset=0"
    signed_without_query = client.sign(
        "POST", netsuite.base_url + "/services/rest/query/v1/suiteql"
    )
    reply = await client.call(
        "POST",
        "/services/rest/query/v1/suiteql?limit=5&offset=0",
        {"q": "SELECT id FROM customer"},
        authorization=signed_without_query,
    )
    assert reply.status == 401
    signed = client.sign("POST", query_url)
    reply = await client.call(
        "POST",
        "/services/rest/query/v1/suiteql?limit=5&offset=0",
        {"q": "SELECT id FROM customer"},
        authorization=signed,
    )
    assert reply.status == 200, reply.body


async def test_tba_signs_the_path_as_sent(client: TbaClient) -> None:
    """The signature covers the path as sent (percent-encoded), and the record is found by
    its decoded external id."""
    created = await client.call("PUT", f"{CUSTOMERS}/eid:WITH%20SPACE", {"companyName": "Z"})
    assert created.status == 204, created.body
    read = await client.call("GET", f"{CUSTOMERS}/eid:WITH%20SPACE")
    assert read.status == 200, read.body
    assert read.body["externalId"] == "WITH SPACE"


def test_the_signature_of_oracles_worked_example() -> None:
    """The inputs and signature of the example in "The Signature for Web Services and
    RESTlets" (NetSuite help, section_1534941088): the server computes the same."""
    url = "https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    query = "script=6&deploy=1&customParam=someValue&testParam=someOtherValue"
    header = (
        'OAuth realm="123456", '
        'oauth_consumer_key="ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4", '
        'oauth_token="2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc", '
        'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1508242306", '
        'oauth_nonce="fjaLirsIcCGVZWzBX0pg", oauth_version="1.0"'
    )
    assert (
        tba_signature(
            "POST",
            url,
            query,
            header,
            "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
            "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295",
        )
        == "+KK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ="
    )
