from __future__ import annotations


class DevStackError(RuntimeError):
    """A local-stack step failed; the message says what to do about it."""
