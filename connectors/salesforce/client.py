"""The REST API of one org, on the shared :class:`~connectors.base.HttpClient`.

Every call goes to the ``instance_url`` of the current session with its bearer token; an
answer 401 (``INVALID_SESSION_ID``: the session expired or was revoked) renews the session
once and repeats the call, and a second 401 is FATAL. Every answer's ``Sforce-Limit-Info``
is read (:mod:`connectors.salesforce.limits`). Every call carries ``Sforce-Call-Options:
client=<call_client>``, so the org records q2c's writes as q2c's (change events name it in
``changeOrigin``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors.base import ConnectorError, ErrorResolution, HttpClient, HttpResponse
from connectors.base.retry import RetryPolicy
from connectors.salesforce import errors
from connectors.salesforce.auth import SYSTEM, Authenticator, Session
from connectors.salesforce.limits import LimitTracker
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import format_datetime, soql_literal

Record = dict[str, Any]
COLLECTION_SIZE = 200
"""sObject Collections take up to 200 records a call."""


class SalesforceClient:
    """The org's REST API; create it in a running loop, ``close()`` it."""

    def __init__(self, config: SalesforceSettings, auth: Authenticator | None = None) -> None:
        self.config = config
        self.auth = auth or Authenticator(config)
        self.limits = LimitTracker(SYSTEM)
        self.version = f"v{config.api_version}"
        self._quotes: bool | None = None
        secrets = tuple(
            s.get_secret_value()
            for s in (config.client_secret, config.refresh_token, config.private_key)
            if s is not None
        )
        self.http = HttpClient(
            system=SYSTEM,
            base_url="",
            timeout=config.timeout,
            retry=RetryPolicy(max_attempts=config.max_attempts),
            resolutions=errors.RESOLUTIONS,
            interpret=self._interpret,
            default_headers={"Sforce-Call-Options": f"client={config.call_client}"},
            secrets=secrets,
        )

    def _interpret(self, response: HttpResponse) -> ErrorResolution | None:
        self.limits.observe(response.headers)
        return errors.interpret(response)

    async def close(self) -> None:
        await self.http.close()
        await self.auth.close()

    def data_path(self, path: str) -> str:
        return f"/services/data/{self.version}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """One call to the instance (``path`` from ``/services/...``)."""
        session = await self.auth.session()
        try:
            return await self._call(session, method, path, json, params, headers)
        except ConnectorError as exc:
            if exc.status != 401:
                raise
        # The session expired or was revoked: one new session, one more try.
        session = await self.auth.renew(session)
        return await self._call(session, method, path, json, params, headers)

    async def _call(
        self,
        session: Session,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse:
        auth = {"Authorization": f"Bearer {session.access_token}", **(headers or {})}
        self.http.secrets = (*self.http.secrets[-8:], session.access_token)
        response = await self.http.request(
            method, session.instance_url + path, json=json, params=params, headers=auth
        )
        self.limits.observe(response.headers)
        return response

    # -- reads ----------------------------------------------------------------------------

    async def query_pages(self, soql: str, *, all_rows: bool = False) -> AsyncIterator[Record]:
        """The answer pages of a SOQL query (``queryAll`` with deleted rows), following
        ``nextRecordsUrl``."""
        options = {"Sforce-Query-Options": f"batchSize={self.config.batch_size}"}
        resource = "queryAll" if all_rows else "query"
        reply = await self.request(
            "GET", self.data_path(f"{resource}/"), params={"q": soql}, headers=options
        )
        while True:
            page = reply.json()
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise errors.unexpected("a query answer without records")
            yield page
            following = page.get("nextRecordsUrl")
            if page.get("done", True) or not isinstance(following, str):
                return
            reply = await self.request("GET", following, headers=options)

    async def query(self, soql: str) -> list[Record]:
        """Every record a SOQL query answers (for small answers)."""
        found: list[Record] = []
        async for page in self.query_pages(soql):
            found += page["records"]
        return found

    async def has_quotes(self) -> bool:
        """Whether the org has quotes (asked once). Quote is an sObject only where quotes
        are enabled: elsewhere SOQL on it answers ``INVALID_TYPE`` ("sObject type 'Quote'
        is not supported"), which means no quotes, not a failure."""
        if self._quotes is None:
            try:
                await self.query("SELECT Id FROM Quote LIMIT 1")
            except ConnectorError as exc:
                if "INVALID_TYPE" not in exc.reason:
                    raise
                self._quotes = False
            else:
                self._quotes = True
        return self._quotes

    async def record(self, obj: str, record_id: str) -> Record | None:
        """The record by id; None when it does not exist (404)."""
        try:
            reply = await self.request("GET", self.data_path(f"sobjects/{obj}/{quote(record_id)}"))
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        found = reply.json()
        if not isinstance(found, dict):
            raise errors.unexpected(f"the {obj} record is not an object")
        return found

    async def deleted(self, obj: str, start: dt.datetime, end: dt.datetime) -> Record:
        """``getDeleted``: ``deletedRecords``, ``earliestDateAvailable``,
        ``latestDateCovered`` of ``obj`` between ``start`` and ``end``."""
        params = {"start": format_datetime(start), "end": format_datetime(end)}
        reply = await self.request("GET", self.data_path(f"sobjects/{obj}/deleted/"), params=params)
        answer = reply.json()
        if not isinstance(answer, dict) or not isinstance(answer.get("deletedRecords"), list):
            raise errors.unexpected(f"the deleted {obj} answer has no deletedRecords")
        return answer

    async def describe(self, obj: str, *, tooling: bool = False) -> Record:
        base = "tooling/sobjects" if tooling else "sobjects"
        reply = await self.request("GET", self.data_path(f"{base}/{obj}/describe"))
        answer = reply.json()
        if not isinstance(answer, dict):
            raise errors.unexpected(f"the {obj} description is not an object")
        return answer

    # -- writes ---------------------------------------------------------------------------

    async def create(self, obj: str, fields: Mapping[str, Any]) -> str:
        reply = await self.request("POST", self.data_path(f"sobjects/{obj}/"), json=dict(fields))
        answer = reply.json()
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise errors.unexpected(f"the created {obj} has no id")
        return str(answer["id"])

    async def update(self, obj: str, record_id: str, fields: Mapping[str, Any]) -> None:
        await self.request(
            "PATCH", self.data_path(f"sobjects/{obj}/{quote(record_id)}"), json=dict(fields)
        )

    async def upsert(
        self, obj: str, id_field: str, value: str, fields: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Upsert by external id: the record's id, and whether it was created. Several
        records with that value: 300, SKIPPABLE."""
        path = self.data_path(f"sobjects/{obj}/{id_field}/{quote(value, safe='')}")
        reply = await self.request("PATCH", path, json=dict(fields))
        answer = reply.json()
        if isinstance(answer, dict) and isinstance(answer.get("id"), str):
            return str(answer["id"]), bool(answer.get("created", reply.status == 201))
        # Before API 46.0 an update answered 204 without a body: look the id up.
        where = f"{id_field} = {soql_literal(value)}"
        found = await self.query(" ".join(("SELECT Id FROM", obj, "WHERE", where, "LIMIT 2")))
        if len(found) != 1:
            raise errors.unexpected(f"the upserted {obj} cannot be found by {id_field}")
        return str(found[0]["Id"]), reply.status == 201

    async def update_many(
        self, records: Sequence[Mapping[str, Any]]
    ) -> list[ConnectorError | None]:
        """sObject Collections PATCH with ``allOrNone=false``: each record (``attributes``
        with its type, and ``Id``) succeeds or fails alone; one result per record, in order
        (None: saved)."""
        results: list[ConnectorError | None] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = [dict(r) for r in records[start : start + COLLECTION_SIZE]]
            reply = await self.request(
                "PATCH",
                self.data_path("composite/sobjects"),
                json={"allOrNone": False, "records": chunk},
            )
            answer = reply.json()
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise errors.unexpected("the collection answer does not match the records")
            for record, result in zip(chunk, answer, strict=True):
                ok = isinstance(result, Mapping) and result.get("success") is True
                what = f"{record['attributes']['type']} {record.get('Id', '')}"
                results.append(
                    None
                    if ok
                    else errors.record_error(result if isinstance(result, Mapping) else {}, what)
                )
        return results

    async def create_custom_field(self, full_name: str, metadata: Mapping[str, Any]) -> str:
        """A custom field through the Tooling API (``tooling/sobjects/CustomField``)."""
        reply = await self.request(
            "POST",
            self.data_path("tooling/sobjects/CustomField/"),
            json={"FullName": full_name, "Metadata": dict(metadata)},
        )
        answer = reply.json()
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""
