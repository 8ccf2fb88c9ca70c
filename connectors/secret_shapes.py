"""The shapes of each system's credentials, masked in logs, traces and dead-letter reasons.

Each connector's spec declares its system's shapes from here; they live apart from the
connectors so that every process masks every system's secrets without loading every
connector.
"""

from __future__ import annotations

SECRET_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    # BottleCRM's personal access tokens
    "bottlecrm": ((r"bcrm_pat_[A-Za-z0-9_-]+", "bcrm_pat_***"),),
    # TBA's signatures and OAuth 2.0 bearer tokens (JWTs)
    "netsuite": (
        (r'oauth_signature="[^"]*"', 'oauth_signature="***"'),
        (r"Bearer\s+[A-Za-z0-9._~+/=-]+", "Bearer ***"),
        (r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", "eyJ***"),
    ),
    # OAuth access tokens ("<org id>!<token>"), refresh tokens ("5Aep861..."), PEM keys
    "salesforce": (
        (
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            "-----PRIVATE KEY***-----",
        ),
        (r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}", "00D***!***"),
        (r"\b5Aep8[A-Za-z0-9._]{20,}", "5Aep8***"),
    ),
    "tryton": (),
}
