"""The NetSuite REST web services client: SuiteQL, the record service, async jobs.

Governance: NetSuite allows an account a fixed number of concurrent requests shared by
every integration (SOAP, REST and RESTlets together). q2c takes a configured share of it:
every call holds a slot of one semaphore, and the time spent waiting for a slot is
counted (``q2c_rate_limit_wait_seconds_total{system="netsuite"}``). An answer saying the
account's limit was exceeded (429 ``CONCURRENCY_LIMIT_EXCEEDED``; NetSuite sends no
Retry-After) is retried after a full-jitter backoff (the kit's retry policy), each retry
counted in ``q2c_api_retries_total`` and its wait in the same wait metrics.

Every request carries its own ``Authorization``: a TBA signature over its method and URL,
or the current OAuth 2.0 bearer token. A refused one (401) is made anew once (a new nonce,
a new token) before the refusal counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from tenacity import AsyncRetrying, RetryCallState

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.http import HttpClient, HttpResponse
from connectors.base.retry import RetryPolicy
from connectors.netsuite.auth import ASSERTION_TYPE, TOKEN_PATH, M2MTokens, TbaSigner
from connectors.netsuite.errors import CONCURRENCY_CODES, SYSTEM, error_code, interpret
from connectors.netsuite.settings import NetSuiteSettings
from q2c.core import metrics

log = logging.getLogger(__name__)

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


def id_from_location(location: str | None) -> str | None:
    """The internal id at the end of a ``Location`` header (``…/salesOrder/1234``)."""
    if not location:
        return None
    last = location.rstrip("/").rsplit("/", 1)[-1]
    return last or None


def next_link(page: Mapping[str, Any]) -> str | None:
    """The ``href`` of a SuiteQL page's ``rel=next`` link."""
    for link in page.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


@dataclass(frozen=True)
class GovernedRetry(RetryPolicy):
    """The kit's full-jitter backoff, with each wait after the account's concurrency limit
    refused a call counted as a governance wait (``q2c_rate_limit_waits_total`` and
    ``q2c_rate_limit_wait_seconds_total``, system ``netsuite``)."""

    def retrying(
        self,
        retriable: Callable[[BaseException], bool],
        before_sleep: Callable[[RetryCallState], Awaitable[None] | None] | None = None,
    ) -> AsyncRetrying:
        def counted(state: RetryCallState) -> Awaitable[None] | None:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ConnectorError) and refused_by_the_limit(error):
                metrics.RATE_LIMIT_WAITS.labels(SYSTEM).inc()
                metrics.RATE_LIMIT_WAIT_SECONDS.labels(SYSTEM).inc(state.upcoming_sleep)
            return before_sleep(state) if before_sleep is not None else None

        return super().retrying(retriable, counted)


def refused_by_the_limit(error: ConnectorError) -> bool:
    """A call the account's concurrency limit refused (429 or its error code)."""
    return error.status == 429 or any(code in error.reason for code in CONCURRENCY_CODES)


@dataclass
class NetSuiteClient(HttpClient):
    """REST web services of one account. Create it inside a running event loop."""

    signer: TbaSigner | None = field(default=None, repr=False)
    tokens: M2MTokens | None = field(default=None, repr=False)
    concurrency: int = 4
    job_poll: float = 0.2
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, config: NetSuiteSettings) -> NetSuiteClient:
        signer = tokens = None
        secrets: tuple[str, ...]
        if config.auth == "tba":
            signer = TbaSigner(
                account_id=config.account_id,
                consumer_key=config.consumer_key,
                consumer_secret=config.consumer_secret.get_secret_value(),
                token_id=config.token_id,
                token_secret=config.token_secret.get_secret_value(),
            )
            secrets = (signer.consumer_secret, signer.token_secret)
        else:
            assert config.private_key_file is not None  # the settings checked it
            tokens = M2MTokens(
                client_id=config.client_id,
                certificate_id=config.certificate_id,
                private_key_file=config.private_key_file,
                token_url=config.base_url.rstrip("/") + TOKEN_PATH,
            )
            secrets = ()
        return cls(
            system=SYSTEM,
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout,
            retry=GovernedRetry(max_attempts=config.max_attempts, base_delay=0.25, max_delay=30.0),
            interpret=interpret,
            secrets=secrets,
            signer=signer,
            tokens=tokens,
            concurrency=config.concurrency,
        )

    # -- every call ---------------------------------------------------------------------

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    async def _once(
        self,
        method: str,
        url: str,
        json: Any,
        data: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> HttpResponse | ConnectorError:
        if params:  # signed as part of the URL, so sent as part of it
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        started = time.monotonic()
        async with self.slots:
            waited = time.monotonic() - started
            if waited > 0.001:
                metrics.RATE_LIMIT_WAITS.labels(self.system).inc()
                metrics.RATE_LIMIT_WAIT_SECONDS.labels(self.system).inc(waited)
            try:
                signed = {**headers, "Authorization": await self._authorization(method, url)}
            except ConnectorError as exc:
                return exc
            outcome = await super()._once(method, url, json, data, None, signed)
            if isinstance(outcome, ConnectorError) and outcome.status == 401:
                # Once more with new credentials: an expired bearer token is fetched anew,
                # and a TBA header is signed with a new nonce (aiohttp resends an
                # idempotent request whose connection dropped with the same headers, and
                # NetSuite refuses a nonce it has seen). Refused again, it is fatal.
                if self.tokens is not None:
                    self.tokens.forget()
                try:
                    signed = {**headers, "Authorization": await self._authorization(method, url)}
                except ConnectorError as exc:
                    return exc
                outcome = await super()._once(method, url, json, data, None, signed)
            return outcome

    async def _authorization(self, method: str, url: str) -> str:
        if self.signer is not None:
            return self.signer.authorization(method, url)
        assert self.tokens is not None
        return f"Bearer {await self.tokens.bearer(self._fetch_token)}"

    async def _fetch_token(self, assertion: str) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        try:
            async with self.session.post(self.base_url + TOKEN_PATH, data=form) as reply:
                response = HttpResponse(reply.status, dict(reply.headers), await reply.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ConnectorError(
                ErrorKind.RETRIABLE,
                f"the token request failed: {type(exc).__name__}",
                system=SYSTEM,
            ) from None
        if response.status >= 400:
            raise self.error_of(response)
        body = response.json()
        if not isinstance(body, Mapping) or not body.get("access_token"):
            raise ConnectorError(
                ErrorKind.FATAL, "the token endpoint answered without a token", system=SYSTEM
            )
        return str(body["access_token"]), float(body.get("expires_in") or 3600)

    # -- SuiteQL ------------------------------------------------------------------------

    async def suiteql(self, query: str, *, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        """One page of a SuiteQL query's results."""
        response = await self.request(
            "POST",
            SUITEQL,
            json={"q": query},
            params={"limit": str(limit), "offset": str(offset)},
            headers={"Prefer": "transient"},
        )
        return _page(response)

    async def suiteql_pages(
        self, query: str, *, limit: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of a SuiteQL query, following each page's ``rel=next`` link."""
        page = await self.suiteql(query, limit=limit)
        yield page
        while page.get("hasMore") and (link := next_link(page)):
            response = await self.request(
                "POST", link, json={"q": query}, headers={"Prefer": "transient"}
            )
            page = _page(response)
            yield page

    async def suiteql_rows(self, query: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async for page in self.suiteql_pages(query, limit=limit):
            rows += [dict(item) for item in page.get("items") or () if isinstance(item, Mapping)]
        return rows

    # -- records ------------------------------------------------------------------------

    async def get_record(
        self, record_type: str, key: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        """A record by internal id or ``eid:<external id>``; None when there is none."""
        try:
            response = await self.request(
                "GET", f"{RECORD}/{record_type}/{key}", params=params or None
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        body = response.json()
        return dict(body) if isinstance(body, Mapping) else None

    async def upsert(self, record_type: str, external_id: str, body: Mapping[str, Any]) -> str:
        """Create or update the record with ``external_id`` (``PUT …/eid:{id}``); its
        internal id, from ``Location`` or read back."""
        response = await self.request(
            "PUT", f"{RECORD}/{record_type}/eid:{external_id}", json=dict(body)
        )
        found = id_from_location(response.headers.get("Location"))
        if found is not None:
            return found
        record = await self.get_record(record_type, f"eid:{external_id}")
        if record is None or not record.get("id"):
            raise ConnectorError(
                ErrorKind.RETRIABLE,
                f"the {record_type} upserted as {external_id} cannot be read back",
                system=SYSTEM,
            )
        return str(record["id"])

    async def create(self, record_type: str, body: Mapping[str, Any]) -> str:
        """A new record (``POST``); its internal id from ``Location``."""
        response = await self.request("POST", f"{RECORD}/{record_type}", json=dict(body))
        return self._created(response, record_type)

    async def delete(self, record_type: str, record_id: str) -> bool:
        """Delete a record; False when it was already gone."""
        try:
            await self.request("DELETE", f"{RECORD}/{record_type}/{record_id}")
        except ConnectorError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def update(self, record_type: str, record_id: str, body: Mapping[str, Any]) -> None:
        await self.request("PATCH", f"{RECORD}/{record_type}/{record_id}", json=dict(body))

    async def transform(
        self, source_type: str, source_id: str, target_type: str, body: Mapping[str, Any]
    ) -> str:
        """A record made from another (``!transform``: invoice a sales order, credit an
        invoice); the new record's id."""
        response = await self.request(
            "POST", f"{RECORD}/{source_type}/{source_id}/!transform/{target_type}", json=dict(body)
        )
        return self._created(response, target_type)

    def _created(self, response: HttpResponse, record_type: str) -> str:
        found = id_from_location(response.headers.get("Location"))
        if found is None:
            raise ConnectorError(
                ErrorKind.RETRIABLE,
                f"NetSuite created a {record_type} without saying where (no Location)",
                system=SYSTEM,
            )
        return found

    def error_of(self, response: HttpResponse) -> ConnectorError:
        error = super().error_of(response)
        if error_code(response.json() if _is_json(response) else None) == "IDEMPOTENCY_ERROR":
            return RepeatedKey(error, response.headers.get("Location"))
        return error

    # -- asynchronous writes ------------------------------------------------------------

    async def create_async(
        self, record_type: str, body: Mapping[str, Any], idempotency_key: str
    ) -> str:
        """A new record through the async service: a repeated ``idempotency_key`` finds the
        job the first request started, so a retried write creates nothing twice."""
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key))
        headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
        try:
            response = await self.request(
                "POST", f"{RECORD}/{record_type}", json=dict(body), headers=headers
            )
            job = response.headers.get("Location")
        except RepeatedKey as exc:
            job = exc.location  # the job the first request with this key started
            if job is None:
                raise ConnectorError(
                    ErrorKind.SKIPPABLE,
                    f"the idempotency key was used before: {exc.reason}",
                    system=SYSTEM,
                ) from None
        if not job:
            raise ConnectorError(
                ErrorKind.RETRIABLE, "NetSuite accepted a job without a Location", system=SYSTEM
            )
        return await self._job_result(job, record_type)

    async def _job_result(self, job: str, record_type: str) -> str:
        while True:
            status = (await self.request("GET", job)).json() or {}
            if status.get("completed"):
                break
            await asyncio.sleep(self.job_poll)
        tasks = (await self.request("GET", job.rstrip("/") + "/task")).json() or {}
        items = [t for t in tasks.get("items") or () if isinstance(t, Mapping)]
        if not items:
            raise ConnectorError(
                ErrorKind.RETRIABLE, "the finished job lists no task", system=SYSTEM
            )
        task_url = _self_link(items[0]) or f"{job.rstrip('/')}/task/{items[0].get('id')}"
        try:
            result = await self.request("GET", task_url.rstrip("/") + "/result")
        except ConnectorError:
            raise
        found = id_from_location(result.headers.get("Location"))
        if found is None:
            payload = result.json()
            link = _self_link(payload) if isinstance(payload, Mapping) else None
            if isinstance(payload, Mapping) and payload.get("id"):
                found = str(payload["id"])
            elif link and f"/{record_type}/".lower() in link.lower():
                found = id_from_location(link)
        if found is None:
            raise ConnectorError(
                ErrorKind.RETRIABLE, f"the job's result names no {record_type}", system=SYSTEM
            )
        return found


class RepeatedKey(ConnectorError):
    """An async request whose idempotency key NetSuite has seen (``IDEMPOTENCY_ERROR``);
    ``location`` is the job the first one started."""

    def __init__(self, error: ConnectorError, location: str | None) -> None:
        super().__init__(
            ErrorKind.SKIPPABLE,
            error.reason,
            system=SYSTEM,
            status=error.status,
            detail=error.detail,
        )
        self.location = location


def _page(response: HttpResponse) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
        raise ConnectorError(ErrorKind.RETRIABLE, "a SuiteQL answer without items", system=SYSTEM)
    return dict(body)


def _self_link(value: Mapping[str, Any]) -> str | None:
    for link in value.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "self" and link.get("href"):
            return str(link["href"])
    return None


def _is_json(response: HttpResponse) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True
