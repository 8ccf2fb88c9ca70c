"""Replication resources of the REST API (REST API Developer Guide, "sObject Get Deleted"
and "sObject Get Updated", API 29.0 and later): the ids deleted or changed between ``start``
and ``end``, seconds ignored as on the platform, never past the current minute
(``latestDateCovered``), deletions back to ``earliestDateAvailable`` (now less the recycle
bin's retention), at most 600,000 ids (``EXCEEDED_ID_LIMIT``)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from .errors import SalesforceError, not_found
from .rest import Api, sf_json
from .values import format_datetime, parse_datetime

MAX_IDS = 600_000


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _too_many() -> SalesforceError:
    return SalesforceError(
        400,
        "EXCEEDED_ID_LIMIT",
        "More than 600,000 ids were found; choose start and end dates closer together",
    )


class Replication:
    def __init__(self, api: Api) -> None:
        self.api = api

    def routes(self) -> list[web.RouteDef]:
        sobject = r"/services/data/{version:v\d+\.\d}/sobjects/{sobject}"
        return [
            web.get(sobject + "/deleted{slash:/?}", self.deleted),
            web.get(sobject + "/updated{slash:/?}", self.updated),
        ]

    def _window(self, request: web.Request) -> tuple[datetime, datetime]:
        """``start`` and ``end`` of a replication call, seconds ignored."""
        if float(self.api.version(request)) < 29.0:
            raise not_found()
        try:
            start = _minute(parse_datetime(request.query["start"]))
            end = _minute(parse_datetime(request.query["end"]))
        except KeyError:
            raise SalesforceError(
                400, "MISSING_ARGUMENT", "start and end are required parameters"
            ) from None
        except ValueError as error:
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", str(error)) from None
        if end < start:
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", "EndDate before StartDate")
        return start, end

    async def updated(self, request: web.Request) -> web.Response:
        """getUpdated: ids of records changed (SystemModstamp) between ``start`` and ``end``."""
        sobject = self.api.sobject(request.match_info["sobject"])
        start, end = self._window(request)
        covered = min(end, _minute(datetime.now(UTC)))
        ids = [
            row.id
            for row in self.api.store.all_rows(sobject.name)
            if start <= parse_datetime(str(row.values["SystemModstamp"])) < covered
        ]
        if len(ids) > MAX_IDS:
            raise _too_many()
        return sf_json({"ids": ids, "latestDateCovered": format_datetime(covered)})

    async def deleted(self, request: web.Request) -> web.Response:
        """Deleted ids between ``start`` and ``end`` (seconds ignored, as on the platform),
        back to ``earliestDateAvailable`` (now less the recycle bin's retention); a ``start``
        before it is refused with ``INVALID_REPLICATION_DATE`` (SOAP API guide, getDeleted(),
        "Rules and Guidelines": the purge has been performed)."""
        sobject = self.api.sobject(request.match_info["sobject"])
        start, end = self._window(request)
        now = datetime.now(UTC)
        earliest = _minute(now - self.api.control.deleted_retention)
        if start < earliest:
            # getDeleted(): the log has been purged past the start; a full pull is the
            # documented way on.
            raise SalesforceError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate is before earliestDateAvailable {format_datetime(earliest)}: the "
                "delete log no longer covers it",
            )
        covered = min(end, _minute(now))
        records = sorted(
            (
                row
                for row in self.api.store.all_rows(sobject.name, include_deleted=True)
                if row.deleted_at is not None and max(start, earliest) <= row.deleted_at < covered
            ),
            key=lambda row: row.deleted_at or now,
        )
        if len(records) > MAX_IDS:
            raise _too_many()
        return sf_json(
            {
                "deletedRecords": [
                    {"id": row.id, "deletedDate": format_datetime(row.deleted_at or now)}
                    for row in records
                ],
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": format_datetime(covered),
            }
        )
