"""The one codec of q2c: contracts to JSON bytes and back, with orjson.

Every message is a JSON object whose first two members say what it is::

    {"schema": "quote", "schema_version": 1, "ids": {...}, "total": {"amount": "12.50", ...}}

Decimals are JSON strings, timestamps ISO 8601 in UTC. Decoding reads the header, runs the
body through the subject's upcasters when it was written with an older version, then
validates it with the current model. Anything wrong with the input (not JSON, unknown schema
or version, invalid record, failing upcaster) raises :class:`~schemas.errors.DecodeError`
and nothing else, so a consumer has one thing to catch before writing a dead letter.
Faust uses this same codec under the name ``"q2c"`` (see :mod:`schemas.faust_codec`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from schemas.base import SCHEMA_KEY, VERSION_KEY, Contract
from schemas.catalog import CATALOG, Catalog
from schemas.errors import DecodeError, EncodeError

M = TypeVar("M", bound=Contract)

_MAX_ERRORS_IN_REASON = 3


# pydantic names the member of JsonValue it tried ("list", "dict", ...) in error locations;
# no contract has fields with these names, so they are dropped from paths.
_JSON_VALUE_TAGS = frozenset({"list", "dict", "str", "int", "float", "bool"})
_MAX_PATH = 200


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a readable path: ``lines[2].unit_price.amount``."""
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif any(c in part for c in "[]( -,"):
            # pydantic names the union member or validator it tried; not a field.
            continue
        elif part in _JSON_VALUE_TAGS and index > 0 and index + 1 < len(loc):
            continue
        else:
            path += f".{part}" if path else part
    return path if len(path) <= _MAX_PATH else path[: _MAX_PATH - 3] + "..."


def _validation_error(
    exc: ValidationError, subject: str, version: int, path_prefix: str = ""
) -> DecodeError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    path = field_path(tuple(first["loc"]))
    reason = first["msg"]
    others = [field_path(tuple(e["loc"])) or "(record)" for e in errors[1:]]
    if others:
        shown = ", ".join(others[:_MAX_ERRORS_IN_REASON])
        more = len(others) - _MAX_ERRORS_IN_REASON
        reason += f" (also invalid: {shown}{f' and {more} more' if more > 0 else ''})"
    return DecodeError(reason, path=path_prefix + path, subject=subject, version=version)


def not_json(data: bytes | bytearray | memoryview | str, exc: Exception) -> DecodeError:
    """Why ``data`` is not a message, in words: binary bytes are not described as a JSON
    syntax error."""
    if len(data) == 0:
        return DecodeError("an empty message (no value)")
    if not isinstance(data, str):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return DecodeError(f"not a q2c message: {len(data)} bytes that are not UTF-8 text")
    return DecodeError(f"not valid JSON: {exc}")


class MessageCodec:
    """Encodes and decodes the contracts of one catalog."""

    def __init__(self, catalog: Catalog = CATALOG) -> None:
        self.catalog = catalog

    def encode(self, message: Contract) -> bytes:
        """``message`` as JSON bytes, with its schema header."""
        if not isinstance(message, Contract) or not self.catalog.owns(message):
            raise EncodeError(f"{type(message).__name__} is not a message type of this catalog")
        body = message.model_dump(mode="json")
        try:
            return orjson.dumps(
                {SCHEMA_KEY: message.schema_subject, VERSION_KEY: message.schema_version, **body}
            )
        except orjson.JSONEncodeError as exc:
            # e.g. an integer wider than 64 bits inside a raw source record.
            raise EncodeError(
                f"{message.schema_subject}: cannot be written as JSON ({exc})"
            ) from None

    def decode(self, data: bytes | bytearray | memoryview | str) -> Contract:
        """The message in ``data``, as an instance of its subject's current model."""
        if not isinstance(data, bytes | bytearray | memoryview | str):
            raise DecodeError(f"a message is bytes, not {type(data).__name__}")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise not_json(data, exc) from None
        if not isinstance(obj, dict):
            raise DecodeError(f"a message is a JSON object, not {type(obj).__name__}")
        subject, version = self._header(obj)
        model = self.catalog.model(subject)
        if model is None:
            raise DecodeError(f"unknown schema {subject!r}", path=SCHEMA_KEY)
        current = model.schema_version
        if version > current:
            raise DecodeError(
                f"written with v{version}, newer than the v{current} this reader knows",
                subject=subject,
                version=version,
            )
        if version < current:
            obj = self._upcast(subject, obj, version, current)
        try:
            return model.model_validate(obj)
        except ValidationError as exc:
            raise _validation_error(exc, subject, version) from None
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            # A validator tripping over unexpected input is still bad input.
            raise DecodeError(
                f"invalid record ({type(exc).__name__}: {exc})", subject=subject, version=version
            ) from None

    def decode_as(self, data: bytes | bytearray | memoryview | str, model: type[M]) -> M:
        """Like :meth:`decode`, and the message must be a ``model``."""
        message = self.decode(data)
        if not isinstance(message, model):
            raise DecodeError(
                f"expected {model.schema_subject!r}, got {message.schema_subject!r}",
                path=SCHEMA_KEY,
            )
        return message

    @staticmethod
    def _header(obj: dict[str, Any]) -> tuple[str, int]:
        subject = obj.pop(SCHEMA_KEY, None)
        version = obj.pop(VERSION_KEY, None)
        if not isinstance(subject, str) or not subject:
            raise DecodeError("missing or empty schema name", path=SCHEMA_KEY)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise DecodeError(
                "missing schema version (a positive integer)", path=VERSION_KEY, subject=subject
            )
        return subject, version

    def _upcast(
        self, subject: str, obj: dict[str, Any], version: int, current: int
    ) -> dict[str, Any]:
        try:
            return self.catalog.upcasters.upcast(subject, obj, source=version, target=current)
        except DecodeError:
            raise
        except Exception as exc:
            # Upcasters meet old, possibly malformed data: whatever they trip over is a
            # property of the message, reported as such rather than crashing the consumer.
            raise DecodeError(
                f"upcasting to v{current} failed ({type(exc).__name__}: {exc})",
                subject=subject,
                version=version,
            ) from None


CODEC = MessageCodec()


def encode(message: Contract) -> bytes:
    """``message`` as bytes, with the default catalog."""
    return CODEC.encode(message)


def decode(data: bytes | bytearray | memoryview | str) -> Contract:
    """The message in ``data``, with the default catalog."""
    return CODEC.decode(data)
