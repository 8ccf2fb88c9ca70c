"""Change-tracking strategies a system declares its streams on.

- :mod:`.modified`: modified-since polling with an overlap window, (id, timestamp)
  de-duplication and periodic id scans for deletes (Tryton).
- :mod:`.snapshot`: full scans compared by fingerprint (BottleCRM).
- :mod:`.webhook`: a webhook receiver with a per-system signature check, then a re-fetch
  (BottleCRM).
- :mod:`.events`: an event-stream subscription with a durable replay position, gap and
  overflow signals and a re-snapshot fallback through polling (Salesforce CDC, next).

Each strategy owns its cursor format; cursors already stored keep decoding.
"""

from connectors.base.tracking import events, modified, snapshot, webhook
from connectors.base.tracking.events import (
    ChannelEvent,
    EventChannel,
    EventCursor,
    EventStream,
    Gap,
    Overflow,
    PositionExpired,
    Preset,
    Subscription,
)
from connectors.base.tracking.idranges import id_runs, ids_of
from connectors.base.tracking.modified import ModifiedSinceStream, PollWindow
from connectors.base.tracking.modified_cursor import ModifiedCursor, RecordId, stamp_text
from connectors.base.tracking.snapshot import (
    FullScanStream,
    ScanComparison,
    decode_snapshot,
    encode_snapshot,
)
from connectors.base.tracking.webhook import (
    InvalidSignature,
    Notification,
    WebhookHandler,
    WebhookReceiver,
)

__all__ = [
    "ChannelEvent",
    "EventChannel",
    "EventCursor",
    "EventStream",
    "FullScanStream",
    "Gap",
    "InvalidSignature",
    "ModifiedCursor",
    "ModifiedSinceStream",
    "Notification",
    "Overflow",
    "PollWindow",
    "PositionExpired",
    "Preset",
    "RecordId",
    "ScanComparison",
    "Subscription",
    "WebhookHandler",
    "WebhookReceiver",
    "decode_snapshot",
    "encode_snapshot",
    "events",
    "id_runs",
    "ids_of",
    "modified",
    "snapshot",
    "stamp_text",
    "webhook",
]
