"""REST web services error bodies (Error Handling in REST Web Services): ``type`` (the
RFC 2616 section of the status), ``title``, ``status`` and ``o:errorDetails``, each detail
with ``detail``, ``o:errorCode`` and, where the error has a place, ``o:errorPath`` (request
body), ``o:errorUrl``/``o:urlPath`` (URL), ``o:errorHeader`` or ``o:errorQueryParam``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

_RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10."
_SECTIONS = {
    400: ("4.1", "Bad Request"),
    401: ("4.2", "Unauthorized"),
    403: ("4.4", "Forbidden"),
    404: ("4.5", "Not Found"),
    405: ("4.6", "Method Not Allowed"),
    409: ("4.10", "Conflict"),
    415: ("4.16", "Unsupported Media Type"),
    429: ("4.30", "Too Many Requests"),
    500: ("5.1", "Internal Server Error"),
    503: ("5.4", "Service Unavailable"),
}

INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI"
    " at Setup > Users/Roles > User Management > View Login Audit Trail."
)
CONCURRENCY_DETAIL = "Concurrent request limit exceeded. Request blocked."


class NetSuiteError(Exception):
    """A failed request: its status and one error detail."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        path: str | None = None,
        query_param: str | None = None,
        header: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title
        self.path = path
        self.query_param = query_param
        self.header = header
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        section, title = _SECTIONS.get(self.status, ("4.1", "Bad Request"))
        item: dict[str, Any] = {"detail": self.detail, "o:errorCode": self.code}
        if self.path is not None:
            item["o:errorPath"] = self.path
        if self.query_param is not None:
            item["o:errorQueryParam"] = self.query_param
        if self.header is not None:
            item["o:errorHeader"] = self.header
        return {
            "type": _RFC2616 + section,
            "title": self.title or title,
            "status": self.status,
            "o:errorDetails": [item],
        }

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def invalid_login() -> NetSuiteError:
    return NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN_DETAIL)


def concurrency_exceeded() -> NetSuiteError:
    return NetSuiteError(429, "CONCURRENCY_LIMIT_EXCEEDED", CONCURRENCY_DETAIL)


def nonexistent(record_type: str, key: str) -> NetSuiteError:
    return NetSuiteError(
        404,
        "NONEXISTENT_ID",
        "The record instance does not exist. Provide a valid record instance ID."
        f" ({record_type} {key})",
    )


def user_error(detail: str, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "USER_ERROR", detail, path=path)


def invalid_reference(field: str, value: str) -> NetSuiteError:
    return NetSuiteError(
        400,
        "INVALID_KEY_OR_REF",
        f"Invalid {field} reference key {value}.",
        path=field,
    )


def field_required(field: str, label: str) -> NetSuiteError:
    return NetSuiteError(
        400,
        "USER_ERROR",
        f"Error while accessing a resource. Please enter value(s) for: {label}.",
        path=field,
    )


def invalid_content(detail: str, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "INVALID_CONTENT", detail, path=path)


def invalid_parameter(param: str, detail: str) -> NetSuiteError:
    return NetSuiteError(400, "INVALID_PARAMETER", detail, query_param=param)
