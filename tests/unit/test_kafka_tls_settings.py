"""The TLS side of the Kafka settings: the context every client (Faust too) gets, and the
one-line reasons given when the files it names cannot be used."""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import SecretStr

from q2c.core.kafka_access import tls_problem
from q2c.core.settings import KafkaSettings, Settings
from q2c.devstack.tls import make_broker_tls
from streams.app import _credentials


def test_sasl_ssl_clients_verify_the_brokers_against_the_configured_ca(tmp_path: Path) -> None:
    tls = make_broker_tls(tmp_path)
    kafka = KafkaSettings(
        bootstrap="b:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="q2c",
        sasl_password=SecretStr("pw-123456"),
        ssl_cafile=tls.ca_file,
    )
    context = kafka.client_kwargs()["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    (ca,) = context.get_ca_certs()
    assert ("commonName", "q2c local CA") in [rdn[0] for rdn in ca["subject"]]
    credentials = _credentials(Settings(kafka=kafka))
    assert credentials.ssl_context.get_ca_certs() == context.get_ca_certs()
    assert tls_problem(kafka) is None


def test_plaintext_clients_get_no_tls_context() -> None:
    assert "ssl_context" not in KafkaSettings(bootstrap="b:9092").client_kwargs()
    assert _credentials(Settings(kafka=KafkaSettings(bootstrap="b:9092"))) is None


def test_unusable_tls_files_are_named_in_one_line(tmp_path: Path) -> None:
    missing = KafkaSettings(security_protocol="SSL", ssl_cafile=tmp_path / "nope.pem")
    assert tls_problem(missing) == (
        f"cannot read Q2C_KAFKA__SSL_CAFILE ({tmp_path / 'nope.pem'}): No such file or directory"
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    problem = tls_problem(KafkaSettings(security_protocol="SSL", ssl_cafile=garbage))
    assert problem is not None
    assert "Q2C_KAFKA__SSL_CAFILE" in problem
    assert "\n" not in problem


def test_the_broker_keystore_is_private_and_holds_key_then_chain(tmp_path: Path) -> None:
    tls = make_broker_tls(tmp_path)
    assert tls.keystore_file.stat().st_mode & 0o077 == 0
    pem = tls.keystore_file.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pem.count("-----BEGIN CERTIFICATE-----") == 2
    again = make_broker_tls(tmp_path)
    assert again.ca_file.read_bytes() == tls.ca_file.read_bytes()
