"""The q2c codec as a Faust codec, so Faust topics and tables use the same bytes.

Importing this module registers it under the name ``"q2c"``::

    import schemas.faust_codec  # noqa: F401  (registers "q2c")
    topic = app.topic("q2c-quotes", value_serializer="q2c")  # values are Contract objects

A value that cannot be decoded makes Faust raise its ``ValueDecodeError`` whose cause is our
:class:`~schemas.errors.DecodeError`, with the reason and field path.
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs

from schemas.base import Contract
from schemas.codec import CODEC
from schemas.errors import EncodeError

CODEC_NAME = "q2c"


class FaustCodec(codecs.Codec):
    """Faust's view of :data:`schemas.codec.CODEC`."""

    def _dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, Contract):
            raise EncodeError(f"the q2c codec encodes contracts, not {type(obj).__name__}")
        return CODEC.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return CODEC.decode(s)


def register_faust_codec(name: str = CODEC_NAME) -> None:
    """Make ``name`` usable as ``key_serializer``/``value_serializer`` in Faust."""
    codecs.register(name, FaustCodec())


register_faust_codec()
