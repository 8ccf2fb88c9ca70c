"""`q2c connector map`: documents as the systems deliver them → canonical changes, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from connectors.base.spec import DocumentStream, Reading
from connectors.registry import spec, systems
from q2c.cli import cli
from q2c.cli.connector_map import Unmappable, mapped_lines

REPO = Path(__file__).resolve().parents[2]


def sample(system: str, stream: str, name: str) -> Path:
    return REPO / "connectors" / system / "samples" / stream / name


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["connector", "map", *args], input=stdin)


def lines(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output + result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_a_tryton_record_prints_its_canonical_change() -> None:
    path = sample("tryton", "sale.sale", "record.json")
    record = orjson.loads(path.read_bytes())
    (change,) = lines(run("tryton", "sale.sale", str(path)))
    assert change["entity"] == "sales_order"
    assert change["origin_system"] == "tryton"
    assert change["ids"] == {"erp_id": str(record["id"]), "crm_id": record["reference"]}
    assert [line["sku"] for line in change["data"]["lines"]] == [
        line["product."]["code"] for line in record["lines"]
    ]
    assert change["data"]["total"]["amount"] == record["total_amount"]["decimal"]


def test_a_page_prints_one_change_per_record_and_stdin_works() -> None:
    page = sample("bottlecrm", "account", "page.json").read_bytes()
    body = orjson.loads(page)
    listed = [a["id"] for a in body["active_accounts"]["open_accounts"]]
    listed += [a["id"] for a in body["closed_accounts"]["close_accounts"]]
    changes = lines(run("bottlecrm", "account", "-", stdin=page))
    assert [c["ids"]["crm_id"] for c in changes] == listed
    assert {c["entity"] for c in changes} == {"customer"}


def test_a_detail_answer_and_its_list_item_are_the_same_change() -> None:
    record = orjson.loads(sample("bottlecrm", "deal", "record.json").read_bytes())
    page = orjson.loads(sample("bottlecrm", "deal", "page.json").read_bytes())
    (listed,) = [d for d in page["opportunities"] if d["id"] == record["id"]]
    wrapped = orjson.dumps({"opportunity_obj": record})
    (from_list,) = lines(run("bottlecrm", "deal", "-", stdin=orjson.dumps(listed)))
    (detail,) = lines(run("bottlecrm", "deal", "-", stdin=wrapped))
    assert from_list["fingerprint"] == detail["fingerprint"]
    # source_ts (the quote's updated_at) is when the reader saw it: the rest is the same
    assert {**from_list["data"], "updated_at": None} == {**detail["data"], "updated_at": None}


def test_a_webhook_says_which_record_the_receiver_refetches() -> None:
    path = sample("bottlecrm", "webhook", "deal.won.json")
    event = orjson.loads(path.read_bytes())
    (line,) = lines(run("bottlecrm", "webhook", str(path)))
    assert set(line) == {"action"}
    assert f"re-fetch deal {event['data']['id']}" in line["action"]


def test_a_deletion_webhook_is_the_delete_itself() -> None:
    path = sample("bottlecrm", "webhook", "account.deleted.json")
    event = orjson.loads(path.read_bytes())
    (change,) = lines(run("bottlecrm", "webhook", str(path)))
    assert (change["operation"], change["entity"]) == ("delete", "customer")
    assert change["ids"]["crm_id"] == event["data"]["id"]
    assert change["data"] is None


def test_an_event_q2c_does_not_follow_is_ignored() -> None:
    event = orjson.loads(sample("bottlecrm", "webhook", "deal.won.json").read_bytes())
    event["event"] = "invoice.created"
    (line,) = lines(run("bottlecrm", "webhook", "-", stdin=orjson.dumps(event)))
    assert line["action"].startswith("ignore")


def test_deleted_ids_print_a_delete_each_and_parts_name_their_party() -> None:
    changes = lines(run("tryton", "party.party.deleted", "-", stdin=b"[5, 2, 5]"))
    assert [(c["operation"], c["ids"]["erp_id"]) for c in changes] == [
        ("delete", "2"),
        ("delete", "5"),
    ]
    path = sample("tryton", "party.address", "record.json")
    (line,) = lines(run("tryton", "party.address", str(path)))
    party = orjson.loads(path.read_bytes())["party"]
    assert line["action"].startswith(f"re-read party.party {party} ")


@pytest.mark.parametrize(
    ("args", "document", "reason"),
    [
        (("tryton", "sale.sale"), b"{not json", "not JSON"),
        (("tryton", "sale.sale"), b'{"id": 3}', "no last_modified_at"),
        (
            ("tryton", "sale.sale"),
            b'{"id": 1, "error": ["UserError", ["The sale has no party", ""]]}',
            "The sale has no party (skippable)",
        ),
        (("tryton", "party.party.deleted"), b'["x"]', "'x' is not a party.party id"),
        (
            ("tryton", "sale.sale"),
            b'{"id": 3, "last_modified_at": {"__class__": "datetime"}}',
            "item 0 has a malformed tagged value",
        ),
        (("bottlecrm", "deal"), b'{"id": "d1", "name": "No account"}', "needs an account"),
        (("bottlecrm", "webhook"), b'{"event": "deal.won"}', "not a BottleCRM event"),
    ],
)
def test_an_unmappable_document_says_why_and_exits_1(
    args: tuple[str, str], document: bytes, reason: str
) -> None:
    result = run(*args, "-", stdin=document)
    assert result.exit_code == 1
    assert reason in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_help_lists_every_systems_streams() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for system in systems():
        assert spec(system).documents, f"{system} declares no document streams"
        for name in spec(system).documents:
            assert f"{system} {name} " in result.stdout


def test_an_unknown_stream_is_a_usage_error() -> None:
    result = run("tryton", "sale.order", "-", stdin=b"{}")
    assert result.exit_code == 2
    assert "tryton has no stream 'sale.order'" in result.stderr


def test_a_reader_tripping_over_a_document_is_a_reason_not_a_crash() -> None:
    def read(document: Any) -> Reading:
        return Reading(action=str(document["event"]["name"]))

    stream = DocumentStream("events", "a change event", read)
    with pytest.raises(Unmappable, match=r"unexpected document shape \(TypeError"):
        list(mapped_lines(spec("tryton"), stream, b'{"event": []}'))
    assert list(mapped_lines(spec("tryton"), stream, b'{"event": {"name": "gap"}}')) == [
        b'{"action":"gap"}'
    ]
