"""Masking credentials in text that people will read (logs, traces, dead-letter reasons).

The generic patterns cover bearer/basic headers, password- and token-like fields and the
user:password part of a URL. A system whose secrets have a recognisable shape (an API token
prefix, say) adds its own with :func:`add_secret_patterns`; connectors declare theirs in their
spec and the application registers them at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_GENERIC: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|session|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)([\"']?(?:password|passwd|secret|token|api[_-]?key|access[_-]?token|"
            r"client[_-]?secret|authorization)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,;}&]+"
        ),
        r"\1***",
    ),
    (re.compile(r"(?i)(\w+://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),
)

_patterns: list[tuple[re.Pattern[str], str]] = list(_GENERIC)


def add_secret_patterns(patterns: Iterable[tuple[str, str]]) -> None:
    """Mask text matching each ``(regex, replacement)`` from now on; adding one twice is a
    no-op."""
    for regex, replacement in patterns:
        entry = (re.compile(regex), replacement)
        if entry not in _patterns:
            _patterns.append(entry)


def redact(text: str) -> str:
    """``text`` with credentials masked."""
    for pattern, replacement in _patterns:
        text = pattern.sub(replacement, text)
    return text
