"""The local org's identity and secrets, made on the first start and kept in the state
directory (``org.json`` and the connected app's key pair, mode 0600), so a restart with the
same directory gives the same credentials. ``credentials.json`` is what a client needs:
where to log in, the connected app's consumer key and private key, the refresh-token flow's
client and token, and the bearer token of the local-only control endpoints."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .ids import make_id

PRIVATE_KEY_FILE = "connected_app_private_key.pem"
CERTIFICATE_FILE = "connected_app_certificate.pem"


@dataclass
class OrgIdentity:
    org_id: str
    consumer_key: str
    client_secret: str
    refresh_token: str
    control_token: str
    login_port: int = 0
    instance_port: int = 0
    pubsub_port: int = 0


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def load_or_create(state_dir: Path) -> OrgIdentity:
    path = state_dir / "org.json"
    if path.exists():
        return OrgIdentity(**json.loads(path.read_text()))
    identity = OrgIdentity(
        org_id=make_id("00D", secrets.randbelow(62**6) + 1),
        # Consumer keys and secrets have this shape on the platform ("3MVG9…", 19 digits).
        consumer_key="3MVG9" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "B"),
        client_secret=str(secrets.randbelow(9 * 10**18) + 10**18),
        refresh_token="5Aep861" + secrets.token_urlsafe(60).replace("-", "x").replace("_", "y"),
        control_token=secrets.token_urlsafe(32),
    )
    _make_key_pair(state_dir)
    save(state_dir, identity)
    return identity


def save(state_dir: Path, identity: OrgIdentity) -> None:
    _write_private(state_dir / "org.json", json.dumps(asdict(identity), indent=2).encode())


def _make_key_pair(state_dir: Path) -> None:
    """The connected app's certificate (kept by the server) and its private key (the
    client's, for signing JWT bearer assertions): RSA 2048, self-signed, as the JWT bearer
    flow's set-up creates them with openssl."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c local connected app")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
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


def certificate_public_key(state_dir: Path) -> Any:
    certificate = x509.load_pem_x509_certificate((state_dir / CERTIFICATE_FILE).read_bytes())
    return certificate.public_key()


def write_credentials(state_dir: Path, credentials: dict[str, Any]) -> Path:
    path = state_dir / "credentials.json"
    temporary = state_dir / "credentials.json.tmp"
    _write_private(temporary, json.dumps(credentials, indent=2).encode())
    temporary.replace(path)
    return path
