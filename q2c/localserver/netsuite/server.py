"""The HTTP server: SuiteTalk REST web services paths under ``/services/rest/`` on
127.0.0.1, with every request authenticated (TBA or an OAuth 2.0 bearer token), held to the
account's concurrency limit, and the local-only ``/_local/…`` control endpoints (not
NetSuite API) behind the control token."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from . import errors
from .auth import Authenticator, OAuthError
from .credentials import Credentials, ensure_credentials, load_certificate
from .errors import NetSuiteError
from .jobs import Jobs, Outcome
from .records import RecordService
from .store import Store
from .suiteql import MAX_LIMIT, MAX_RESULTS, SuiteQL

_log = logging.getLogger(__name__)
UNEXPECTED = NetSuiteError(
    500, "UNEXPECTED_ERROR", "An unexpected error occurred. Try the request again."
)
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 (a path)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Control:
    """The knobs of the local server the tests and ``q2c dev`` turn."""

    concurrency_limit: int = 5
    """The account-wide limit of requests in progress, across every credential."""
    max_query_rows: int = MAX_RESULTS
    fail_next: int = 0
    fail_status: int = 503
    drop_next_writes: int = 0
    """Writes to apply and then answer by closing the connection (a lost answer)."""
    latency_seconds: float = 0.0
    """Added to every API request (holding its concurrency slot) and to every async job."""
    in_flight: int = 0
    peak_in_flight: int = 0
    refused: int = 0
    """Requests answered 429 CONCURRENCY_LIMIT_EXCEEDED so far."""

    def stats(self) -> dict[str, Any]:
        return {
            "concurrency_limit": self.concurrency_limit,
            "max_query_rows": self.max_query_rows,
            "fail_next": self.fail_next,
            "drop_next_writes": self.drop_next_writes,
            "latency_seconds": self.latency_seconds,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "refused": self.refused,
        }


def _json(outcome: Outcome) -> web.Response:
    if outcome.body is None:
        return web.Response(status=outcome.status, headers=outcome.headers)
    return web.json_response(outcome.body, status=outcome.status, headers=outcome.headers)


def _paging(request: web.Request, default: int = MAX_LIMIT) -> tuple[int, int]:
    def number(name: str, fallback: int) -> int:
        raw = request.query.get(name)
        if raw is None:
            return fallback
        if not raw.isdigit():
            raise errors.invalid_parameter(name, f"Invalid value {raw!r} for the parameter {name}.")
        return int(raw)

    limit = number("limit", default)
    offset = number("offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.invalid_parameter(
            "limit", f"Invalid value {limit} for the parameter limit: use 1 to {MAX_LIMIT}."
        )
    if offset % limit:
        raise errors.invalid_parameter(
            "offset",
            f"Invalid value {offset} for the parameter offset: it must be a multiple of the"
            f" limit ({limit}).",
        )
    return limit, offset


def _collection(
    url: str, items: list[dict[str, Any]], total: int, limit: int, offset: int
) -> dict[str, Any]:
    def page(at: int) -> str:
        return f"{url}?limit={limit}&offset={at}"

    has_more = offset + len(items) < total
    links = []
    if offset > 0:
        links.append({"rel": "previous", "href": page(max(offset - limit, 0))})
        links.append({"rel": "first", "href": page(0)})
    if has_more:
        links.append({"rel": "next", "href": page(offset + limit)})
        links.append({"rel": "last", "href": page(max((total - 1) // limit, 0) * limit)})
    links.append({"rel": "self", "href": page(offset)})
    return {
        "links": links,
        "count": len(items),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }


class NetSuiteServer:
    def __init__(
        self,
        state_dir: Path,
        *,
        concurrency_limit: int = 5,
        max_query_rows: int = MAX_RESULTS,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.control = Control(concurrency_limit=concurrency_limit, max_query_rows=max_query_rows)
        self.credentials = ensure_credentials(self.state_dir, "http://127.0.0.1:0", write=False)
        self.store = Store(self.state_dir, self.credentials.time_zone)
        self.auth = Authenticator(self.credentials, load_certificate(self.state_dir), self.store)
        self.records = RecordService(self.store, lambda: self.credentials.base_url)
        self.suiteql = SuiteQL(self.store, lambda: self.control.max_query_rows)
        self.jobs = Jobs(
            self.store, lambda: self.credentials.base_url, lambda: self.control.latency_seconds
        )
        self.app = self._app()
        self._runner: web.AppRunner | None = None

    # lifecycle --------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Credentials:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self.credentials = ensure_credentials(self.state_dir, f"http://127.0.0.1:{bound}")
        self.auth.credentials = self.credentials
        return self.credentials

    async def stop(self) -> None:
        await self.jobs.drain()
        if self._runner is not None:
            await self._runner.cleanup()
        self.store.close()

    # application ------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=104 * 1024 * 1024)
        record = "/services/rest/record/v1/{type}"
        job = "/services/rest/async/v1/job/{job}"
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_post("/services/rest/query/v1/suiteql", self.query)
        app.router.add_get(record, self.list_records)
        app.router.add_post(record, self.create)
        app.router.add_get(record + "/{key}", self.get_record)
        app.router.add_patch(record + "/{key}", self.update)
        app.router.add_put(record + "/{key}", self.upsert)
        app.router.add_delete(record + "/{key}", self.delete)
        app.router.add_get(record + "/{key}/{sublist}", self.get_sublist)
        app.router.add_post(record + "/{key}/!transform/{target}", self.transform)
        app.router.add_get(job, self.get_job)
        app.router.add_get(job + "/task", self.get_tasks)
        app.router.add_get(job + "/task/{task}", self.get_task)
        app.router.add_get(job + "/task/{task}/result", self.get_result)
        app.router.add_get("/_local", self.local_index)
        app.router.add_get("/_local/stats", self.local_stats)
        app.router.add_post("/_local/faults", self.local_faults)
        app.router.add_post("/_local/concurrency", self.local_concurrency)
        app.router.add_post("/_local/drop-next-write", self.local_drop)
        app.router.add_post("/_local/expire-tokens", self.local_expire)
        app.router.add_post("/_local/latency", self.local_latency)
        app.router.add_post("/_local/max-query-rows", self.local_max_rows)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_local"):
            expected = f"Bearer {self.credentials.control_token}"
            if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
                return web.json_response({"error": "the control token is required"}, status=401)
            return await handler(request)
        if not path.startswith("/services/rest/"):
            return errors.NetSuiteError(
                404, "NONEXISTENT_ID", f"The resource {path} does not exist."
            ).response()
        if path == TOKEN_PATH:
            return await handler(request)
        control = self.control
        try:
            self.auth.verify(
                request.method,
                self.credentials.base_url + request.rel_url.raw_path,
                request.query_string,
                request.headers.get("Authorization"),
            )
        except NetSuiteError as error:
            return error.response()
        if control.in_flight >= control.concurrency_limit:
            control.refused += 1
            return errors.concurrency_exceeded().response()
        control.in_flight += 1
        control.peak_in_flight = max(control.peak_in_flight, control.in_flight)
        try:
            if control.latency_seconds > 0:
                await asyncio.sleep(control.latency_seconds)
            if control.fail_next > 0:
                control.fail_next -= 1
                return NetSuiteError(
                    control.fail_status,
                    "UNEXPECTED_ERROR",
                    "An unexpected error occurred. Try the request again.",
                ).response()
            try:
                response = await handler(request)
            except NetSuiteError as error:
                return error.response()
            except web.HTTPException as exc:
                return NetSuiteError(
                    exc.status,
                    "NONEXISTENT_ID" if exc.status == 404 else "INVALID_REQUEST",
                    f"{exc.reason}: {request.method} {request.path}.",
                ).response()
            except Exception:
                _log.exception("unexpected error on %s %s", request.method, request.path)
                return UNEXPECTED.response()
            if (
                request.method in WRITES
                and control.drop_next_writes > 0
                and response.status < 400
                and request.transport is not None
            ):
                control.drop_next_writes -= 1
                # The write is committed; the client sees the connection end with no answer.
                request.transport.abort()
                raise asyncio.CancelledError
            return response
        finally:
            control.in_flight -= 1

    async def _json_body(self, request: web.Request, *, optional: bool = False) -> Any:
        text = await request.text()
        if not text.strip():
            if optional:
                return None
            raise errors.invalid_content("The request body is empty.")
        try:
            return json.loads(text)
        except ValueError:
            raise errors.invalid_content("The request body is not valid JSON.") from None

    def _location(self, kind: str, record_id: int) -> dict[str, str]:
        return {"Location": self.records.record_url(kind, record_id)}

    async def _write(
        self, request: web.Request, operation: Callable[[], Outcome]
    ) -> web.StreamResponse:
        prefer = request.headers.get("Prefer", "").lower()
        if "respond-async" not in prefer:
            return _json(operation())
        key = request.headers.get("X-NetSuite-Idempotency-Key")
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                raise NetSuiteError(
                    400,
                    "INVALID_HEADER",
                    "The idempotency key must be a UUID.",
                    header="X-NetSuite-Idempotency-Key",
                ) from None
        return _json(self.jobs.submit(key, request.method, request.path_qs, operation))

    # OAuth 2.0 --------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        fields = {key: str(value) for key, value in form.items()}
        try:
            body = self.auth.issue_token(fields, self.credentials.token_url)
        except OAuthError as error:
            return web.json_response(error.body(), status=error.status)
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    # SuiteQL ----------------------------------------------------------------------------

    async def query(self, request: web.Request) -> web.StreamResponse:
        limit, offset = _paging(request)
        body = await self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("q"), str):
            raise errors.invalid_content('The request body must be {"q": "<SuiteQL>"}.', "q")
        items, total = self.suiteql.run(body["q"], limit, offset)
        url = self.credentials.base_url + request.path
        return web.json_response(_collection(url, items, total, limit, offset))

    # records ----------------------------------------------------------------------------

    async def list_records(self, request: web.Request) -> web.StreamResponse:
        limit, offset = _paging(request)
        kind = request.match_info["type"]
        ids, total = self.records.ids(kind, limit, offset)
        items = [
            {"links": [{"rel": "self", "href": self.records.record_url(kind, i)}], "id": str(i)}
            for i in ids
        ]
        url = self.credentials.base_url + request.path
        return web.json_response(_collection(url, items, total, limit, offset))

    async def get_record(self, request: web.Request) -> web.StreamResponse:
        expand = request.query.get("expandSubResources", "false").lower() == "true"
        body = self.records.get(
            request.match_info["type"], request.match_info["key"], expand=expand
        )
        return web.json_response(body)

    async def get_sublist(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return web.json_response(self.records.sublist(info["type"], info["key"], info["sublist"]))

    async def create(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["type"]
        self.records.kind(kind)
        body = await self._json_body(request)

        def operation() -> Outcome:
            return Outcome(204, self._location(kind, self.records.create(kind, body)))

        return await self._write(request, operation)

    def _replace(self, request: web.Request) -> frozenset[str]:
        return frozenset(
            part for part in request.query.get("replace", "").split(",") if part.strip()
        )

    async def update(self, request: web.Request) -> web.StreamResponse:
        kind, key = request.match_info["type"], request.match_info["key"]
        self.records.kind(kind)
        body = await self._json_body(request)
        replace = self._replace(request)

        def operation() -> Outcome:
            return Outcome(
                204, self._location(kind, self.records.update(kind, key, body, replace=replace))
            )

        return await self._write(request, operation)

    async def upsert(self, request: web.Request) -> web.StreamResponse:
        kind, key = request.match_info["type"], request.match_info["key"]
        self.records.kind(kind)
        if not key.startswith("eid:") or len(key) == 4:
            raise NetSuiteError(
                405,
                "INVALID_REQUEST",
                "PUT is supported only with an external ID: /record/v1/{type}/eid:{externalId}.",
            )
        body = await self._json_body(request)
        replace = self._replace(request)

        def operation() -> Outcome:
            record_id = self.records.upsert(kind, key[4:], body, replace=replace)
            return Outcome(204, self._location(kind, record_id))

        return await self._write(request, operation)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        kind, key = request.match_info["type"], request.match_info["key"]
        self.records.kind(kind)

        def operation() -> Outcome:
            self.records.delete(kind, key)
            return Outcome(204)

        return await self._write(request, operation)

    async def transform(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        body = await self._json_body(request, optional=True)

        def operation() -> Outcome:
            new_id = self.records.transform(info["type"], info["key"], info["target"], body)
            return Outcome(204, self._location(info["target"], new_id))

        return await self._write(request, operation)

    # async jobs -------------------------------------------------------------------------

    async def get_job(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.jobs.job(request.match_info["job"]))

    async def get_tasks(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.jobs.tasks(request.match_info["job"]))

    async def get_task(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return web.json_response(self.jobs.task(info["job"], info["task"]))

    async def get_result(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return _json(self.jobs.result(info["job"], info["task"]))

    # control ----------------------------------------------------------------------------

    async def _control_body(self, request: web.Request) -> dict[str, Any]:
        text = await request.text()
        body = json.loads(text) if text.strip() else {}
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object is expected")
        return body

    async def local_index(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "note": "Control endpoints of the local NetSuite server. Not NetSuite API.",
                "endpoints": [
                    "GET /_local/stats",
                    "POST /_local/faults {fail_next, status}",
                    "POST /_local/concurrency {limit}",
                    "POST /_local/drop-next-write {count}",
                    "POST /_local/expire-tokens",
                    "POST /_local/latency {seconds}",
                    "POST /_local/max-query-rows {rows}",
                ],
            }
        )

    async def local_stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.control.stats())

    async def local_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._control_body(request)
        self.control.fail_next = int(body.get("fail_next", 1))
        self.control.fail_status = int(body.get("status", 503))
        return web.json_response(self.control.stats())

    async def local_concurrency(self, request: web.Request) -> web.StreamResponse:
        body = await self._control_body(request)
        self.control.concurrency_limit = int(body["limit"])
        return web.json_response(self.control.stats())

    async def local_drop(self, request: web.Request) -> web.StreamResponse:
        body = await self._control_body(request)
        self.control.drop_next_writes = int(body.get("count", 1))
        return web.json_response(self.control.stats())

    async def local_expire(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"expired": self.auth.expire_tokens()})

    async def local_latency(self, request: web.Request) -> web.StreamResponse:
        body = await self._control_body(request)
        self.control.latency_seconds = float(body.get("seconds", 0))
        return web.json_response(self.control.stats())

    async def local_max_rows(self, request: web.Request) -> web.StreamResponse:
        body = await self._control_body(request)
        self.control.max_query_rows = int(body.get("rows", MAX_RESULTS))
        return web.json_response(self.control.stats())


@dataclass(frozen=True)
class Running:
    """A started server: its credentials (as in ``credentials.json``), store and control."""

    server: NetSuiteServer

    @property
    def credentials(self) -> Credentials:
        return self.server.credentials

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def control(self) -> Control:
        return self.server.control

    @property
    def base_url(self) -> str:
        return self.server.credentials.base_url


@asynccontextmanager
async def running(
    state_dir: Path | str,
    *,
    port: int = 0,
    concurrency_limit: int = 5,
    max_query_rows: int = MAX_RESULTS,
) -> AsyncIterator[Running]:
    """The local NetSuite server on 127.0.0.1 for the duration of the block."""
    server = NetSuiteServer(
        Path(state_dir), concurrency_limit=concurrency_limit, max_query_rows=max_query_rows
    )
    await server.start(port)
    try:
        yield Running(server)
    finally:
        await server.stop()
