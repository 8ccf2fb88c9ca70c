"""Upcasting through the codec, with a subject local to these tests."""

from typing import Any, ClassVar

import orjson
import pytest

import schemas as s
from schemas.upcasting import JsonObject


class NoteV1(s.Contract):
    schema_subject: ClassVar[str] = "note"
    schema_version: ClassVar[int] = 1

    text: str


class NoteV3(s.Contract):
    """v2 added an optional language (no upcaster needed); v3 split text into title/body."""

    schema_subject: ClassVar[str] = "note"
    schema_version: ClassVar[int] = 3

    title: str
    body: str
    language: str = "en"


def registry() -> s.UpcasterRegistry:
    upcasters = s.UpcasterRegistry()

    @upcasters.register("note", from_version=2)
    def split(data: JsonObject) -> JsonObject:
        text = data.pop("text")
        title, _, body = text.partition("\n")
        return {**data, "title": title, "body": body}

    return upcasters


def wire(version: int, **body: Any) -> bytes:
    return orjson.dumps({"schema": "note", "schema_version": version, **body})


def test_old_versions_are_read_as_the_current_one() -> None:
    codec = s.MessageCodec(s.Catalog([NoteV3], registry()))
    assert codec.decode(wire(1, text="Hello\nworld")) == NoteV3(title="Hello", body="world")
    assert codec.decode(wire(2, text="Hi", language="de")) == NoteV3(
        title="Hi", body="", language="de"
    )
    assert codec.decode(wire(3, title="T", body="B")) == NoteV3(title="T", body="B")


def test_a_failing_upcaster_is_a_decode_error() -> None:
    codec = s.MessageCodec(s.Catalog([NoteV3], registry()))
    with pytest.raises(s.DecodeError, match=r"upcasting to v3 failed \(KeyError: 'text'\)"):
        codec.decode(wire(1, txt="typo"))
    with pytest.raises(s.DecodeError, match=r"upcasting to v3 failed \(AttributeError"):
        codec.decode(wire(2, text=5))


def test_an_upcaster_must_return_an_object() -> None:
    upcasters = s.UpcasterRegistry()
    upcasters.register("note", from_version=1)(lambda data: [data])  # type: ignore[arg-type, return-value]
    codec = s.MessageCodec(s.Catalog([NoteV3], upcasters))
    with pytest.raises(s.DecodeError, match="returned list, not a JSON object"):
        codec.decode(wire(1, text="x"))


def test_registration_is_checked() -> None:
    upcasters = s.UpcasterRegistry()
    upcasters.register("note", from_version=1)(lambda d: d)
    with pytest.raises(ValueError, match="already has an upcaster"):
        upcasters.register("note", from_version=1)(lambda d: d)
    with pytest.raises(ValueError, match="versions start at 1"):
        upcasters.register("note", from_version=0)
    with pytest.raises(ValueError, match="upcaster from v1, but the model is v1"):
        s.Catalog([NoteV1], upcasters)
    with pytest.raises(ValueError, match="unknown subject 'note'"):
        s.Catalog([], upcasters)
    with pytest.raises(ValueError, match="two models for subject 'note'"):
        s.Catalog([NoteV1, NoteV3])


def test_the_project_catalog_has_no_dangling_upcasters() -> None:
    for subject, version in s.CATALOG.upcasters:
        model = s.CATALOG.model(subject)
        assert model is not None
        assert version < model.schema_version
