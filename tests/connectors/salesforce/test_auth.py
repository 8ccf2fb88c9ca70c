"""The OAuth requests the connector makes: the JWT bearer assertion and the refresh-token
form, and how it reads token answers (pure, no server)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError

from connectors.base import ErrorKind, HttpResponse
from connectors.base.errors import ConnectorError
from connectors.salesforce.auth import (
    JWT_GRANT,
    interpret_token_error,
    jwt_assertion,
    session_of,
    token_form,
)
from connectors.salesforce.settings import SalesforceSettings

NOW = 1_780_000_000.0


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_the_assertion_is_rs256_with_the_documented_claims(key_pair: tuple[str, str]) -> None:
    private, public = key_pair
    token = jwt_assertion(
        "3MVG9key", "q2c@example.com", "https://login.salesforce.com/", private, NOW
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims: dict[str, Any] = jwt.decode(
        token,
        public,
        algorithms=["RS256"],
        audience="https://login.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims["iss"] == "3MVG9key"
    assert claims["sub"] == "q2c@example.com"
    # At most three minutes ahead, as the flow requires.
    assert 0 < claims["exp"] - NOW <= 180


def test_the_jwt_form_uses_the_login_url_as_audience_unless_set(key_pair: tuple[str, str]) -> None:
    private, public = key_pair
    config = SalesforceSettings(
        login_url="http://127.0.0.1:9100",
        consumer_key="ck",
        username="u@example.com",
        private_key=SecretStr(private),
    )
    form = token_form(config, NOW, private)
    assert form["grant_type"] == JWT_GRANT
    claims = jwt.decode(
        form["assertion"],
        public,
        algorithms=["RS256"],
        audience="http://127.0.0.1:9100",
        options={"verify_exp": False},
    )
    assert claims["sub"] == "u@example.com"
    assert config.flow == "jwt"


def test_the_refresh_token_form() -> None:
    config = SalesforceSettings(
        client_id="cid", client_secret=SecretStr("shh"), refresh_token=SecretStr("5Aep8refresh")
    )
    assert config.flow == "refresh_token"
    assert token_form(config, NOW, None) == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "shh",
        "refresh_token": "5Aep8refresh",
    }


def test_settings_without_a_flow_are_refused() -> None:
    with pytest.raises(ValidationError, match="JWT bearer flow"):
        SalesforceSettings(consumer_key="ck")


def test_calls_go_to_the_instance_the_token_answer_names() -> None:
    session = session_of(
        {
            "access_token": "00Dxx!token",
            "instance_url": "https://acme.my.salesforce.com/",
            "id": "https://login.salesforce.com/id/00D/005",
            "token_type": "Bearer",
        }
    )
    assert session.instance_url == "https://acme.my.salesforce.com"
    assert "00Dxx!token" not in repr(session)


@pytest.mark.parametrize("answer", [None, [], {"access_token": "x"}, {"instance_url": "http://i"}])
def test_a_token_answer_without_a_session_is_fatal(answer: Any) -> None:
    with pytest.raises(ConnectorError) as raised:
        session_of(answer)
    assert raised.value.kind is ErrorKind.FATAL


def test_a_refused_grant_is_fatal_and_a_failing_login_host_retriable() -> None:
    refused = HttpResponse(
        400,
        {},
        b'{"error":"invalid_grant","error_description":"user hasn\'t approved this consumer"}',
    )
    resolution = interpret_token_error(refused)
    assert resolution is not None
    assert resolution.kind is ErrorKind.FATAL
    assert "invalid_grant" in resolution.message
    assert interpret_token_error(HttpResponse(503, {}, b"")) is None
