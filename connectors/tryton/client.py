"""An async JSON-RPC client for Tryton (``POST /<database>/rpc/``).

One login per client: ``common.db.login`` gives ``[uid, token]``, sent afterwards as
``Authorization: Session base64(user:uid:token)`` (about 10 ms a call, where Basic auth
costs a password hash per call). A session Tryton no longer knows (HTTP 401: expired,
logged out, database restored) is replaced by a fresh login and the call is sent again;
Tryton answers 401 before it runs anything, so the repeat cannot apply a write twice.

The user's preferences (company, employee, language) are fetched at login and sent as the
context of every model call, as Tryton's own client does; records such as sales take
their company from it.

The HTTP exchange goes through the shared :class:`connectors.base.HttpClient` (timeouts,
backoff with jitter, Retry-After, rate limit). Reads are retried there; a call that may
change data is sent once, because a timeout does not say whether Tryton committed it: the
sink retries the whole command, which looks the record up by natural key first.
Failures raise the :class:`~connectors.base.errors.ConnectorError` subclasses of
:mod:`connectors.tryton.errors`, each with its kind (retriable / skippable / fatal).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from opentelemetry import trace
from pydantic import SecretStr

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.http import HttpClient
from connectors.base.retry import RateLimiter, RetryPolicy
from connectors.tryton import codec, errors
from connectors.tryton.errors import SYSTEM, TRYTON_RESOLUTIONS, TrytonError
from connectors.tryton.settings import TrytonSettings

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("connectors.tryton")

Domain = Sequence[Any]
Order = Sequence[tuple[str, str]]
Values = Mapping[str, Any]


@dataclass(frozen=True)
class WizardStep:
    """Fill the form of view state ``view`` with ``values`` and press ``button`` (the name
    of the state the button leads to)."""

    view: str
    button: str
    values: Values = field(default_factory=dict)


_ONCE = RetryPolicy(max_attempts=1)
_READ_METHODS = frozenset(
    {"search", "search_count", "read", "search_read", "fields_get", "get_preferences"}
)


def _is_read(method: str) -> bool:
    """True for calls that change nothing, so resending them is always safe."""
    if method in ("common.db.login", "common.db.logout", "common.version"):
        return True
    return method.startswith("model.") and method.rsplit(".", 1)[1] in _READ_METHODS


class TrytonClient:
    """Calls one Tryton database as one user; use as ``async with TrytonClient(s) as c``."""

    def __init__(self, settings: TrytonSettings, *, limiter: RateLimiter | None = None) -> None:
        self._settings = settings
        self._reads = RetryPolicy(max_attempts=settings.max_attempts)
        self._http = HttpClient(
            system=SYSTEM,
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout,
            retry=self._reads,
            limiter=limiter
            or (
                RateLimiter(settings.rate, burst=max(1, int(settings.rate)))
                if settings.rate
                else None
            ),
            resolutions=TRYTON_RESOLUTIONS,
            default_headers={"Content-Type": "application/json", "Accept": "application/json"},
            secrets=(settings.password.get_secret_value(),),
        )
        self._session: SecretStr | None = None
        self._uid: int | None = None
        self._context: dict[str, Any] = {}
        self._login_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self.logins = 0
        self.calls: Counter[str] = Counter()
        """JSON-RPC calls sent, by method (``model.sale.sale.create``): round trips."""

    def __repr__(self) -> str:
        return f"TrytonClient({self._settings.rpc_url!r}, user={self._settings.user!r})"

    async def __aenter__(self) -> Self:
        await self.login()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def uid(self) -> int | None:
        """The logged-in user's id (None before the first login)."""
        return self._uid

    @property
    def context(self) -> Mapping[str, Any]:
        """The user's context sent with every model call."""
        return self._context

    async def close(self) -> None:
        await self._http.close()

    # -- sessions ---------------------------------------------------------------------

    async def login(self) -> None:
        """Open a session and load the user's context."""
        user = self._settings.user
        params = [user, {"password": self._settings.password}, self._settings.language]
        result = await self._post("common.db.login", params, None)
        if not isinstance(result, list) or len(result) < 2:
            raise errors.TrytonProtocolError(
                "unexpected login answer", kind=ErrorKind.FATAL, method="common.db.login"
            )
        uid, token = int(result[0]), str(result[1])
        session = SecretStr(base64.b64encode(f"{user}:{uid}:{token}".encode()).decode())
        context = await self._post("model.res.user.get_preferences", [True, {}], session)
        self._session, self._uid = session, uid
        self._context = dict(context) if isinstance(context, dict) else {}
        self.logins += 1

    async def connect(self) -> None:
        """Log in unless a session is open (the user's context is loaded then)."""
        await self._ensure_session()

    async def logout(self) -> None:
        """End the session on the server (the next call logs in again)."""
        session, self._session = self._session, None
        if session is not None:
            await self._post("common.db.logout", [], session)

    async def _ensure_session(self) -> SecretStr:
        if self._session is None:
            async with self._login_lock:
                if self._session is None:
                    await self.login()
        assert self._session is not None
        return self._session

    async def _relogin(self, stale: SecretStr) -> SecretStr:
        async with self._login_lock:
            if self._session is stale:  # not already replaced by a concurrent call
                log.info("tryton session no longer valid; logging in again")
                self._session = None
                await self.login()
        assert self._session is not None
        return self._session

    # -- transport --------------------------------------------------------------------

    async def rpc(self, method: str, params: Sequence[Any]) -> Any:
        """Call ``method`` (e.g. ``model.party.party.search``) with ``params`` as they are."""
        session = await self._ensure_session()
        try:
            return await self._post(method, params, session)
        except errors.TrytonAuthError as exc:
            if exc.status != 401:
                raise
        session = await self._relogin(session)
        return await self._post(method, params, session)

    async def _post(self, method: str, params: Sequence[Any], session: SecretStr | None) -> Any:
        # Secrets travel as SecretStr down to the encoder, so no argument in a traceback
        # shows the password or the session token.
        started = time.monotonic()
        self.calls[method] += 1
        with _tracer.start_as_current_span(
            f"tryton {method}",
            kind=trace.SpanKind.CLIENT,
            attributes={"rpc.system": "jsonrpc", "rpc.method": method},
        ) as span:
            try:
                return await self._exchange(method, params, session)
            except TrytonError as exc:
                span.set_attribute("q2c.error.kind", str(exc.kind))
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
                raise
            finally:
                log.debug("tryton %s took %.1f ms", method, (time.monotonic() - started) * 1000)

    async def _exchange(self, method: str, params: Sequence[Any], session: SecretStr | None) -> Any:
        headers = {}
        if session is not None:
            headers["Authorization"] = f"Session {session.get_secret_value()}"
        body = codec.encode({"id": next(self._ids), "method": method, "params": list(params)})
        retry = self._reads if _is_read(method) else _ONCE
        try:
            reply = await self._http.request(
                "POST", self._settings.rpc_url, data=body, headers=headers, retry=retry
            )
        except ConnectorError as exc:
            raise errors.from_connector_error(method, exc) from exc
        try:
            data = codec.decode(reply.body)
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.TrytonProtocolError(
                "the answer is not Tryton JSON", kind=ErrorKind.FATAL, method=method
            ) from exc
        if not isinstance(data, dict):
            raise errors.TrytonProtocolError(
                "the answer is not a JSON-RPC object", kind=ErrorKind.FATAL, method=method
            )
        if data.get("error") is not None:
            raise errors.from_error_member(method, data["error"])
        return data.get("result")

    # -- models -----------------------------------------------------------------------

    async def call(self, model: str, method: str, *args: Any, context: Values | None = None) -> Any:
        """``model.<model>.<method>(*args)`` with the user's context (plus ``context``)."""
        await self._ensure_session()
        merged = {**self._context, **(context or {})}
        return await self.rpc(f"model.{model}.{method}", [*args, merged])

    async def search(
        self,
        model: str,
        domain: Domain,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Order | None = None,
        context: Values | None = None,
    ) -> list[int]:
        order_arg = [list(item) for item in order] if order else None
        ids = await self.call(model, "search", domain, offset, limit, order_arg, context=context)
        return [int(i) for i in ids]

    async def search_count(
        self, model: str, domain: Domain, *, context: Values | None = None
    ) -> int:
        return int(await self.call(model, "search_count", domain, context=context))

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        *,
        context: Values | None = None,
    ) -> list[dict[str, Any]]:
        rows = await self.call(model, "read", list(ids), list(fields), context=context)
        return list(rows)

    async def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Order | None = None,
        context: Values | None = None,
    ) -> list[dict[str, Any]]:
        order_arg = [list(item) for item in order] if order else None
        rows = await self.call(
            model, "search_read", domain, offset, limit, order_arg, list(fields), context=context
        )
        return list(rows)

    async def create(
        self, model: str, records: Sequence[Values], *, context: Values | None = None
    ) -> list[int]:
        """Create ``records`` in one transaction; their ids, in order."""
        ids = await self.call(model, "create", [dict(r) for r in records], context=context)
        return [int(i) for i in ids]

    async def write(
        self,
        model: str,
        ids: Sequence[int],
        values: Values,
        *,
        context: Values | None = None,
    ) -> None:
        await self.call(model, "write", list(ids), dict(values), context=context)

    async def delete(
        self, model: str, ids: Sequence[int], *, context: Values | None = None
    ) -> None:
        await self.call(model, "delete", list(ids), context=context)

    async def button(
        self, model: str, name: str, ids: Sequence[int], *, context: Values | None = None
    ) -> Any:
        """Press a workflow button, e.g. ``button("sale.sale", "quote", [sale_id])``."""
        return await self.call(model, name, list(ids), context=context)

    async def run_wizard(
        self,
        wizard: str,
        *,
        model: str,
        ids: Sequence[int],
        steps: Sequence[WizardStep],
        context: Values | None = None,
    ) -> list[Any]:
        """Run wizard ``wizard`` on records ``ids`` of ``model`` through ``steps``.

        Each form is sent with its defaults overlaid by the step's values. The wizard
        session is deleted at the end, also after a failure. Returns the actions the
        wizard asked the client to run (often none).
        """
        await self._ensure_session()
        active = {"active_model": model, "active_id": ids[0] if ids else None}
        merged = {**self._context, **(context or {}), **active, "active_ids": list(ids)}
        prefix = f"wizard.{wizard}"
        created = await self.rpc(f"{prefix}.create", [merged])
        session_id, start_state = created[0], created[1]
        actions: list[Any] = []
        try:
            result = await self.rpc(f"{prefix}.execute", [session_id, {}, start_state, merged])
            for step in steps:
                view = (result or {}).get("view") or {}
                if view.get("state") != step.view:
                    raise errors.TrytonProtocolError(
                        f"expected the form {step.view!r}, the wizard shows {view.get('state')!r}",
                        kind=ErrorKind.FATAL,
                        method=f"{prefix}.execute",
                    )
                form = {**(view.get("defaults") or {}), **(view.get("values") or {})}
                form.update(step.values)
                # "field." keys carry display names for a client's widgets, not values.
                form = {key: value for key, value in form.items() if "." not in key}
                data = {step.view: form}
                result = await self.rpc(
                    f"{prefix}.execute", [session_id, data, step.button, merged]
                )
                actions.extend((result or {}).get("actions") or [])
        finally:
            await self.rpc(f"{prefix}.delete", [session_id, merged])
        return actions
