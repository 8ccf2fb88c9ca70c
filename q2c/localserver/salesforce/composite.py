"""Composite sObject collections, ``/services/data/vXX.X/composite/sobjects`` (REST API
Developer Guide, "sObject Collections"): create (POST) and update (PATCH) up to 200 records
of any objects in one request, delete (DELETE ``?ids=``), and upsert records of one object by
an external ID (PATCH ``composite/sobjects/{type}/{field}``, API 46.0 and later). The reply
is one result per record, in order: ``{id, success, errors}`` with errors as
``{statusCode, message, fields}``.
With ``allOrNone`` true one failure rolls every record back and the others report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``; otherwise each record stands on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import SalesforceError
from .ids import normalize_id
from .rest import Api, sf_json
from .store import Transaction

MAX_RECORDS = 200

_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


def _error(error: SalesforceError) -> dict[str, Any]:
    return {"statusCode": error.error_code, "message": error.message, "fields": list(error.fields)}


class Collections:
    def __init__(self, api: Api) -> None:
        self.api = api

    def routes(self) -> list[web.RouteDef]:
        path = r"/services/data/{version:v\d+\.\d}/composite/sobjects{slash:/?}"
        upsert = r"/services/data/{version:v\d+\.\d}/composite/sobjects/{sobject}/{field}{slash:/?}"
        return [
            web.post(path, self.create),
            web.patch(path, self.update),
            web.delete(path, self.delete),
            web.patch(upsert, self.upsert),
        ]

    async def _records(self, request: web.Request) -> tuple[bool, list[Any]]:
        body = await self.api.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body needs records")
        records = body["records"]
        if len(records) > MAX_RECORDS:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_RECORDS} records into "
                "this call",
            )
        return bool(body.get("allOrNone", False)), records

    async def create(self, request: web.Request) -> web.Response:
        all_or_none, records = await self._records(request)

        def one(tx: Transaction, record: Any) -> str:
            sobject = self._sobject(record)
            if any(key.lower() == "id" for key in record):
                raise SalesforceError(
                    400, "INVALID_FIELD", "Record ID: cannot specify Id in an insert call", ["Id"]
                )
            return self.api.writer.create(tx, sobject, record)

        return sf_json(self._apply(request, all_or_none, records, one))

    async def update(self, request: web.Request) -> web.Response:
        all_or_none, records = await self._records(request)

        def one(tx: Transaction, record: Any) -> str:
            sobject = self._sobject(record)
            record_id = next((v for k, v in record.items() if k.lower() == "id"), None)
            if not record_id:
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
            body = {k: v for k, v in record.items() if k.lower() != "id"}
            self.api.writer.update(tx, sobject, str(record_id), body)
            return self.api.writer.live_row(sobject, str(record_id)).id

        return sf_json(self._apply(request, all_or_none, records, one))

    async def upsert(self, request: web.Request) -> web.Response:
        """``PATCH …/composite/sobjects/{type}/{field}`` (API 46.0 and later): each record
        carries its external ID value; the results say whether it was ``created``."""
        if float(request.match_info["version"][1:]) < 46.0:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        sobject = self.api.sobject(request.match_info["sobject"])
        definition = self.api.external_id_field(sobject, request.match_info["field"])
        all_or_none, records = await self._records(request)
        created: dict[str, bool] = {}

        def one(tx: Transaction, record: Any) -> str:
            if self._sobject(record).name != sobject.name:
                raise SalesforceError(
                    400, "INVALID_TYPE", f"Records must be of type {sobject.name}"
                )
            value = next(
                (v for k, v in record.items() if k.lower() == definition.name.lower()), None
            )
            if value is None or value == "":
                raise SalesforceError(
                    400,
                    "MISSING_ARGUMENT",
                    f"{definition.name} not specified",
                    [definition.name],
                )
            matches = self.api.writer.find_by(sobject, definition, str(value))
            if len(matches) > 1:
                raise SalesforceError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{definition.name}: more than one record found for external id field: "
                    + ", ".join(m.id for m in matches),
                    [definition.name],
                )
            body = {k: v for k, v in record.items() if k.lower() != definition.name.lower()}
            if matches:
                self.api.writer.update(tx, sobject, matches[0].id, body)
                created[matches[0].id] = False
                return matches[0].id
            record_id = self.api.writer.create(tx, sobject, {**body, definition.name: value})
            created[record_id] = True
            return record_id

        results = self._apply(request, all_or_none, records, one)
        for result in results:
            if result["success"]:
                result["created"] = created[result["id"]]
        return sf_json(results)

    async def delete(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if len(ids) > MAX_RECORDS:
            raise SalesforceError(
                400, "EXCEEDED_ID_LIMIT", f"cannot delete more than {MAX_RECORDS} records"
            )
        all_or_none = request.query.get("allOrNone", "").lower() == "true"

        def one(tx: Transaction, record_id: Any) -> str:
            normalized = normalize_id(str(record_id))
            row = self.api.store.get(normalized) if normalized else None
            if row is None:
                raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
            self.api.writer.delete(tx, self.api.sobject(row.sobject), row.id)
            return row.id

        return sf_json(self._apply(request, all_or_none, ids, one))

    def _sobject(self, record: Any) -> Any:
        if not isinstance(record, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "A record must be an object")
        attributes = record.get("attributes")
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        if not kind:
            raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        return self.api.sobject(str(kind))

    def _apply(
        self,
        request: web.Request,
        all_or_none: bool,
        records: list[Any],
        one: Callable[[Transaction, Any], str],
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        failed = False
        with self.api.store.transaction(self.api.context(request)) as tx:
            for record in records:
                savepoint = tx.savepoint()
                try:
                    record_id = one(tx, record)
                except SalesforceError as error:
                    tx.rollback_to(savepoint)
                    failed = True
                    results.append({"success": False, "errors": [_error(error)]})
                    continue
                results.append({"id": record_id, "success": True, "errors": []})
            if failed and all_or_none:
                tx.rollback_to((0, 0))
                results = [
                    r
                    if not r["success"]
                    else {"id": r["id"], "success": False, "errors": [_ROLLED_BACK]}
                    for r in results
                ]
        return results
