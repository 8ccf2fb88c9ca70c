import orjson
import pytest
from faust.serializers import codecs as faust_codecs

import schemas as s
from schemas.codec import field_path
from schemas.faust_codec import CODEC_NAME, FaustCodec
from tests.schemas.samples import AT, all_samples, quote


def test_the_samples_cover_every_subject() -> None:
    missing = set(s.CATALOG.subjects()) - {m.schema_subject for m in all_samples()}
    assert not missing, f"add a valid message of {sorted(missing)} to tests/schemas/samples.py"
    assert sorted(m.schema_subject for m in all_samples()) == s.CATALOG.subjects()


@pytest.mark.parametrize("message", all_samples(), ids=lambda m: m.schema_subject)
def test_every_subject_round_trips(message: s.Contract) -> None:
    wire = s.encode(message)
    head = orjson.loads(wire)
    assert head["schema"] == message.schema_subject
    assert head["schema_version"] == message.schema_version
    back = s.decode(wire)
    assert type(back) is type(message)
    assert back == message
    assert s.encode(back) == wire


def test_decimals_are_strings_on_the_wire() -> None:
    body = orjson.loads(s.encode(quote(1)))
    assert body["lines"][0]["quantity"] == "2.5"
    assert body["lines"][0]["unit_price"] == {"amount": "19.90", "currency": "EUR"}
    assert body["updated_at"] == "2026-11-26T12:30:15.250000Z"


def test_decode_as_checks_the_subject() -> None:
    wire = s.encode(quote())
    assert s.CODEC.decode_as(wire, s.Quote) == quote()
    with pytest.raises(s.DecodeError, match="expected 'invoice', got 'quote'"):
        s.CODEC.decode_as(wire, s.Invoice)


def test_only_catalog_models_are_encoded() -> None:
    class Stranger(s.Contract):
        schema_subject = "quote"
        schema_version = 1

    with pytest.raises(s.EncodeError, match="Stranger is not a message type"):
        s.encode(Stranger())
    with pytest.raises(s.EncodeError):
        s.encode({"schema": "quote"})  # type: ignore[arg-type]


def _body(**changes: object) -> bytes:
    data = orjson.loads(s.encode(quote(2)))
    data.update(changes)
    return orjson.dumps(data)


@pytest.mark.parametrize(
    ("payload", "reason", "path"),
    [
        (b"\xff\x00", "not a q2c message: 2 bytes that are not UTF-8 text", ""),
        (b"", "an empty message", ""),
        (b'{"schema": "quote", ', "not valid JSON", ""),
        (b"42", "a message is a JSON object, not int", ""),
        (b'{"schema_version": 1}', "missing or empty schema name", "schema"),
        (b'{"schema": "quote", "schema_version": "1"}', "missing schema version", "schema_version"),
        (
            b'{"schema": "quote", "schema_version": true}',
            "missing schema version",
            "schema_version",
        ),
        (b'{"schema": "quote", "schema_version": 0}', "missing schema version", "schema_version"),
        (b'{"schema": "order", "schema_version": 1}', "unknown schema 'order'", "schema"),
        (b'{"schema": "quote", "schema_version": 3}', "newer than the v2", ""),
        (_body(currency="euro"), "String should match pattern", "currency"),
        (_body(colour="red"), "Extra inputs are not permitted", "colour"),
        (_body(total=None), "Input should be a valid dictionary", "total"),
        (_body(lines=[{"line_no": 1}]), "Field required", "lines[0].quantity"),
    ],
)
def test_bad_input_raises_decode_error_with_reason_and_path(
    payload: bytes, reason: str, path: str
) -> None:
    with pytest.raises(s.DecodeError) as caught:
        s.decode(payload)
    assert reason in caught.value.reason
    assert caught.value.path == path


def test_validation_errors_name_subject_version_and_field() -> None:
    data = orjson.loads(s.encode(quote(2)))
    data["lines"][1]["unit_price"]["amount"] = 19.9
    with pytest.raises(s.DecodeError) as caught:
        s.decode(orjson.dumps(data))
    error = caught.value
    assert (error.subject, error.version) == ("quote", 2)
    assert error.path == "lines[1].unit_price.amount"
    assert str(error).startswith("quote v2 field 'lines[1].unit_price.amount': ")
    assert "not a float" in error.reason


def test_more_errors_are_summarised() -> None:
    data = orjson.loads(s.encode(quote(5)))
    for line in data["lines"]:
        line["sku"] = 7
    with pytest.raises(s.DecodeError, match=r"also invalid: lines\[1\]\.sku.* and 1 more"):
        s.decode(orjson.dumps(data))


def test_field_path_drops_union_member_names() -> None:
    assert field_path(("lines", 2, "unit_price", "amount")) == "lines[2].unit_price.amount"
    assert field_path(("ids", "function-after[_one_known(), ExternalIds]", "crm_id")) == (
        "ids.crm_id"
    )
    assert field_path(()) == ""
    assert field_path(("record", "x", "list", 0, "dict", "y")) == "record.x[0].y"
    assert field_path(("record", "list")) == "record.list"
    assert len(field_path(("record", *([0] * 500)))) == 200


def test_deeply_nested_records_are_refused_cleanly() -> None:
    wire = s.encode(all_samples()[0])
    for depth in (600, 5000):
        nested = b'"record":{"x":' + b"[" * depth + b"]" * depth + b","
        with pytest.raises(s.DecodeError) as caught:
            s.decode(wire.replace(b'"record":{', nested))
        assert len(caught.value.path) <= 200


def test_the_faust_codec_is_the_same_codec() -> None:
    message = quote()
    wire = faust_codecs.dumps(CODEC_NAME, message)
    assert wire == s.encode(message)
    assert faust_codecs.loads(CODEC_NAME, wire) == message
    with pytest.raises(s.EncodeError):
        FaustCodec().dumps({"not": "a contract"})
    with pytest.raises(s.DecodeError, match="not valid JSON"):
        faust_codecs.loads(CODEC_NAME, b"nope")


def test_wide_integers_are_refused_on_both_sides() -> None:
    change = s.RawChange.of(
        system="erp",
        object="big",
        record_id="1",
        operation=s.Operation.CREATE,
        source_ts=AT,
        cursor="",
        record={"n": 2**70},
        observed_at=AT,
    )
    with pytest.raises(s.EncodeError, match="raw_change: cannot be written as JSON"):
        s.encode(change)
    wire = b'{"schema": "quote", "schema_version": 1, "number": 123456789012345678901234567890}'
    with pytest.raises(s.DecodeError):
        s.decode(wire)


def test_faust_topics_get_contracts_through_its_serializer_registry() -> None:
    from faust.exceptions import ValueDecodeError
    from faust.serializers.registry import Registry

    registry = Registry(value_serializer=CODEC_NAME)
    message = quote()
    wire = registry.dumps_value(None, message)
    assert wire == s.encode(message)
    assert registry.loads_value(None, wire) == message
    with pytest.raises(ValueDecodeError) as caught:
        registry.loads_value(None, b'{"schema": "quote", "schema_version": 7}')
    assert isinstance(caught.value.__cause__, s.DecodeError)
    assert caught.value.__cause__.version == 7
