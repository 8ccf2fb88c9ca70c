"""The account's credentials, made once per state directory and kept there: the TBA
consumer and token pairs, the OAuth 2.0 client id with its M2M certificate (the server keeps
the certificate, the client gets the private key file), and the control token of the
``/_local/…`` endpoints. ``credentials.json`` is written with mode 0600 on every start; only
``base_url`` changes between starts (the port may)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ACCOUNT_ID = "1234567_SB1"
TIME_ZONE = "America/Los_Angeles"
CREDENTIALS_FILE = "credentials.json"
PRIVATE_KEY_FILE = "m2m_private_key.pem"
CERTIFICATE_FILE = "m2m_certificate.pem"


@dataclass(frozen=True)
class Credentials:
    account_id: str
    base_url: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str
    client_id: str
    certificate_id: str
    private_key_file: str
    time_zone: str
    subsidiary_id: str
    currency_id: str
    control_token: str

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/services/rest/auth/oauth2/v1/token"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _make_certificate(state_dir: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c NetSuite M2M")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    _write_private(
        state_dir / PRIVATE_KEY_FILE,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    (state_dir / CERTIFICATE_FILE).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def load_certificate(state_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((state_dir / CERTIFICATE_FILE).read_bytes())


def ensure_credentials(state_dir: Path, base_url: str, *, write: bool = True) -> Credentials:
    """The state directory's credentials with ``base_url`` set, made on the first start;
    ``credentials.json`` is (re)written only when ``write`` (once the port is known)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / CREDENTIALS_FILE
    kept = state_dir / ".credentials.json"
    source = path if path.exists() else kept
    if source.exists() and (state_dir / CERTIFICATE_FILE).exists():
        stored = json.loads(source.read_text())
        stored["base_url"] = base_url
        stored["private_key_file"] = str(state_dir / PRIVATE_KEY_FILE)
        credentials = Credentials(**stored)
    else:
        _make_certificate(state_dir)
        credentials = Credentials(
            account_id=ACCOUNT_ID,
            base_url=base_url,
            consumer_key=secrets.token_hex(32),
            consumer_secret=secrets.token_hex(32),
            token_id=secrets.token_hex(32),
            token_secret=secrets.token_hex(32),
            client_id=secrets.token_hex(32),
            certificate_id=secrets.token_urlsafe(32),
            private_key_file=str(state_dir / PRIVATE_KEY_FILE),
            time_zone=TIME_ZONE,
            subsidiary_id="1",
            currency_id="1",
            control_token=secrets.token_urlsafe(32),
        )
    if write:
        _write_private(path, json.dumps(asdict(credentials), indent=2).encode())
    else:
        _write_private(state_dir / ".credentials.json", json.dumps(asdict(credentials)).encode())
    return credentials
