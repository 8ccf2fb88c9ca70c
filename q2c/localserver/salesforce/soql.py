"""SOQL, the subset the local server answers: a parser from text to a :class:`Query`.

Written by hand rather than with sqlglot: SOQL is not SQL. Its child-relationship subqueries
in the SELECT list (``(SELECT Id FROM OpportunityLineItems)``), unquoted datetime and date
literals (``2024-01-01T00:00:00Z``, ``2024-01-01T00:00:00+02:00``, ``2024-01-01``), dotted
parent paths and its rule that ``AND`` and ``OR`` never mix without parentheses have no SQL
dialect that sqlglot parses to the same tree, and the errors must read as the platform's
``MALFORMED_QUERY`` messages. Pure: no I/O, no knowledge of objects (``query.py`` resolves
names against the schema)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from .values import parse_date, parse_datetime


@dataclass(frozen=True)
class DateLiteral:
    """A relative range of days (SOQL and SOSL Reference, "Date Formats and Date Literals"):
    ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n`` (today and the n days before),
    ``NEXT_N_DAYS:n`` (the n days after today), in UTC."""

    name: str
    n: int = 0

    def days(self, today: date) -> tuple[date, date]:
        """The range's first day and the day after its last."""
        one = timedelta(days=1)
        if self.name == "TODAY":
            return today, today + one
        if self.name == "YESTERDAY":
            return today - one, today
        if self.name == "TOMORROW":
            return today + one, today + 2 * one
        if self.name == "LAST_N_DAYS":
            return today - self.n * one, today + one
        return today + one, today + (self.n + 1) * one


Scalar = str | int | float | bool | date | datetime | DateLiteral | None
Value = Scalar | tuple[Scalar, ...]


class SoqlSyntaxError(ValueError):
    """The text is not SOQL (or not the subset); ``column`` counts from 1."""

    def __init__(self, soql: str, column: int, detail: str) -> None:
        super().__init__(
            f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{detail}"
        )
        self.column = column
        self.detail = detail


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    """``("Name",)`` or ``("Account", "Name")``."""

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN"]
    value: Value


@dataclass(frozen=True)
class Junction:
    op: Literal["AND", "OR"]
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    item: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool = False
    nulls_last: bool | None = None
    """None: the default (NULLS FIRST ascending, NULLS LAST descending)."""


@dataclass(frozen=True)
class Query:
    fields: tuple[FieldPath | Query, ...]
    sobject: str
    """The object, or the child relationship name in a subquery."""
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    count: bool = False
    """``SELECT COUNT() FROM …``: only the number of matching records."""


_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
    "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL",
}  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<relative>(?i:(?:LAST|NEXT)_N_DAYS):\d+)
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def keyword(self) -> str | None:
        if self.kind == "name" and self.text.upper() in _KEYWORDS:
            return self.text.upper()
        return None


def _tokens(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(soql):
        match = _TOKEN.match(soql, position)
        if match is None:
            raise SoqlSyntaxError(soql, position + 1, f"unexpected token: '{soql[position]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(soql) + 1))
    return tokens


def _unquote(literal: str, soql: str, column: int) -> str:
    out: list[str] = []
    chars = iter(enumerate(literal[1:-1]))
    for index, char in chars:
        if char != "\\":
            out.append(char)
            continue
        _, escaped = next(chars)
        if escaped not in _ESCAPES and escaped not in "%_":
            raise SoqlSyntaxError(soql, column + index + 1, f"Invalid string literal {literal}")
        # \% and \_ stay escaped: they only mean something to LIKE.
        out.append(_ESCAPES.get(escaped, "\\" + escaped))
    return "".join(out)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokens(soql)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: _Token | None = None) -> SoqlSyntaxError:
        token = token or self.current
        if token.kind == "end":
            return SoqlSyntaxError(self.soql, token.column, "unexpected token: <EOF>")
        return SoqlSyntaxError(self.soql, token.column, f"unexpected token: '{token.text}'")

    def accept(self, keyword: str) -> bool:
        if self.current.keyword == keyword:
            self.index += 1
            return True
        return False

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            raise self.fail()

    def punct(self, char: str) -> bool:
        if self.current.kind == "punct" and self.current.text == char:
            self.index += 1
            return True
        return False

    def field_path(self) -> FieldPath:
        token = self.current
        if token.kind != "name" or token.keyword in {"FROM", "WHERE", "SELECT"}:
            raise self.fail()
        self.index += 1
        return FieldPath(tuple(token.text.split(".")))

    def query(self, nested: bool = False) -> Query:
        self.expect("SELECT")
        fields: list[FieldPath | Query] = []
        count = self._count()
        while not count:
            if self.punct("("):
                if nested:
                    raise self.fail(self.tokens[self.index - 1])
                fields.append(self.query(nested=True))
                if not self.punct(")"):
                    raise self.fail()
            else:
                fields.append(self.field_path())
            if not self.punct(","):
                break
        self.expect("FROM")
        source = self.current
        if source.kind != "name" or source.keyword is not None or "." in source.text:
            raise self.fail()
        self.index += 1
        where = self.condition() if self.accept("WHERE") else None
        order_by: list[OrderItem] = []
        if self.accept("ORDER"):
            self.expect("BY")
            while True:
                path = self.field_path()
                descending = False
                if self.accept("DESC"):
                    descending = True
                else:
                    self.accept("ASC")
                nulls_last: bool | None = None
                if self.accept("NULLS"):
                    if self.accept("LAST"):
                        nulls_last = True
                    else:
                        self.expect("FIRST")
                        nulls_last = False
                order_by.append(OrderItem(path, descending, nulls_last))
                if not self.punct(","):
                    break
        limit = self.integer() if self.accept("LIMIT") else None
        offset = self.integer() if self.accept("OFFSET") else None
        if not nested and self.current.kind != "end":
            raise self.fail()
        return Query(tuple(fields), source.text, where, tuple(order_by), limit, offset, count)

    def _count(self) -> bool:
        """``COUNT()`` as the whole SELECT list."""
        following = self.tokens[self.index + 1 : self.index + 3]
        if (
            self.current.kind == "name"
            and self.current.text.upper() == "COUNT"
            and [t.text for t in following] == ["(", ")"]
        ):
            self.index += 3
            return True
        return False

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail()
        self.index += 1
        return int(token.text)

    def condition(self) -> Condition:
        first = self.operand()
        junction = self.current.keyword
        if junction not in {"AND", "OR"}:
            return first
        items = [first]
        while self.current.keyword in {"AND", "OR"}:
            if self.current.keyword != junction:
                # SOQL never mixes AND and OR on one level without parentheses.
                raise self.fail()
            self.index += 1
            items.append(self.operand())
        return Junction("AND" if junction == "AND" else "OR", tuple(items))

    def operand(self) -> Condition:
        if self.accept("NOT"):
            return Negation(self.operand())
        if self.punct("("):
            inner = self.condition()
            if not self.punct(")"):
                raise self.fail()
            return inner
        path = self.field_path()
        token = self.current
        if token.kind == "op":
            self.index += 1
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, self.scalar())  # type: ignore[arg-type]
        if self.accept("LIKE"):
            value = self.scalar()
            if not isinstance(value, str):
                raise self.fail(self.tokens[self.index - 1])
            return Comparison(path, "LIKE", value)
        negated = self.accept("NOT")
        if self.accept("IN"):
            if not self.punct("("):
                raise self.fail()
            values = [self.scalar()]
            while self.punct(","):
                values.append(self.scalar())
            if not self.punct(")"):
                raise self.fail()
            return Comparison(path, "NOT IN" if negated else "IN", tuple(values))
        raise self.fail()

    def scalar(self) -> Scalar:
        token = self.advance()
        try:
            if token.kind == "string":
                return _unquote(token.text, self.soql, token.column)
            if token.kind == "datetime":
                return parse_datetime(token.text)
            if token.kind == "date":
                return parse_date(token.text)
        except ValueError:
            raise SoqlSyntaxError(
                self.soql, token.column, f"line 1:{token.column - 1} no viable alternative"
            ) from None
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "relative":
            name, _, count = token.text.upper().partition(":")
            return DateLiteral(name, int(count))
        if token.kind == "name" and token.text.upper() in {"TODAY", "YESTERDAY", "TOMORROW"}:
            return DateLiteral(token.text.upper())
        keyword = token.keyword
        if keyword == "TRUE":
            return True
        if keyword == "FALSE":
            return False
        if keyword == "NULL":
            return None
        raise self.fail(token)


def parse(soql: str) -> Query:
    """The query, or :class:`SoqlSyntaxError` with the platform's message shape."""
    return _Parser(soql).query()
