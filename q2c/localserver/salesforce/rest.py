"""The instance's REST API under ``/services/data/vXX.X/`` (REST API Developer Guide):
query and queryAll with query locators, sObject rows, upsert by external ID, describe,
limits; composite sObject collections, getDeleted/getUpdated and the Tooling API's custom
fields live in ``composite.py``, ``replication.py`` and ``tooling.py``.

Every API response carries ``Sforce-Limit-Info: api-usage=N/M``; a request without a live
session gets 401 ``INVALID_SESSION_ID``; once the daily allowance is spent, 403
``REQUEST_LIMIT_EXCEEDED``. Errors are the documented JSON array of
``{message, errorCode, fields}``."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from .control import ApiUsage, Control
from .dml import Writer
from .errors import SalesforceError, not_found
from .ids import make_id, normalize_id
from .oauth import Session, Sessions
from .query import Engine, Record, parse_soql
from .schema import ObjectDef
from .settings import ServerSettings
from .store import Store, WriteContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY = web.RequestKey("session", Session)
_VERSION = r"{version:v\d+\.\d}"
_log = logging.getLogger(__name__)
MAX_OFFSET = 2000
_CLIENT = re.compile(r"(?:^|,)\s*client\s*=\s*([^,\s]+)")


def sf_json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", charset="UTF-8"
    )


def error_response(error: SalesforceError) -> web.Response:
    return sf_json(error.body(), error.status)


@dataclass
class _Locator:
    records: list[dict[str, Any]]
    batch: int
    all_rows: bool
    expires: datetime


@dataclass
class Api:
    store: Store
    writer: Writer
    sessions: Sessions
    usage: ApiUsage
    control: Control
    settings: ServerSettings
    _locators: dict[str, _Locator] = field(default_factory=dict)
    _locator_count: int = 0

    # Middleware and request context.

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/services/data/v"):
            return await handler(request)
        response = await self._guarded(request, handler)
        response.headers["Sforce-Limit-Info"] = self.usage.header()
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            self.version(request)
            session = self._session(request)
            if session is None:
                return error_response(
                    SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
                )
            if not self.usage.spend():
                return error_response(
                    SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                )
            request[SESSION_KEY] = session
            await self.control.before_request()
            return await handler(request)
        except web.HTTPMethodNotAllowed as error:
            allowed = ",".join(sorted(error.allowed_methods))
            return error_response(
                SalesforceError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
                )
            )
        except web.HTTPNotFound:
            return error_response(not_found())
        except SalesforceError as error:
            return error_response(error)
        except orjson.JSONDecodeError as error:
            return error_response(
                SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character: {error}")
            )
        except Exception:
            # A defect of this server: answered as the platform answers its own, and logged.
            _log.exception("Unexpected error answering %s %s", request.method, request.path)
            return error_response(
                SalesforceError(
                    500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the local server."
                )
            )

    def version(self, request: web.Request) -> str:
        match = re.match(r"/services/data/v(\d+\.\d)(?:/|$)", request.path)
        if match is None:
            raise not_found()
        version = match.group(1)
        if not 20.0 <= float(version) <= float(self.settings.api_version):
            raise not_found()
        return version

    def _session(self, request: web.Request) -> Session | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in {"bearer", "oauth"} or not token:
            return None
        return self.sessions.check(token.strip())

    def context(self, request: web.Request) -> WriteContext:
        version = self.version(request)
        options = request.headers.get("Sforce-Call-Options", "")
        match = _CLIENT.search(options)
        origin = f"com/salesforce/api/rest/{version};client={match.group(1)}" if match else ""
        return WriteContext(request[SESSION_KEY].user_id, origin)

    def sobject(self, name: str) -> ObjectDef:
        found = self.store.object(name)
        if found is None:
            raise SalesforceError(
                404, "NOT_FOUND", f"The requested resource does not exist: {name}"
            )
        return found

    def url(self, version: str, sobject: str, record_id: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"

    async def body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body is empty")
        return orjson.loads(raw)

    def routes(self) -> list[web.RouteDef]:
        base = f"/services/data/{_VERSION}"
        slash = "{slash:/?}"
        sobject = f"{base}/sobjects/{{sobject}}"
        return [
            web.get("/services/data", self.versions),
            web.get("/services/data/", self.versions),
            web.get(f"{base}{slash}", self.resources),
            web.get(f"{base}/limits{slash}", self.limits),
            web.get(f"{base}/query{slash}", self.query),
            web.get(f"{base}/queryAll{slash}", self.query_all),
            web.get(f"{base}/query/{{locator}}", self.next_page),
            web.get(f"{base}/queryAll/{{locator}}", self.next_page),
            web.get(f"{base}/sobjects{slash}", self.describe_global),
            web.get(f"{sobject}/describe{slash}", self.describe),
            web.get(f"{sobject}{slash}", self.object_info),
            web.post(f"{sobject}{slash}", self.create),
            web.get(f"{sobject}/{{record_id}}", self.read),
            web.patch(f"{sobject}/{{record_id}}", self.update),
            web.delete(f"{sobject}/{{record_id}}", self.delete),
            web.get(f"{sobject}/{{field}}/{{value}}", self.read_by_external_id),
            web.patch(f"{sobject}/{{field}}/{{value}}", self.upsert),
            web.post(f"{sobject}/{{id_field:[Ii][Dd]}}", self.create_by_id_field),
        ]

    # Discovery.

    async def versions(self, request: web.Request) -> web.Response:
        del request
        newest = float(self.settings.api_version)
        versions = [f"{v:.1f}" for v in range(int(newest) - 3, int(newest) + 1)]
        return sf_json(
            [{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v} for v in versions]
        )

    async def resources(self, request: web.Request) -> web.Response:
        base = f"/services/data/v{self.version(request)}"
        names = ["sobjects", "query", "queryAll", "limits", "composite", "tooling"]
        return sf_json({name: f"{base}/{name}" for name in names})

    async def limits(self, request: web.Request) -> web.Response:
        del request
        return sf_json(
            {
                "DailyApiRequests": {
                    "Max": self.usage.allowance,
                    "Remaining": self.usage.remaining,
                },
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            }
        )

    async def describe_global(self, request: web.Request) -> web.Response:
        version = self.version(request)
        return sf_json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    {
                        key: value
                        for key, value in o.describe(version).items()
                        if key not in {"fields", "childRelationships"}
                    }
                    for o in self.store.objects.values()
                ],
            }
        )

    async def describe(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        return sf_json(sobject.describe(self.version(request)))

    async def object_info(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        description = sobject.describe(self.version(request))
        summary = {
            k: v for k, v in description.items() if k not in {"fields", "childRelationships"}
        }
        return sf_json({"objectDescribe": summary, "recentItems": []})

    # Query.

    def engine(self, version: str, include_deleted: bool) -> Engine:
        def lookup(record_id: str) -> Record | None:
            row = self.store.get(record_id)
            if row is None or (row.deleted_at is not None and not include_deleted):
                return None
            return row.values

        return Engine(self.store.object, lookup, lambda s, i: self.url(version, s, i))

    def visible(self, sobject: str, include_deleted: bool) -> Iterable[Record]:
        horizon = datetime.now(UTC) - self.control.deleted_retention
        for row in self.store.all_rows(sobject, include_deleted):
            if row.deleted_at is None or row.deleted_at >= horizon:
                yield row.values

    def run_query(
        self, version: str, soql: str, include_deleted: bool
    ) -> tuple[list[dict[str, Any]], int]:
        """The query's records (none for ``COUNT()``) and how many match."""
        query = parse_soql(soql)
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SalesforceError(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            )
        engine = self.engine(version, include_deleted)
        sobject = engine.object(query.sobject)
        rows = self.visible(sobject.name, include_deleted)
        if query.count:
            return [], engine.count(query, sobject, rows)
        by_parent: dict[tuple[str, str], dict[str, list[Record]]] = {}

        def children(child: str, field_name: str, parent_id: str) -> Iterable[Record]:
            if (child, field_name) not in by_parent:
                index: dict[str, list[Record]] = {}
                for record in self.visible(child, False):
                    index.setdefault(str(record.get(field_name)), []).append(record)
                by_parent[child, field_name] = index
            return by_parent[child, field_name].get(parent_id, [])

        records = engine.run(query, sobject, rows, children)
        return records, len(records)

    async def query(self, request: web.Request) -> web.Response:
        return self._first_page(request, include_deleted=False)

    async def query_all(self, request: web.Request) -> web.Response:
        return self._first_page(request, include_deleted=True)

    def _first_page(self, request: web.Request, *, include_deleted: bool) -> web.Response:
        version = self.version(request)
        soql = request.query.get("q")
        if not soql:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        records, total = self.run_query(version, soql, include_deleted)
        if not records:
            return sf_json({"totalSize": total, "done": True, "records": []})
        return sf_json(self._page(request, records, 0, self._batch_size(request), include_deleted))

    def _batch_size(self, request: web.Request) -> int:
        options = request.headers.get("Sforce-Query-Options", "")
        match = re.search(r"batchSize\s*=\s*(\d+)", options)
        if match is None:
            return 2000
        return min(max(int(match.group(1)), 200), 2000)

    def _page(
        self,
        request: web.Request,
        records: list[dict[str, Any]],
        start: int,
        batch: int,
        include_deleted: bool,
        locator: str | None = None,
    ) -> dict[str, Any]:
        end = start + batch
        page: dict[str, Any] = {
            "totalSize": len(records),
            "done": end >= len(records),
            "records": records[start:end],
        }
        if end < len(records):
            if locator is None:
                self._prune_locators()
                self._locator_count += 1
                locator = make_id("01g", self._locator_count)
                self._locators[locator] = _Locator(
                    records,
                    batch,
                    include_deleted,
                    datetime.now(UTC) + self.settings.query_locator_lifetime,
                )
            resource = "queryAll" if include_deleted else "query"
            page["nextRecordsUrl"] = (
                f"/services/data/v{self.version(request)}/{resource}/{locator}-{end}"
            )
        return page

    def _prune_locators(self) -> None:
        """Forgets query locators unused for their lifetime (15 minutes on the platform)."""
        now = datetime.now(UTC)
        for key in [k for k, v in self._locators.items() if v.expires <= now]:
            del self._locators[key]

    async def next_page(self, request: web.Request) -> web.Response:
        locator, _, offset = request.match_info["locator"].partition("-")
        now = datetime.now(UTC)
        self._prune_locators()
        found = self._locators.get(locator)
        if found is None or not offset.isdigit():
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        found.expires = now + self.settings.query_locator_lifetime
        return sf_json(
            self._page(request, found.records, int(offset), found.batch, found.all_rows, locator)
        )

    # Rows.

    def render(self, version: str, sobject: ObjectDef, values: Record, names: list[str]) -> Any:
        out: dict[str, Any] = {
            "attributes": {
                "type": sobject.name,
                "url": self.url(version, sobject.name, values["Id"]),
            }
        }
        for name in names:
            out[name] = values.get(name)
        return out

    def _fields_param(self, request: web.Request, sobject: ObjectDef) -> list[str]:
        wanted = request.query.get("fields")
        if not wanted:
            return list(sobject.fields)
        names = []
        for name in wanted.split(","):
            definition = sobject.field(name.strip())
            if definition is None:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name.strip()}' on sobject of type {sobject.name}",
                )
            names.append(definition.name)
        return names

    async def read(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        record_id = request.match_info["record_id"]
        normalized = normalize_id(record_id)
        if normalized is None:
            raise SalesforceError(
                400, "MALFORMED_ID", f"{sobject.name} ID: id value of incorrect type: {record_id}"
            )
        row = self.store.get(normalized)
        if row is None or row.sobject != sobject.name or row.deleted_at is not None:
            raise not_found()
        names = self._fields_param(request, sobject)
        return sf_json(self.render(self.version(request), sobject, row.values, names))

    async def create(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        body = await self.body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be an object")
        if any(key.lower() == "id" for key in body):
            raise SalesforceError(
                400, "INVALID_FIELD", "Record ID: cannot specify Id in an insert call", ["Id"]
            )
        with self.store.transaction(self.context(request)) as tx:
            record_id = self.writer.create(tx, sobject, body)
        return sf_json({"id": record_id, "success": True, "errors": []}, 201)

    async def create_by_id_field(self, request: web.Request) -> web.Response:
        """``POST …/sobjects/{type}/Id`` (API 37.0 and later): an upsert by ``Id`` whose value
        is null, that is a create, for clients that upsert through one resource."""
        if float(self.version(request)) < 37.0:
            raise not_found()
        return await self.create(request)

    async def update(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        body = await self.body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be an object")
        with self.store.transaction(self.context(request)) as tx:
            self.writer.update(tx, sobject, request.match_info["record_id"], body)
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        sobject = self.sobject(request.match_info["sobject"])
        with self.store.transaction(self.context(request)) as tx:
            self.writer.delete(tx, sobject, request.match_info["record_id"])
        return web.Response(status=204)

    def external_id_field(self, sobject: ObjectDef, name: str) -> Any:
        definition = sobject.field(name)
        if definition is None or not (
            definition.external_id or definition.id_lookup or definition.name == "Id"
        ):
            raise not_found()
        return definition

    def _matches_response(self, version: str, sobject: ObjectDef, ids: list[str]) -> web.Response:
        return sf_json([self.url(version, sobject.name, record_id) for record_id in ids], 300)

    async def read_by_external_id(self, request: web.Request) -> web.Response:
        version = self.version(request)
        sobject = self.sobject(request.match_info["sobject"])
        definition = self.external_id_field(sobject, request.match_info["field"])
        rows = self.writer.find_by(sobject, definition, request.match_info["value"])
        if not rows:
            raise not_found()
        if len(rows) > 1:
            return self._matches_response(version, sobject, [r.id for r in rows])
        names = self._fields_param(request, sobject)
        return sf_json(self.render(version, sobject, rows[0].values, names))

    async def upsert(self, request: web.Request) -> web.Response:
        """``PATCH …/sobjects/{type}/{field}/{value}``: none → create (201), one → update
        (200 with ``created: false`` from API 46.0, 204 before), several → 300 listing them."""
        version = self.version(request)
        sobject = self.sobject(request.match_info["sobject"])
        definition = self.external_id_field(sobject, request.match_info["field"])
        value = request.match_info["value"]
        body = await self.body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be an object")
        for key in body:
            if key.lower() in {"id", definition.name.lower()}:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"Do not specify Id or the external ID field {definition.name} in the "
                    "request body of an upsert",
                    [key],
                )
        update_only = request.query.get("updateOnly", "").lower() == "true"
        rows = self.writer.find_by(sobject, definition, value)
        if len(rows) > 1:
            return self._matches_response(version, sobject, [r.id for r in rows])
        with_created = float(version) >= 46.0
        with self.store.transaction(self.context(request)) as tx:
            if rows:
                self.writer.update(tx, sobject, rows[0].id, body)
                record_id, created = rows[0].id, False
            elif update_only or definition.name == "Id":
                raise not_found()
            else:
                record_id = self.writer.create(tx, sobject, {**body, definition.name: value})
                created = True
        if not created and not with_created:
            return web.Response(status=204)
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if with_created:
            result["created"] = created
        return sf_json(result, 201 if created else 200)
