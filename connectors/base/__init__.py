"""What every connector is made of: sources and sinks, declarative mappers and sink
handlers, the shared HTTP client, error classification, cursors in Kafka and acknowledged
publishing."""

from connectors.base.cursors import CursorStore
from connectors.base.errors import (
    HTTP_RESOLUTIONS,
    ConnectorError,
    ErrorKind,
    ErrorResolution,
    resolve_http_status,
)
from connectors.base.http import HttpClient, HttpResponse
from connectors.base.mapping import Mapper, MappingError, RecordType
from connectors.base.publish import Publisher, change_key
from connectors.base.retry import RateLimiter, RetryPolicy, parse_retry_after
from connectors.base.sink import (
    REQUIRED_COMMANDS,
    Sink,
    SinkRunner,
    entity_of,
    failed_result,
    handles,
)
from connectors.base.source import Batch, SourceRunner, Stream

__all__ = [
    "HTTP_RESOLUTIONS",
    "REQUIRED_COMMANDS",
    "Batch",
    "ConnectorError",
    "CursorStore",
    "ErrorKind",
    "ErrorResolution",
    "HttpClient",
    "HttpResponse",
    "Mapper",
    "MappingError",
    "Publisher",
    "RateLimiter",
    "RecordType",
    "RetryPolicy",
    "Sink",
    "SinkRunner",
    "SourceRunner",
    "Stream",
    "change_key",
    "entity_of",
    "failed_result",
    "handles",
    "parse_retry_after",
    "resolve_http_status",
]
