"""The REST record service over the store: records read as REST JSON (references as
``{id, refName, links}``, datetimes in UTC ISO 8601, dates as ``YYYY-MM-DD`` in the
account's time zone, amounts as numbers), written from REST JSON with the documented
validation errors, upserted by external id, transformed (sales order → invoice, invoice →
credit memo), deleted into the deletion log. Customer payments apply to invoices through
their ``apply`` sublist and leave ``Payment`` links in ``nexttransactionlinelink``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from . import errors
from .errors import NetSuiteError
from .fields import KINDS, TRANSFORMS, Field, RecordKind
from .store import Store, from_internal

REF_NAMES = {
    "customer": "companyname",
    "item": "itemid",
    "currency": "name",
    "subsidiary": "name",
    "term": "name",
    "transaction": "tranid",
    "pricelevel": "name",
}
_REF_RECORD = {
    "customer": "customer",
    "currency": "currency",
    "subsidiary": "subsidiary",
    "term": "term",
}
LINE_SIGN = {"SalesOrd": Decimal(-1), "CustInvc": Decimal(-1), "CustCred": Decimal(1)}
"""How ``transactionline`` signs a line's quantity and amounts (inventory out and income
are negative on orders and invoices, positive on credit memos); the record service shows
them positive."""
_LINE_FIELDS = {"item", "quantity", "rate", "amount", "description", "line"}
_APPLY_FIELDS = {"doc", "apply", "amount", "line"}
_PRICE_FIELDS = {"currencyPage", "priceLevel", "quantity", "price"}
BASE_PRICE_LEVEL = 1
_IGNORED = {"links", "id"}


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise errors.user_error(f"Invalid value {value!r} for the field {path}.", path)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise errors.user_error(f"Invalid value {value!r} for the field {path}.", path) from None
    if not number.is_finite():
        raise errors.user_error(f"Invalid value {value!r} for the field {path}.", path)
    return number


def _number(value: object) -> float | None:
    if value is None or value == "":
        return None
    return float(Decimal(str(value)))


def _text(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


class RecordService:
    """Reads and writes records of the types in :data:`fields.KINDS`."""

    def __init__(self, store: Store, base_url: Callable[[], str]) -> None:
        self.store = store
        self.base_url = base_url

    # addresses --------------------------------------------------------------------------

    def record_url(self, kind: str, record_id: int | str) -> str:
        return f"{self.base_url()}/services/rest/record/v1/{kind}/{record_id}"

    def kind(self, name: str) -> RecordKind:
        kind = KINDS.get(name)
        if kind is None:
            raise NetSuiteError(
                404,
                "INVALID_ID",
                f"Invalid record type {name}. The record type is not supported.",
            )
        return kind

    def _where(self, kind: RecordKind) -> tuple[str, tuple[Any, ...]]:
        if kind.filter_column:
            return f" AND {kind.filter_column} = ?", (kind.filter_value,)
        return "", ()

    def _table(self, kind: RecordKind) -> str:
        return f'"{kind.table}"'

    def resolve(self, kind: RecordKind, key: str) -> int:
        """The internal id of ``key`` (an id or ``eid:<externalId>``); 404 if none."""
        where, params = self._where(kind)
        if key.startswith("eid:"):
            row = self.store.row(
                f"SELECT id FROM {self._table(kind)} WHERE externalid = ?{where}",  # noqa: S608
                (key[4:], *params),
            )
        elif key.isdigit():
            row = self.store.row(
                f"SELECT id FROM {self._table(kind)} WHERE id = ?{where}",  # noqa: S608,
                (int(key), *params),
            )
        else:
            row = None
        if row is None:
            raise errors.nonexistent(kind.name, key)
        return int(row["id"])

    def find(self, kind: RecordKind, key: str) -> int | None:
        try:
            return self.resolve(kind, key)
        except NetSuiteError:
            return None

    # reading ----------------------------------------------------------------------------

    def _ref(self, table: str, value: object) -> dict[str, Any] | None:
        if value is None:
            return None
        row = self.store.row(
            f'SELECT {REF_NAMES[table]} AS name FROM "{table}" WHERE id = ?',  # noqa: S608,
            (value,),
        )
        ref: dict[str, Any] = {
            "links": [
                {
                    "rel": "self",
                    "href": self.record_url(_REF_RECORD.get(table, table), str(value)),
                }
            ],
            "id": str(value),
        }
        if row is not None and row["name"] is not None:
            ref["refName"] = str(row["name"])
        return ref

    def _value(self, spec: Field, value: object) -> Any:
        if value is None:
            return None
        if spec.kind == "ref":
            return self._ref(spec.ref, value)
        if spec.kind == "bool":
            return value == "T"
        if spec.kind == "decimal":
            return _number(value)
        if spec.kind == "datetime":
            return from_internal(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if spec.kind == "date":
            return self.store.local_date(str(value)).isoformat()
        if spec.kind == "select":
            names = dict(spec.choices)
            return {"id": str(value), "refName": names.get(str(value), str(value))}
        return str(value)

    def get(self, kind_name: str, key: str, *, expand: bool = False) -> dict[str, Any]:
        kind = self.kind(kind_name)
        record_id = self.resolve(kind, key)
        row = self.store.row(f"SELECT * FROM {self._table(kind)} WHERE id = ?", (record_id,))  # noqa: S608
        assert row is not None
        body: dict[str, Any] = {
            "links": [{"rel": "self", "href": self.record_url(kind.name, record_id)}],
            "id": str(record_id),
        }
        for spec in kind.fields:
            value = self._value(spec, row[spec.column])
            if value is not None:
                body[spec.name] = value
        if kind.statuses:
            names = dict(kind.statuses)
            status = names.get(str(row["status"]), str(row["status"]))
            body["status"] = {"id": status, "refName": status}
        if kind.table == "transaction":
            created = self.store.row(
                'SELECT createdfrom FROM transactionline WHERE "transaction" = ?'
                " AND createdfrom IS NOT NULL LIMIT 1",
                (record_id,),
            )
            if created is not None:
                body["createdFrom"] = self._ref("transaction", created["createdfrom"])
        if kind.sublist:
            url = f"{self.record_url(kind.name, record_id)}/{kind.sublist}"
            if expand:
                body[kind.sublist] = self.sublist(kind.name, str(record_id), kind.sublist)
            else:
                body[kind.sublist] = {"links": [{"rel": "self", "href": url}]}
        return body

    def sublist(self, kind_name: str, key: str, name: str) -> dict[str, Any]:
        kind = self.kind(kind_name)
        record_id = self.resolve(kind, key)
        if name != kind.sublist:
            raise NetSuiteError(
                404, "NONEXISTENT_ID", f"The sublist {name} does not exist on {kind.name}."
            )
        url = f"{self.record_url(kind.name, record_id)}/{name}"
        if name == "apply":
            items = self._apply_lines(record_id)
        elif name == "price":
            items = self._price_lines(record_id)
        else:
            items = self._item_lines(record_id)
        return {
            "links": [{"rel": "self", "href": url}],
            "count": len(items),
            "hasMore": False,
            "items": items,
            "offset": 0,
            "totalResults": len(items),
        }

    def _sign(self, record_id: int) -> Decimal:
        row = self.store.row('SELECT type FROM "transaction" WHERE id = ?', (record_id,))
        return LINE_SIGN.get(str(row["type"]) if row is not None else "", Decimal(1))

    def _item_lines(self, record_id: int) -> list[dict[str, Any]]:
        lines = []
        sign = self._sign(record_id)
        for row in self.store.rows(
            "SELECT * FROM transactionline WHERE \"transaction\" = ? AND mainline = 'F'"
            " ORDER BY linesequencenumber",
            (record_id,),
        ):
            line: dict[str, Any] = {
                "links": [],
                "line": int(row["id"]),
                "item": self._ref("item", row["item"]),
                "quantity": _number(Decimal(str(row["quantity"])) * sign),
                "rate": _number(row["rate"]),
                "amount": _number(Decimal(str(row["foreignamount"])) * sign),
            }
            if row["memo"] is not None:
                line["description"] = str(row["memo"])
            lines.append(line)
        return lines

    def _price_lines(self, item_id: int) -> list[dict[str, Any]]:
        return [
            {
                "links": [],
                "currencyPage": self._ref("currency", row["currency"]),
                "priceLevel": self._ref("pricelevel", row["pricelevel"]),
                "quantity": {"value": _number(row["quantity"])},
                "price": _number(row["unitprice"]),
            }
            for row in self.store.rows(
                "SELECT * FROM pricing WHERE item = ? ORDER BY currency, pricelevel,"
                " CAST(quantity AS REAL)",
                (item_id,),
            )
        ]

    def _apply_lines(self, record_id: int) -> list[dict[str, Any]]:
        lines = []
        for index, row in enumerate(
            self.store.rows(
                "SELECT l.previousdoc, l.foreignamount, t.tranid, t.foreigntotal,"
                " t.foreignamountunpaid, t.type FROM nexttransactionlinelink l"
                ' JOIN "transaction" t ON t.id = l.previousdoc'
                " WHERE l.nextdoc = ? AND l.linktype = 'Payment' ORDER BY l.id",
                (record_id,),
            ),
            start=1,
        ):
            lines.append(
                {
                    "links": [],
                    "line": index,
                    "doc": self._ref("transaction", row["previousdoc"]),
                    "apply": True,
                    "amount": _number(row["foreignamount"]),
                    "refNum": str(row["tranid"]),
                    "total": _number(row["foreigntotal"]),
                    "due": _number(row["foreignamountunpaid"]),
                    "type": "Invoice",
                }
            )
        return lines

    def ids(self, kind_name: str, limit: int, offset: int) -> tuple[list[int], int]:
        kind = self.kind(kind_name)
        where, params = self._where(kind)
        total_row = self.store.row(
            f"SELECT COUNT(*) AS n FROM {self._table(kind)} WHERE 1 = 1{where}",  # noqa: S608,
            params,
        )
        total = int(total_row["n"]) if total_row is not None else 0
        rows = self.store.rows(
            f"SELECT id FROM {self._table(kind)} WHERE 1 = 1{where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
            (*params, limit, offset),
        )
        return [int(row["id"]) for row in rows], total

    # writing ----------------------------------------------------------------------------

    def _ref_id(self, spec: Field, value: object, path: str) -> int:
        if not isinstance(value, Mapping):
            raise errors.invalid_content(
                f"Invalid value for the field {path}: expected an object with an id.", path
            )
        table = spec.ref
        if "id" in value and value["id"] not in (None, ""):
            raw = str(value["id"])
            row = (
                self.store.row(f'SELECT id FROM "{table}" WHERE id = ?', (int(raw),))  # noqa: S608
                if raw.isdigit()
                else None
            )
        elif "externalId" in value and table in ("customer", "item", "transaction"):
            raw = str(value["externalId"])
            row = self.store.row(f'SELECT id FROM "{table}" WHERE externalid = ?', (raw,))  # noqa: S608
        else:
            raise errors.invalid_content(
                f"Invalid value for the field {path}: expected an object with an id.", path
            )
        if row is None:
            raise errors.invalid_reference(path, raw)
        return int(row["id"])

    def _column_value(self, spec: Field, value: object, path: str) -> object:
        if value is None:
            if spec.required:
                raise errors.field_required(path, spec.label or spec.name)
            return None
        if spec.kind == "ref":
            return self._ref_id(spec, value, path)
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise errors.user_error(f"Invalid value {value!r} for the field {path}.", path)
            return "T" if value else "F"
        if spec.kind == "decimal":
            return _text(_decimal(value, path))
        if spec.kind == "date":
            try:
                day = dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                raise errors.user_error(
                    f"Invalid date value {value!r} for the field {path}; use YYYY-MM-DD.", path
                ) from None
            return self.store.date_to_internal(day)
        if spec.kind == "select":
            raw = value.get("id") if isinstance(value, Mapping) else value
            if str(raw) not in dict(spec.choices):
                raise errors.user_error(f"Invalid value {raw!r} for the field {path}.", path)
            return str(raw)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise errors.user_error(f"Invalid value {value!r} for the field {path}.", path)
        return str(value)

    def _columns(
        self, kind: RecordKind, body: Mapping[str, Any], *, creating: bool
    ) -> dict[str, object]:
        columns: dict[str, object] = {}
        for name, value in body.items():
            if name in _IGNORED or name == kind.sublist:
                continue
            spec = kind.field(name)
            if spec is None:
                raise errors.invalid_content(
                    f"Invalid field {name}: the field does not exist on the record type"
                    f" {kind.name}.",
                    name,
                )
            if spec.readonly:
                continue
            columns[spec.column] = self._column_value(spec, value, name)
        if creating:
            for spec in kind.fields:
                if spec.required and columns.get(spec.column) is None:
                    raise errors.field_required(spec.name, spec.label or spec.name)
        return columns

    def _body(self, body: object) -> Mapping[str, Any]:
        if not isinstance(body, Mapping):
            raise errors.invalid_content("The request body must be a JSON object.")
        return body

    def create(self, kind_name: str, body: object) -> int:
        kind = self.kind(kind_name)
        data = self._body(body)
        with self.store.transaction():
            return self._insert(kind, data)

    def update(
        self, kind_name: str, key: str, body: object, *, replace: frozenset[str] = frozenset()
    ) -> int:
        kind = self.kind(kind_name)
        data = self._body(body)
        with self.store.transaction():
            record_id = self.resolve(kind, key)
            self._update(kind, record_id, data, replace)
            return record_id

    def upsert(
        self, kind_name: str, external_id: str, body: object, *, replace: frozenset[str]
    ) -> int:
        kind = self.kind(kind_name)
        data = dict(self._body(body))
        if "externalId" in data and str(data["externalId"]) != external_id:
            raise errors.user_error(
                "The external ID in the request body differs from the one in the URL.",
                "externalId",
            )
        data["externalId"] = external_id
        with self.store.transaction():
            record_id = self.find(kind, f"eid:{external_id}")
            if record_id is None:
                return self._insert(kind, data)
            self._update(kind, record_id, data, replace)
            return record_id

    def _insert(self, kind: RecordKind, data: Mapping[str, Any]) -> int:
        columns = self._columns(kind, data, creating=True)
        external_id = columns.get("externalid")
        if external_id is not None and self.find(kind, f"eid:{external_id}") is not None:
            raise errors.user_error(
                f"A record with the external ID {external_id} already exists.", "externalId"
            )
        now = self.store.stamp()
        if kind.table == "customer":
            columns.setdefault("subsidiary", 1)
            columns.setdefault("entityid", columns.get("companyname"))
            if columns.get("currency") is None:
                columns["currency"] = self._subsidiary_currency(columns["subsidiary"])
            columns["datecreated"] = now
        elif kind.table == "contact":
            if columns.get("subsidiary") is None:
                company = self.store.row(
                    "SELECT subsidiary FROM customer WHERE id = ?", (columns.get("company"),)
                )
                columns["subsidiary"] = company["subsidiary"] if company is not None else 1
            if columns.get("entityid") is None:
                given = (columns.get("firstname"), columns.get("lastname"))
                columns["entityid"] = " ".join(str(n) for n in given if n) or None
            columns["datecreated"] = now
        elif kind.table == "item":
            columns["itemtype"] = kind.filter_value
            columns["createddate"] = now
        else:
            self._transaction_defaults(kind, columns)
            columns["createddate"] = now
        columns["lastmodifieddate"] = now
        names = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join("?" for _ in columns)
        record_id = self.store.execute(
            f"INSERT INTO {self._table(kind)} ({names}) VALUES ({marks})",  # noqa: S608
            tuple(columns.values()),
        )
        if kind.table == "item":
            self._sync_base_price(record_id, columns)
            if "price" in data:
                self._write_sublist(kind, record_id, data, replace=True)
        if kind.table == "transaction":
            if not columns["tranid"]:
                self.store.execute(
                    'UPDATE "transaction" SET tranid = ? WHERE id = ?',
                    (f"{kind.tran_prefix}{record_id}", record_id),
                )
            self._write_sublist(kind, record_id, data, replace=True)
        return record_id

    def _update(
        self, kind: RecordKind, record_id: int, data: Mapping[str, Any], replace: frozenset[str]
    ) -> None:
        columns = self._columns(kind, data, creating=False)
        for spec in kind.fields:
            if spec.required and spec.column in columns and columns[spec.column] is None:
                raise errors.field_required(spec.name, spec.label or spec.name)
        if kind.table == "transaction" and "entity" in columns:
            current = self.store.row('SELECT entity FROM "transaction" WHERE id = ?', (record_id,))
            if current is not None and int(current["entity"]) != columns["entity"]:
                self._require_no_dependents(kind, record_id)
        external_id = columns.get("externalid")
        if external_id is not None:
            other = self.find(kind, f"eid:{external_id}")
            if other is not None and other != record_id:
                raise errors.user_error(
                    f"A record with the external ID {external_id} already exists.", "externalId"
                )
        columns["lastmodifieddate"] = self.store.stamp()
        assignments = ", ".join(f'"{name}" = ?' for name in columns)
        self.store.execute(
            f"UPDATE {self._table(kind)} SET {assignments} WHERE id = ?",  # noqa: S608
            (*columns.values(), record_id),
        )
        if kind.table == "item":
            self._sync_base_price(record_id, columns)
        if kind.sublist and kind.sublist in data:
            self._write_sublist(kind, record_id, data, replace=kind.sublist in replace)
        elif kind.table == "transaction" and "exchangerate" in columns:
            self._total(kind, record_id)

    def _subsidiary_currency(self, subsidiary: object) -> int:
        row = self.store.row("SELECT currency FROM subsidiary WHERE id = ?", (subsidiary,))
        return int(row["currency"]) if row is not None else 1

    def _transaction_defaults(self, kind: RecordKind, columns: dict[str, object]) -> None:
        customer = self.store.row("SELECT * FROM customer WHERE id = ?", (columns["entity"],))
        assert customer is not None
        columns["type"] = kind.filter_value
        columns["recordtype"] = kind.search_type
        if columns.get("subsidiary") is None:
            columns["subsidiary"] = customer["subsidiary"] or 1
        if columns.get("currency") is None:
            columns["currency"] = customer["currency"] or self._subsidiary_currency(
                columns["subsidiary"]
            )
        if columns.get("exchangerate") is None:
            rate = self.store.row(
                "SELECT exchangerate FROM currency WHERE id = ?", (columns["currency"],)
            )
            columns["exchangerate"] = str(rate["exchangerate"]) if rate is not None else "1"
        if columns.get("terms") is None and kind.name in ("salesOrder", "invoice"):
            columns["terms"] = customer["terms"]
        if columns.get("trandate") is None:
            columns["trandate"] = self.store.today()
        if kind.name == "invoice" and columns.get("duedate") is None:
            days = 0
            if columns.get("terms") is not None:
                term = self.store.row(
                    "SELECT daysuntilnetdue FROM term WHERE id = ?", (columns["terms"],)
                )
                days = int(term["daysuntilnetdue"]) if term is not None else 0
            day = self.store.local_date(str(columns["trandate"])) + dt.timedelta(days=days)
            columns["duedate"] = self.store.date_to_internal(day)
        columns.setdefault("status", kind.statuses[0][0] if kind.name != "salesOrder" else "B")
        if columns["status"] is None:
            columns["status"] = "B"
        if columns.get("tranid") is None:
            columns["tranid"] = ""

    # sublists ---------------------------------------------------------------------------

    def _write_sublist(
        self, kind: RecordKind, record_id: int, data: Mapping[str, Any], *, replace: bool
    ) -> None:
        if kind.sublist == "item":
            self._write_items(kind, record_id, data.get("item"), replace=replace)
        elif kind.sublist == "apply":
            self._write_applications(record_id, data.get("apply"), data)
        elif kind.sublist == "price":
            self._write_prices(record_id, data.get("price"), replace=replace)

    def _sync_base_price(self, item_id: int, columns: Mapping[str, object]) -> None:
        """``basePrice`` sets the base price level's price in the base currency."""
        if "baseprice" not in columns:
            return
        self.store.execute(
            "DELETE FROM pricing WHERE item = ? AND pricelevel = ? AND currency = 1"
            " AND quantity = '0'",
            (item_id, BASE_PRICE_LEVEL),
        )
        if columns["baseprice"] is not None:
            self.store.execute(
                "INSERT INTO pricing (item, pricelevel, currency, quantity, unitprice)"
                " VALUES (?, ?, 1, '0', ?)",
                (item_id, BASE_PRICE_LEVEL, columns["baseprice"]),
            )

    def _write_prices(self, item_id: int, value: object, *, replace: bool) -> None:
        lines = self._sublist_items(value, "price")
        if replace:
            self.store.execute("DELETE FROM pricing WHERE item = ?", (item_id,))
        for index, line in enumerate(lines):
            path = f"price.items[{index}]"
            unknown = set(line) - _PRICE_FIELDS - _IGNORED
            if unknown:
                raise errors.invalid_content(
                    f"Invalid field {sorted(unknown)[0]} on the price sublist.", path
                )
            level = self._ref_id(
                Field("priceLevel", "pricelevel", "ref", ref="pricelevel"),
                line.get("priceLevel"),
                f"{path}.priceLevel",
            )
            currency = (
                self._ref_id(
                    Field("currencyPage", "currency", "ref", ref="currency"),
                    line["currencyPage"],
                    f"{path}.currencyPage",
                )
                if "currencyPage" in line
                else 1
            )
            quantity = line.get("quantity", {"value": 0})
            raw_quantity = quantity.get("value", 0) if isinstance(quantity, Mapping) else quantity
            amount = _text(_decimal(line.get("price"), f"{path}.price"))
            at = _text(_decimal(raw_quantity, f"{path}.quantity"))
            self.store.execute(
                "INSERT INTO pricing (item, pricelevel, currency, quantity, unitprice)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (item, pricelevel, currency, quantity)"
                " DO UPDATE SET unitprice = excluded.unitprice",
                (item_id, level, currency, at, amount),
            )
        base = self.store.row(
            "SELECT unitprice FROM pricing WHERE item = ? AND pricelevel = ? AND currency = 1"
            " AND quantity = '0'",
            (item_id, BASE_PRICE_LEVEL),
        )
        self.store.execute(
            "UPDATE item SET baseprice = ? WHERE id = ?",
            (base["unitprice"] if base is not None else None, item_id),
        )

    def _sublist_items(self, value: object, name: str) -> list[Mapping[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, Mapping) or not isinstance(value.get("items"), list):
            raise errors.invalid_content(
                f"Invalid value for the sublist {name}: expected an object with items.", name
            )
        lines = value["items"]
        for index, line in enumerate(lines):
            if not isinstance(line, Mapping):
                raise errors.invalid_content(
                    f"Invalid line in the sublist {name}.", f"{name}.items[{index}]"
                )
        return list(lines)

    def _write_items(
        self, kind: RecordKind, record_id: int, value: object, *, replace: bool
    ) -> None:
        lines = self._sublist_items(value, "item")
        header = self.store.row('SELECT * FROM "transaction" WHERE id = ?', (record_id,))
        assert header is not None
        if replace:
            self.store.execute(
                "DELETE FROM transactionline WHERE \"transaction\" = ? AND mainline = 'F'",
                (record_id,),
            )
        now = self.store.stamp()
        sign = LINE_SIGN.get(str(header["type"]), Decimal(1))
        for index, line in enumerate(lines):
            path = f"item.items[{index}]"
            unknown = set(line) - _LINE_FIELDS - _IGNORED
            if unknown:
                raise errors.invalid_content(
                    f"Invalid field {sorted(unknown)[0]} on the item sublist.", path
                )
            existing = None
            if "line" in line and not replace:
                existing = self.store.row(
                    'SELECT * FROM transactionline WHERE "transaction" = ? AND id = ?'
                    " AND mainline = 'F'",
                    (record_id, int(_decimal(line["line"], f"{path}.line"))),
                )
                if existing is None:
                    raise errors.invalid_reference(f"{path}.line", str(line["line"]))
            if "item" in line:
                item = self._ref_id(Field("item", "item", "ref", ref="item"), line["item"], path)
            elif existing is not None:
                item = int(existing["item"])
            else:
                raise errors.field_required(f"{path}.item", "Item")
            price = self.store.row("SELECT baseprice FROM item WHERE id = ?", (item,))
            quantity = (
                _decimal(line["quantity"], f"{path}.quantity")
                if "quantity" in line
                else Decimal(str(existing["quantity"])) * sign
                if existing is not None
                else Decimal(1)
            )
            if "rate" in line:
                rate = _decimal(line["rate"], f"{path}.rate")
            elif existing is not None:
                rate = Decimal(str(existing["rate"]))
            elif price is not None and price["baseprice"] is not None:
                rate = Decimal(str(price["baseprice"]))
            else:
                rate = Decimal(0)
            amount = (
                _decimal(line["amount"], f"{path}.amount") if "amount" in line else quantity * rate
            )
            memo = line.get("description", existing["memo"] if existing is not None else None)
            if existing is not None:
                self.store.execute(
                    "UPDATE transactionline SET item = ?, quantity = ?, rate = ?,"
                    " foreignamount = ?, netamount = ?, memo = ?, linelastmodifieddate = ?"
                    " WHERE uniquekey = ?",
                    (
                        item,
                        _text(quantity * sign),
                        _text(rate),
                        _text(amount * sign),
                        _text(amount * sign * Decimal(str(header["exchangerate"]))),
                        memo,
                        now,
                        existing["uniquekey"],
                    ),
                )
                continue
            self._add_line(record_id, header, item, quantity, rate, amount, memo, None, now)
        self._total(kind, record_id)

    def _add_line(
        self,
        record_id: int,
        header: sqlite3.Row,
        item: int,
        quantity: Decimal,
        rate: Decimal,
        amount: Decimal,
        memo: object,
        created_from: int | None,
        now: str,
    ) -> int:
        sign = LINE_SIGN.get(str(header["type"]), Decimal(1))
        last = self.store.row(
            'SELECT MAX(id) AS n FROM transactionline WHERE "transaction" = ?', (record_id,)
        )
        line_id = int(last["n"]) + 1 if last is not None and last["n"] is not None else 1
        self.store.execute(
            'INSERT INTO transactionline ("transaction", id, linesequencenumber, mainline,'
            " item, quantity, rate, foreignamount, netamount, memo, subsidiary, entity,"
            " createdfrom, linelastmodifieddate) VALUES (?, ?, ?, 'F', ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                record_id,
                line_id,
                line_id,
                item,
                _text(quantity * sign),
                _text(rate),
                _text(amount * sign),
                _text(amount * sign * Decimal(str(header["exchangerate"]))),
                memo,
                header["subsidiary"],
                header["entity"],
                created_from,
                now,
            ),
        )
        return line_id

    def _total(self, kind: RecordKind, record_id: int) -> None:
        """The header's total, open amount and status from its lines and applications."""
        if kind.sublist != "item":
            return
        amounts = self.store.rows(
            "SELECT foreignamount FROM transactionline"
            " WHERE \"transaction\" = ? AND mainline = 'F'",
            (record_id,),
        )
        sign = LINE_SIGN.get(kind.filter_value, Decimal(1))
        total = sum((Decimal(str(row["foreignamount"])) * sign for row in amounts), Decimal(0))
        columns: dict[str, object] = {"foreigntotal": _text(total)}
        if kind.name == "invoice":
            applied = self._applied_to(record_id)
            columns["foreignamountunpaid"] = _text(total - applied)
            columns["foreignamountpaid"] = _text(applied)
            columns["status"] = "B" if total - applied <= 0 and total > 0 else "A"
        elif kind.name == "creditMemo":
            applied = self._applied_from(record_id)
            columns["foreignpaymentamountunused"] = _text(total - applied)
            columns["foreignpaymentamountused"] = _text(applied)
            columns["status"] = "B" if total - applied <= 0 and total > 0 else "A"
        columns["lastmodifieddate"] = self.store.stamp()
        assignments = ", ".join(f"{name} = ?" for name in columns)
        self.store.execute(
            f'UPDATE "transaction" SET {assignments} WHERE id = ?',  # noqa: S608
            (*columns.values(), record_id),
        )
        self._main_line(record_id, -sign * total)

    def _main_line(self, record_id: int, amount: Decimal) -> None:
        """The transaction's one main line (no item), carrying its total."""
        header = self.store.row('SELECT * FROM "transaction" WHERE id = ?', (record_id,))
        assert header is not None
        foreign = _text(amount)
        net = _text(amount * Decimal(str(header["exchangerate"])))
        updated = self.store.conn.execute(
            "UPDATE transactionline SET foreignamount = ?, netamount = ?, subsidiary = ?,"
            " entity = ?, linelastmodifieddate = ? WHERE \"transaction\" = ? AND mainline = 'T'",
            (
                foreign,
                net,
                header["subsidiary"],
                header["entity"],
                header["lastmodifieddate"],
                record_id,
            ),
        )
        if updated.rowcount == 0:
            self.store.execute(
                'INSERT INTO transactionline ("transaction", id, linesequencenumber, mainline,'
                " foreignamount, netamount, subsidiary, entity, linelastmodifieddate)"
                " VALUES (?, 0, 0, 'T', ?, ?, ?, ?, ?)",
                (
                    record_id,
                    foreign,
                    net,
                    header["subsidiary"],
                    header["entity"],
                    header["lastmodifieddate"],
                ),
            )

    def _applied_to(self, invoice_id: int) -> Decimal:
        rows = self.store.rows(
            "SELECT foreignamount FROM nexttransactionlinelink WHERE previousdoc = ?"
            " AND linktype = 'Payment'",
            (invoice_id,),
        )
        return sum((Decimal(str(row["foreignamount"])) for row in rows), Decimal(0))

    def _applied_from(self, doc_id: int) -> Decimal:
        rows = self.store.rows(
            "SELECT foreignamount FROM nexttransactionlinelink WHERE nextdoc = ?"
            " AND linktype = 'Payment'",
            (doc_id,),
        )
        return sum((Decimal(str(row["foreignamount"])) for row in rows), Decimal(0))

    def _link(
        self,
        link_type: str,
        previous: sqlite3.Row,
        previous_line: int,
        next_id: int,
        next_type: str,
        next_line: int,
        amount: Decimal,
    ) -> None:
        now = self.store.stamp()
        self.store.execute(
            "INSERT INTO nexttransactionlinelink (linktype, previousdoc, previousline,"
            " previoustype, nextdoc, nextline, nexttype, foreignamount, linkdate,"
            " lastmodifieddate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                link_type,
                previous["id"],
                previous_line,
                previous["type"],
                next_id,
                next_line,
                next_type,
                _text(amount),
                self.store.today(),
                now,
            ),
        )

    def _write_applications(self, payment_id: int, value: object, data: Mapping[str, Any]) -> None:
        lines = self._sublist_items(value, "apply")
        payment = self.store.row('SELECT * FROM "transaction" WHERE id = ?', (payment_id,))
        assert payment is not None
        touched = self._unapply(payment_id)
        applied = Decimal(0)
        for index, line in enumerate(lines):
            path = f"apply.items[{index}]"
            unknown = set(line) - _APPLY_FIELDS - _IGNORED
            if unknown:
                raise errors.invalid_content(
                    f"Invalid field {sorted(unknown)[0]} on the apply sublist.", path
                )
            if line.get("apply", True) is False:
                continue
            doc = self._ref_id(
                Field("doc", "doc", "ref", ref="transaction"), line.get("doc"), f"{path}.doc"
            )
            invoice = self.store.row(
                "SELECT * FROM \"transaction\" WHERE id = ? AND type = 'CustInvc'", (doc,)
            )
            if invoice is None or int(invoice["entity"]) != int(payment["entity"]):
                raise errors.invalid_reference(f"{path}.doc", str(doc))
            due = Decimal(str(invoice["foreigntotal"])) - self._applied_to(doc)
            amount = _decimal(line["amount"], f"{path}.amount") if "amount" in line else due
            if amount <= 0 or amount > due:
                raise errors.user_error(
                    f"The amount applied to invoice {invoice['tranid']} ({amount}) must be"
                    f" more than 0 and at most its amount due ({due}).",
                    f"{path}.amount",
                )
            self._link("Payment", invoice, 0, payment_id, "CustPymt", 0, amount)
            applied += amount
            touched.add(doc)
        total = (
            Decimal(str(payment["foreigntotal"]))
            if "payment" in data
            else max(applied, Decimal(str(payment["foreigntotal"] or 0)))
        )
        if applied > total:
            raise errors.user_error(
                f"The total applied ({applied}) exceeds the payment ({total}).", "payment"
            )
        self.store.execute(
            'UPDATE "transaction" SET foreigntotal = ?, foreignpaymentamountused = ?,'
            " foreignpaymentamountunused = ?, lastmodifieddate = ? WHERE id = ?",
            (_text(total), _text(applied), _text(total - applied), self.store.stamp(), payment_id),
        )
        self._main_line(payment_id, total)
        invoice_kind = KINDS["invoice"]
        for invoice_id in sorted(touched):
            self._total(invoice_kind, invoice_id)

    def _unapply(self, payment_id: int) -> set[int]:
        rows = self.store.rows(
            "SELECT previousdoc FROM nexttransactionlinelink WHERE nextdoc = ?"
            " AND linktype = 'Payment'",
            (payment_id,),
        )
        self.store.execute(
            "DELETE FROM nexttransactionlinelink WHERE nextdoc = ? AND linktype = 'Payment'",
            (payment_id,),
        )
        return {int(row["previousdoc"]) for row in rows}

    # transform and delete ---------------------------------------------------------------

    def transform(self, source_name: str, key: str, target_name: str, body: object) -> int:
        source_kind = self.kind(source_name)
        link_type = TRANSFORMS.get((source_name, target_name))
        if link_type is None:
            raise NetSuiteError(
                400,
                "INVALID_TRANSFORM",
                f"The transformation of {source_name} to {target_name} is not supported.",
            )
        target = self.kind(target_name)
        data = dict(self._body(body if body is not None else {}))
        with self.store.transaction():
            source_id = self.resolve(source_kind, key)
            source = self.store.row('SELECT * FROM "transaction" WHERE id = ?', (source_id,))
            assert source is not None
            if source_name == "salesOrder":
                if source["status"] == "A":
                    raise errors.user_error(
                        "You cannot bill a sales order that is pending approval."
                    )
                if source["status"] in ("G", "H"):
                    raise errors.user_error("The sales order has already been billed.")
            elif source_name == "invoice" and source["status"] == "B":
                raise errors.user_error(
                    "You cannot credit an invoice that is paid in full; its amount due is 0."
                )
            header = {
                "entity": {"id": str(source["entity"])},
                "currency": {"id": str(source["currency"])},
                "subsidiary": {"id": str(source["subsidiary"])},
                "exchangeRate": str(source["exchangerate"]),
            }
            if source_name == "salesOrder" and source["terms"] is not None:
                header["terms"] = {"id": str(source["terms"])}
            if "item" in data:
                raise errors.invalid_content(
                    "The lines of a transformed record come from its source.", "item"
                )
            header.update(data)
            new_id = self._insert(target, header)
            created = self.store.row('SELECT * FROM "transaction" WHERE id = ?', (new_id,))
            assert created is not None
            now = self.store.stamp()
            for line in self.store.rows(
                "SELECT * FROM transactionline WHERE \"transaction\" = ? AND mainline = 'F'"
                " ORDER BY linesequencenumber",
                (source_id,),
            ):
                source_sign = LINE_SIGN.get(str(source["type"]), Decimal(1))
                amount = Decimal(str(line["foreignamount"])) * source_sign
                line_id = self._add_line(
                    new_id,
                    created,
                    int(line["item"]),
                    Decimal(str(line["quantity"])) * source_sign,
                    Decimal(str(line["rate"])),
                    amount,
                    line["memo"],
                    source_id,
                    now,
                )
                self._link(
                    link_type, source, int(line["id"]), new_id, target.filter_value, line_id, amount
                )
            self._total(target, new_id)
            if source_name == "salesOrder":
                self.store.execute(
                    "UPDATE \"transaction\" SET status = 'G', lastmodifieddate = ? WHERE id = ?",
                    (self.store.stamp(), source_id),
                )
            else:
                due = Decimal(str(source["foreigntotal"])) - self._applied_to(source_id)
                credit = self.store.row(
                    'SELECT foreigntotal FROM "transaction" WHERE id = ?', (new_id,)
                )
                assert credit is not None
                amount = min(due, Decimal(str(credit["foreigntotal"])))
                if amount > 0:
                    self._link("Payment", source, 0, new_id, "CustCred", 0, amount)
                self._total(target, new_id)
                self._total(source_kind, source_id)
            return new_id

    def _require_no_dependents(self, kind: RecordKind, record_id: int) -> None:
        if kind.table == "customer":
            row = self.store.row(
                'SELECT id FROM "transaction" WHERE entity = ? LIMIT 1', (record_id,)
            )
        elif kind.table == "item":
            row = self.store.row(
                "SELECT uniquekey FROM transactionline WHERE item = ? LIMIT 1", (record_id,)
            )
        else:
            row = self.store.row(
                "SELECT id FROM nexttransactionlinelink WHERE previousdoc = ? LIMIT 1",
                (record_id,),
            )
        if row is not None:
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "This record cannot be deleted because it has dependent records.",
            )

    def delete(self, kind_name: str, key: str) -> None:
        kind = self.kind(kind_name)
        with self.store.transaction():
            record_id = self.resolve(kind, key)
            self._require_no_dependents(kind, record_id)
            row = self.store.row(f"SELECT * FROM {self._table(kind)} WHERE id = ?", (record_id,))  # noqa: S608
            assert row is not None
            if kind.table == "transaction":
                touched: set[int] = set()
                for link in self.store.rows(
                    "SELECT previousdoc FROM nexttransactionlinelink WHERE nextdoc = ?",
                    (record_id,),
                ):
                    touched.add(int(link["previousdoc"]))
                self.store.execute(
                    "DELETE FROM nexttransactionlinelink WHERE nextdoc = ?", (record_id,)
                )
                self.store.execute(
                    'DELETE FROM transactionline WHERE "transaction" = ?', (record_id,)
                )
                for doc in sorted(touched):
                    previous = self.store.row('SELECT type FROM "transaction" WHERE id = ?', (doc,))
                    if previous is not None and previous["type"] == "CustInvc":
                        self._total(KINDS["invoice"], doc)
                    elif previous is not None and previous["type"] == "SalesOrd":
                        self.store.execute(
                            "UPDATE \"transaction\" SET status = 'B', lastmodifieddate = ?"
                            " WHERE id = ? AND NOT EXISTS (SELECT 1 FROM"
                            " nexttransactionlinelink WHERE previousdoc = ?)",
                            (self.store.stamp(), doc, doc),
                        )
            if kind.table == "item":
                self.store.execute("DELETE FROM pricing WHERE item = ?", (record_id,))
            self.store.execute(f"DELETE FROM {self._table(kind)} WHERE id = ?", (record_id,))  # noqa: S608
            self.store.execute(
                "INSERT INTO deletedrecord (recordid, recordtypename, type, name, externalid,"
                " deleteddate) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record_id,
                    kind.name,
                    kind.search_type,
                    row[kind.name_column],
                    row["externalid"],
                    self.store.stamp(),
                ),
            )
