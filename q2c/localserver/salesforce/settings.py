"""The local org's settings: what an admin sets on a real org (session timeout, the API
request allowance of the edition, the recycle bin's retention) and the API version served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ServerSettings:
    api_version: str = "62.0"
    """The newest REST API version served; every version from 20.0 up answers."""
    session_lifetime: timedelta = timedelta(hours=2)
    """The session timeout: an access token older than this gets INVALID_SESSION_ID."""
    daily_api_requests: int = 100_000
    """The org's API request allowance per 24 hours (Enterprise Edition's base)."""
    deleted_retention: timedelta = timedelta(days=15)
    """How long deleted records stay in the recycle bin (getDeleted, queryAll)."""
    jwt_max_lifetime: timedelta = timedelta(minutes=3)
    """How far in the future a JWT bearer assertion's ``exp`` may be."""
    query_locator_lifetime: timedelta = timedelta(minutes=15)
    cdc_keepalive: timedelta = timedelta(seconds=270)
    """How long an idle Pub/Sub API subscription waits for an empty keep-alive response."""
    cdc_retention: timedelta = timedelta(hours=72)
    """How long change events are kept for replay."""
    quotes_enabled: bool = True
    """Quote Settings' "Enable Quotes": without it the org has no Quote or QuoteLineItem
    (SOQL answers ``INVALID_TYPE``, REST ``NOT_FOUND``) and no ``Opportunity.SyncedQuoteId``."""
