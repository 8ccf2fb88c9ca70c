"""NetSuite's two authentications: TBA signatures reproduce Oracle's worked example; the
OAuth 2.0 client-credentials assertion is a PS256 JWT with the documented claims."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.netsuite.auth import M2MTokens, TbaSigner, client_assertion

# "The Signature for Web Services and RESTlets" (NetSuite help, section_1534941088): the
# example's input parameters.
EXAMPLE_URL = (
    "https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    "?script=6&deploy=1&customParam=someValue&testParam=someOtherValue"
)
EXAMPLE = TbaSigner(
    account_id="123456",
    consumer_key="ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
    consumer_secret="d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
    token_id="2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
    token_secret="c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295",
)
NONCE = "fjaLirsIcCGVZWzBX0pg"
TIMESTAMP = "1508242306"
EXAMPLE_SIGNATURE = "+KK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ="


def _params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    pairs = [part.strip().split("=", 1) for part in header[len("OAuth ") :].split(",")]
    return {key: value.strip('"') for key, value in pairs}


def test_the_signature_of_oracles_worked_example() -> None:
    header = EXAMPLE.authorization("POST", EXAMPLE_URL, nonce=NONCE, timestamp=TIMESTAMP)
    params = _params(header)
    assert params["realm"] == "123456"
    assert params["oauth_signature_method"] == "HMAC-SHA256"
    assert params["oauth_version"] == "1.0"
    assert params["oauth_nonce"] == NONCE
    assert params["oauth_timestamp"] == TIMESTAMP
    assert params["oauth_token"] == EXAMPLE.token_id
    assert params["oauth_signature"] == quote(EXAMPLE_SIGNATURE, safe="")


# "The Authorization Headers" (section_1534941295) prints the header of the same example as
# a REST web services call: GET on an employee record, realm 123456, and this signature
# (shown there percent-encoded, as the header carries it).
REST_EXAMPLE_URL = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40"
REST_EXAMPLE_SIGNATURE = "B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"


def test_the_printed_rest_web_services_header_of_oracles_example() -> None:
    header = EXAMPLE.authorization("GET", REST_EXAMPLE_URL, nonce=NONCE, timestamp=TIMESTAMP)
    params = _params(header)
    assert params["realm"] == "123456"
    assert params["oauth_consumer_key"] == EXAMPLE.consumer_key
    assert params["oauth_signature"] == REST_EXAMPLE_SIGNATURE


def test_the_signature_is_the_documented_base_string_signed_with_both_secrets() -> None:
    # The RESTlet Base String (section_1534939551): method, URL without its query, and the
    # query and oauth_* parameters sorted and percent-encoded; realm is not signed.
    normalized = "&".join(
        f"{k}={v}"
        for k, v in sorted(
            {
                "customParam": "someValue",
                "deploy": "1",
                "oauth_consumer_key": EXAMPLE.consumer_key,
                "oauth_nonce": NONCE,
                "oauth_signature_method": "HMAC-SHA256",
                "oauth_timestamp": TIMESTAMP,
                "oauth_token": EXAMPLE.token_id,
                "oauth_version": "1.0",
                "script": "6",
                "testParam": "someOtherValue",
            }.items()
        )
    )
    base = "&".join(
        (
            "POST",
            quote("https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl", safe=""),
            quote(normalized, safe=""),
        )
    )
    key = f"{EXAMPLE.consumer_secret}&{EXAMPLE.token_secret}".encode()
    expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    assert expected == EXAMPLE_SIGNATURE


def test_each_request_gets_its_own_nonce_and_no_secret_shows() -> None:
    url = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/customer/40"
    first = EXAMPLE.authorization("GET", url)
    second = EXAMPLE.authorization("GET", url)
    assert _params(first)["oauth_nonce"] != _params(second)["oauth_nonce"]
    for header in (first, second):
        assert EXAMPLE.consumer_secret not in header
        assert EXAMPLE.token_secret not in header
    assert EXAMPLE.consumer_secret not in repr(EXAMPLE)
    assert EXAMPLE.token_secret not in repr(EXAMPLE)


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def test_the_client_assertion_is_a_ps256_jwt_with_the_documented_claims(
    key_pair: tuple[Path, bytes],
) -> None:
    path, public = key_pair
    token_url = "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    assertion = client_assertion(
        client_id="client-1",
        certificate_id="cert-7",
        private_key=path.read_bytes(),
        token_url=token_url,
        now=1_700_000_000,
    )
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "PS256", "kid": "cert-7", "typ": "JWT"}
    claims = jwt.decode(
        assertion, public, algorithms=["PS256"], audience=token_url, options={"verify_exp": False}
    )
    assert claims["iss"] == "client-1"
    assert claims["scope"] == "rest_webservices"
    assert claims["iat"] == 1_700_000_000
    assert 0 < claims["exp"] - claims["iat"] <= 3600


async def test_a_token_is_fetched_once_and_again_when_forgotten(
    key_pair: tuple[Path, bytes],
) -> None:
    path, _ = key_pair
    tokens = M2MTokens(
        client_id="client-1", certificate_id="cert-7", private_key_file=path, token_url="t"
    )
    fetched: list[str] = []

    async def fetch(assertion: str) -> tuple[str, float]:
        fetched.append(assertion)
        return f"token-{len(fetched)}", 3600.0

    assert await tokens.bearer(fetch) == "token-1"
    assert await tokens.bearer(fetch) == "token-1"
    tokens.forget()
    assert await tokens.bearer(fetch) == "token-2"
    assert len(fetched) == 2
