"""Runs a parsed SOQL query over the store: names resolved against the describe metadata
(``INVALID_FIELD``, ``INVALID_TYPE``), filter values checked against the field types as the
platform checks them (a datetime field takes an unquoted datetime, a text field a quoted
string), text compared case-insensitively, nulls first ascending and last descending unless
``NULLS FIRST|LAST`` says otherwise, and records rendered as the REST API renders them
(``attributes``, parent relationships as nested records, child subqueries as query pages)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from .errors import SalesforceError
from .ids import normalize_id
from .schema import NUMERIC_TYPES, TEXT_TYPES, FieldDef, ObjectDef
from .soql import (
    Comparison,
    Condition,
    DateLiteral,
    FieldPath,
    Junction,
    Negation,
    Query,
    Scalar,
    SoqlSyntaxError,
    parse,
)
from .values import parse_date, parse_datetime

Record = Mapping[str, Any]
Lookup = Callable[[str], Record | None]
"""A record's values by id (parents of a relationship path), None when absent or deleted."""


def malformed(error: SoqlSyntaxError) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", str(error))


def parse_soql(soql: str) -> Query:
    try:
        return parse(soql)
    except SoqlSyntaxError as error:
        raise malformed(error) from None


@dataclass(frozen=True)
class _Resolved:
    path: FieldPath
    field: FieldDef
    relationship: FieldDef | None
    """The reference field of a parent path (``AccountId`` for ``Account.Name``)."""
    target: ObjectDef | None


class Engine:
    """One query's evaluation over one object's records."""

    def __init__(
        self,
        objects: Callable[[str], ObjectDef | None],
        lookup: Lookup,
        url: Callable[[str, str], str],
    ) -> None:
        self.objects = objects
        self.lookup = lookup
        self.url = url

    def object(self, name: str) -> ObjectDef:
        found = self.objects(name)
        if found is None:
            raise SalesforceError(
                400,
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return found

    def run(
        self,
        query: Query,
        sobject: ObjectDef,
        records: Iterable[Record],
        children: Callable[[str, str, str], Iterable[Record]],
    ) -> list[dict[str, Any]]:
        """The query's records, rendered; ``children(child object, field, parent id)``."""
        selected = [self.resolve(sobject, f) for f in query.fields if isinstance(f, FieldPath)]
        subqueries = [self._subquery(sobject, q) for q in query.fields if isinstance(q, Query)]
        rows = self._select(query, sobject, records)
        rendered = []
        for row in rows:
            out = self.render(sobject, row, selected)
            for relationship_name, child_object, child_field, subquery in subqueries:
                child_rows = self._select(
                    subquery, child_object, children(child_object.name, child_field, row["Id"])
                )
                child_selected = [
                    self.resolve(child_object, f)
                    for f in subquery.fields
                    if isinstance(f, FieldPath)
                ]
                out[relationship_name] = (
                    {
                        "totalSize": len(child_rows),
                        "done": True,
                        "records": [
                            self.render(child_object, r, child_selected) for r in child_rows
                        ],
                    }
                    if child_rows
                    else None
                )
            rendered.append(out)
        return rendered

    def count(self, query: Query, sobject: ObjectDef, records: Iterable[Record]) -> int:
        return len(self._select(query, sobject, records))

    def _subquery(self, parent: ObjectDef, subquery: Query) -> tuple[str, ObjectDef, str, Query]:
        relationship = parent.child(subquery.sobject)
        if relationship is None:
            raise SalesforceError(
                400,
                "INVALID_TYPE",
                f"Didn't understand relationship '{subquery.sobject}' in FROM part of query "
                "call. If you are attempting to use a custom relationship, be sure to append "
                "the '__r' after the custom relationship name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        return relationship.name, self.object(relationship.child), relationship.field, subquery

    def _select(self, query: Query, sobject: ObjectDef, records: Iterable[Record]) -> list[Record]:
        predicate = self._predicate(sobject, query.where) if query.where else None
        rows = [r for r in records if predicate is None or predicate(r)]
        for item in reversed(query.order_by):
            resolved = self.resolve(sobject, item.field)
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            # With reverse=True the null rank flips too, hence the xor.
            null_rank = 1 if nulls_last != item.descending else 0

            def key(row: Record, r: _Resolved = resolved, n: int = null_rank) -> tuple[int, Any]:
                value = _comparable(r.field, self.value(row, r))
                return (n, 0) if value is None else (1 - n, value)

            rows.sort(key=key, reverse=item.descending)
        start = query.offset or 0
        end = start + query.limit if query.limit is not None else None
        return rows[start:end]

    def resolve(self, sobject: ObjectDef, path: FieldPath) -> _Resolved:
        parts = path.parts
        if len(parts) == 1:
            found = sobject.field(parts[0])
            if found is None:
                raise _no_column(parts[0], sobject.name)
            return _Resolved(path, found, None, None)
        if len(parts) == 2:
            relationship = sobject.parent_field(parts[0])
            if relationship is None:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' "
                    "after the custom relationship name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                )
            target = self.object(relationship.reference_to[0])
            found = target.field(parts[1])
            if found is None:
                raise _no_column(parts[1], target.name)
            return _Resolved(path, found, relationship, target)
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            f"{path}: relationship paths of more than one level are not answered here",
        )

    def value(self, row: Record, resolved: _Resolved) -> Any:
        if resolved.relationship is None:
            return row.get(resolved.field.name)
        parent_id = row.get(resolved.relationship.name)
        parent = self.lookup(str(parent_id)) if parent_id else None
        return None if parent is None else parent.get(resolved.field.name)

    def render(self, sobject: ObjectDef, row: Record, selected: list[_Resolved]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self._attributes(sobject.name, str(row["Id"]))}
        for resolved in selected:
            if resolved.relationship is None:
                out[resolved.field.name] = row.get(resolved.field.name)
                continue
            assert resolved.relationship.relationship_name is not None
            assert resolved.target is not None
            name = resolved.relationship.relationship_name
            parent_id = row.get(resolved.relationship.name)
            parent = self.lookup(str(parent_id)) if parent_id else None
            if parent is None:
                out[name] = None
                continue
            nested = out.get(name) or {
                "attributes": self._attributes(resolved.target.name, str(parent["Id"]))
            }
            nested[resolved.field.name] = parent.get(resolved.field.name)
            out[name] = nested
        return out

    def _attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        return {"type": sobject, "url": self.url(sobject, record_id)}

    def _predicate(self, sobject: ObjectDef, condition: Condition) -> Callable[[Record], bool]:
        if isinstance(condition, Junction):
            parts = [self._predicate(sobject, item) for item in condition.items]
            if condition.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        if isinstance(condition, Negation):
            inner = self._predicate(sobject, condition.item)
            return lambda row: not inner(row)
        return self._comparison(sobject, condition)

    def _comparison(self, sobject: ObjectDef, comparison: Comparison) -> Callable[[Record], bool]:
        resolved = self.resolve(sobject, comparison.field)
        definition = resolved.field
        op = comparison.op
        values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
        if isinstance(comparison.value, DateLiteral):
            return self._date_range(resolved, op, comparison.value)
        literals = [_literal(definition, v, op) for v in values]
        if op == "LIKE":
            pattern = _like(str(comparison.value))
            return lambda row: (
                (value := self.value(row, resolved)) is not None
                and pattern.fullmatch(str(value)) is not None
            )
        if op in {"IN", "NOT IN"}:
            wanted = set(literals)

            def member(row: Record) -> bool:
                value = _comparable(definition, self.value(row, resolved))
                return (value in wanted) == (op == "IN")

            return member
        literal = literals[0]

        def compare(row: Record) -> bool:
            value = _comparable(definition, self.value(row, resolved))
            if op == "=":
                return bool(value == literal)
            if op == "!=":
                return bool(value != literal)
            if value is None or literal is None:
                return False
            if op == "<":
                return bool(value < literal)
            if op == "<=":
                return bool(value <= literal)
            if op == ">":
                return bool(value > literal)
            return bool(value >= literal)

        return compare

    def _date_range(
        self, resolved: _Resolved, op: str, literal: DateLiteral
    ) -> Callable[[Record], bool]:
        """``=`` within the range, ``<``/``>`` before/after it, ``<=``/``>=`` up to its
        end/from its start."""
        definition = resolved.field
        if definition.type not in {"date", "datetime"} or op not in {
            "=",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
        }:
            raise _criterion_error(definition, definition.type, quoted=False)
        first, after = literal.days(datetime.now(UTC).date())
        start: Any = first
        end: Any = after
        if definition.type == "datetime":
            start = datetime.combine(first, time(), UTC)
            end = datetime.combine(after, time(), UTC)

        def compare(row: Record) -> bool:
            value = _comparable(definition, self.value(row, resolved))
            if value is None:
                return op == "!="
            outcomes: dict[str, bool] = {
                "=": bool(start <= value < end),
                "!=": not bool(start <= value < end),
                "<": bool(value < start),
                "<=": bool(value < end),
                ">": bool(value >= end),
                ">=": bool(value >= start),
            }
            return outcomes[op]

        return compare


def _no_column(name: str, sobject: str) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference "
        "your WSDL or the describe call for the appropriate names.",
    )


def _criterion_error(definition: FieldDef, kind: str, quoted: bool) -> SalesforceError:
    quoting = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SalesforceError(
        400,
        "INVALID_FIELD",
        f"value of filter criterion for field '{definition.name}' must be of type {kind} and "
        f"{quoting}",
    )


def _literal(definition: FieldDef, value: Scalar, op: str) -> Any:
    """The filter value in the form :func:`_comparable` gives the field's values, or the
    platform's error for a value of the wrong type."""
    kind = definition.type
    if value is None:
        return None
    if isinstance(value, DateLiteral):
        raise _criterion_error(definition, kind, quoted=False)
    if op == "LIKE" and kind not in TEXT_TYPES | {"id", "reference"}:
        raise SalesforceError(
            400,
            "INVALID_QUERY_FILTER_OPERATOR",
            f"invalid operator on {kind} field: {definition.name}",
        )
    if kind == "datetime":
        if not isinstance(value, datetime):
            raise _criterion_error(definition, "dateTime", quoted=False)
        return value
    if kind == "date":
        if not isinstance(value, date) or isinstance(value, datetime):
            raise _criterion_error(definition, "date", quoted=False)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _criterion_error(definition, "boolean", quoted=False)
        return value
    if kind in NUMERIC_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _criterion_error(definition, "double", quoted=False)
        return float(value)
    if not isinstance(value, str):
        raise _criterion_error(definition, "string", quoted=True)
    if kind in {"id", "reference"}:
        normalized = normalize_id(value)
        if normalized is None:
            if op in {"=", "!=", "IN", "NOT IN"}:
                raise SalesforceError(
                    400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}"
                )
            return value
        return normalized
    return value.lower()


def _comparable(definition: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    kind = definition.type
    if kind == "datetime":
        return parse_datetime(str(value))
    if kind == "date":
        return parse_date(str(value))
    if kind in NUMERIC_TYPES:
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind in {"id", "reference"}:
        return str(value)
    return str(value).lower()


def _like(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; no case."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
