"""What every connector is made of: sources and sinks, the shared HTTP client, error
classification, cursors in Kafka and acknowledged publishing."""

from connectors.base.cursors import CursorStore
from connectors.base.errors import (
    HTTP_RESOLUTIONS,
    ConnectorError,
    ErrorKind,
    ErrorResolution,
    resolve_http_status,
)
from connectors.base.http import HttpClient, HttpResponse
from connectors.base.publish import Publisher, change_key
from connectors.base.retry import RateLimiter, RetryPolicy, parse_retry_after
from connectors.base.sink import Sink, SinkRunner, entity_of, failed_result
from connectors.base.source import Batch, SourceRunner, Stream

__all__ = [
    "HTTP_RESOLUTIONS",
    "Batch",
    "ConnectorError",
    "CursorStore",
    "ErrorKind",
    "ErrorResolution",
    "HttpClient",
    "HttpResponse",
    "Publisher",
    "RateLimiter",
    "RetryPolicy",
    "Sink",
    "SinkRunner",
    "SourceRunner",
    "Stream",
    "change_key",
    "entity_of",
    "failed_result",
    "parse_retry_after",
    "resolve_http_status",
]
