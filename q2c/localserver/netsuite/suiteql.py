"""SuiteQL over the store: the query is parsed as Oracle SQL (SuiteQL's dialect) with
sqlglot, refused unless every table is one of :data:`TABLES`, translated to SQLite with the
SuiteQL functions q2c uses replaced by the store's (``TO_DATE``, ``TO_TIMESTAMP``,
``TO_CHAR``, ``BUILTIN.DF``, ``SYSDATE``/``CURRENT_TIMESTAMP``), and run for one page.

Results are as the REST query service returns them: column names in lower case, every value
a string, ``T``/``F`` booleans, nulls left out, and dates and datetimes rendered in the
account's date format and time zone (``M/D/YYYY``; ``TO_CHAR`` gives the time)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.errors import ParseError
from sqlglot.time import format_time

from . import errors
from .fields import CREDIT_STATUSES, INVOICE_STATUSES, ORDER_STATUSES, PAYMENT_STATUSES
from .store import Store, from_internal, is_internal, to_internal

TABLES = frozenset(
    {
        "customer",
        "contact",
        "item",
        "transaction",
        "transactionline",
        "nexttransactionlinelink",
        "previoustransactionlinelink",
        "deletedrecord",
        "subsidiary",
        "currency",
        "term",
        "pricelevel",
        "pricing",
    }
)
MAX_LIMIT = 1000
MAX_RESULTS = 100_000
"""The rows one query yields at most (Executing SuiteQL Queries Through REST Web Services);
the rest of a larger result is not returned."""

_STATUS_NAMES = {
    "SalesOrd": ("Sales Order", dict(ORDER_STATUSES)),
    "CustInvc": ("Invoice", dict(INVOICE_STATUSES)),
    "CustCred": ("Credit Memo", dict(CREDIT_STATUSES)),
    "CustPymt": ("Payment", dict(PAYMENT_STATUSES)),
}
_DISPLAY = {
    "entity": ("customer", "companyname"),
    "customer": ("customer", "companyname"),
    "currency": ("currency", "name"),
    "subsidiary": ("subsidiary", "name"),
    "terms": ("term", "name"),
    "item": ("item", "itemid"),
}
_PARSE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%m/%d/%Y")


def _search_error(detail: str) -> errors.NetSuiteError:
    return errors.NetSuiteError(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. Search error"
        f" occurred: {detail}",
        query_param="q",
    )


_CONVERSIONS = re.compile(r"\b(TO_CHAR|TO_DATE|TO_TIMESTAMP)\s*\(", re.IGNORECASE)
"""Renamed before parsing, so that their Oracle format models reach the store as written."""
_QUOTED = re.compile(r'("[^"]*")')


def oracle_format(model: str) -> str:
    """An Oracle datetime format model (``YYYY-MM-DD"T"HH24:MI:SS``) as strftime's."""
    parts = []
    for part in _QUOTED.split(model):
        if len(part) >= 2 and part.startswith('"') and part.endswith('"'):
            parts.append(part[1:-1].replace("%", "%%"))
        elif part:
            upper = part.upper().replace("FF6", "FF").replace("FF", "FF6")
            parts.append(format_time(upper, Oracle.TIME_MAPPING, Oracle.TIME_TRIE) or part)
    return "".join(parts)


def _with_format(name: str, node: exp.Anonymous) -> exp.Expression:
    args = list(node.expressions)
    if not args or len(args) > 2:
        raise _search_error(f"{name} takes a value and a format model.")
    fmt: exp.Expression = exp.Null()
    if len(args) == 2:
        model = args[1]
        if not (isinstance(model, exp.Literal) and model.is_string):
            raise _search_error(f"The format model of {name} must be a string literal.")
        fmt = exp.Literal.string(oracle_format(model.this))
    target = "NS_TO_CHAR" if name == "TO_CHAR" else "NS_TO_TIMESTAMP"
    return exp.Anonymous(this=target, expressions=[args[0], fmt])


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and str(node.this).upper().startswith("NSQL_"):
        return _with_format(str(node.this).upper().removeprefix("NSQL_"), node)
    if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate) or (
        isinstance(node, exp.Column) and node.name.upper() == "SYSDATE" and not node.table
    ):
        return exp.Anonymous(this="NS_NOW", expressions=[])
    if (
        isinstance(node, exp.Dot)
        and isinstance(node.this, exp.Identifier | exp.Column)
        and node.this.name.upper() == "BUILTIN"
        and isinstance(node.expression, exp.Anonymous)
        and str(node.expression.this).upper() == "DF"
        and len(node.expression.expressions) == 1
    ):
        return _display(node.expression.expressions[0])
    return node


def _display(column: exp.Expression) -> exp.Expression:
    """``BUILTIN.DF(column)``: the referenced record's name, or a status's display text."""
    if not isinstance(column, exp.Column):
        return column
    name = column.name.lower()
    if name == "type":
        return exp.Anonymous(this="NS_TYPE", expressions=[column])
    if name == "status":
        kind = exp.column("type", table=column.table) if column.table else exp.column("type")
        return exp.Anonymous(this="NS_STATUS", expressions=[kind, column])
    target = _DISPLAY.get(name)
    if target is None:
        return column
    table, display = target
    return exp.Subquery(
        this=exp.select(display).from_(table).where(exp.column("id").eq(column.copy()))
    )


class SuiteQL:
    """Runs SuiteQL queries on the store, one page at a time."""

    def __init__(self, store: Store, max_results: Callable[[], int]) -> None:
        self.store = store
        self.max_results = max_results
        conn = store.conn
        conn.create_function("NS_TO_TIMESTAMP", 2, self._to_timestamp, deterministic=True)
        conn.create_function("NS_TO_CHAR", 2, self._to_char, deterministic=True)
        conn.create_function("NS_NOW", 0, lambda: to_internal(dt.datetime.now(dt.UTC)))
        conn.create_function("NS_STATUS", 2, self._status, deterministic=True)
        conn.create_function("NS_TYPE", 1, self._type, deterministic=True)

    def _to_timestamp(self, value: object, fmt: object) -> str | None:
        if value is None:
            return None
        text = str(value)
        formats = (str(fmt),) if fmt is not None else _PARSE_FORMATS
        for candidate in formats:
            try:
                moment = dt.datetime.strptime(text, candidate)
            except ValueError:
                continue
            return to_internal(moment.replace(tzinfo=self.store.zone))
        raise ValueError(f"the value {text!r} does not match the format {fmt!r}")

    def _to_char(self, value: object, fmt: object) -> str | None:
        if value is None:
            return None
        if is_internal(value):
            moment = from_internal(str(value)).astimezone(self.store.zone)
            return moment.strftime(str(fmt)) if fmt is not None else self._date(str(value))
        return str(value)

    @staticmethod
    def _type(kind: object) -> str | None:
        if kind is None:
            return None
        return _STATUS_NAMES.get(str(kind), (str(kind), {}))[0]

    @staticmethod
    def _status(kind: object, status: object) -> str | None:
        if status is None:
            return None
        record, names = _STATUS_NAMES.get(str(kind), ("", {}))
        name = names.get(str(status), str(status))
        return f"{record} : {name}" if record else name

    def _date(self, value: str) -> str:
        day = self.store.local_date(value)
        return f"{day.month}/{day.day}/{day.year}"

    def translate(self, query: str) -> str:
        renamed = _CONVERSIONS.sub(lambda match: f"NSQL_{match.group(1).upper()}(", query)
        try:
            statements = [s for s in sqlglot.parse(renamed, read="oracle") if s is not None]
        except ParseError as exc:
            raise _search_error(
                f"Invalid SuiteQL syntax: {exc.errors[0]['description']}."
            ) from None
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise _search_error("Only one SELECT statement can be run.")
        tree = statements[0]
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if table.db or (name not in TABLES and name not in ctes):
                raise _search_error(f"Record '{table.name}' was not found.")
            table.set("this", exp.to_identifier(name))
        translated = tree.transform(_rewrite)
        return translated.sql(dialect="sqlite", identify=True)

    def _render(self, value: object) -> str:
        if is_internal(value):
            return self._date(str(value))
        if isinstance(value, float):
            return format(Decimal(repr(value)).normalize(), "f")
        return str(value)

    def run(self, query: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of ``query``'s rows and the query's total row count."""
        sql = self.translate(query)
        try:
            total_row = self.store.conn.execute(f"SELECT COUNT(*) FROM ({sql})").fetchone()  # noqa: S608
            # One query yields its first 100,000 rows and no more: the result is cut there.
            total = min(int(total_row[0]), self.max_results())
            if offset >= total > 0:
                raise errors.invalid_parameter(
                    "offset",
                    f"Invalid value {offset} for the parameter offset: the query has"
                    f" {total} results.",
                )
            cursor = self.store.conn.execute(
                f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?",  # noqa: S608
                (min(limit, max(total - offset, 0)), offset),
            )
        except sqlite3.Error as exc:
            message = str(exc)
            if message.startswith("no such column: "):
                message = f"Field '{message.removeprefix('no such column: ')}' was not found."
            raise _search_error(message) from None
        names = [str(column[0]).lower() for column in cursor.description]
        items: list[dict[str, Any]] = []
        for row in cursor.fetchall():
            item: dict[str, Any] = {"links": []}
            for name, value in zip(names, row, strict=True):
                if value is not None:
                    item[name] = self._render(value)
            items.append(item)
        return items, total
