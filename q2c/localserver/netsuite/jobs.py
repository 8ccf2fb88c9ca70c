"""Asynchronous requests (REST Web Services Request Processing): a request with ``Prefer:
respond-async`` is answered 202 with ``Location: /services/rest/async/v1/job/{id}`` and run
in the background as the job's one task; the job, its tasks, a task and the task's result
are read back as documented. An ``X-NetSuite-Idempotency-Key`` used before is answered 400
``IDEMPOTENCY_ERROR`` with the first job's ``Location``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import NetSuiteError
from .store import Store

_log = logging.getLogger(__name__)
JOB_PATH = "/services/rest/async/v1/job"


@dataclass
class Outcome:
    """What a request answered: status, headers and JSON body (``None`` for none)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Jobs:
    def __init__(
        self, store: Store, base_url: Callable[[], str], delay: Callable[[], float]
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.delay = delay
        self._tasks: set[asyncio.Task[None]] = set()
        store.execute(
            "UPDATE ns_job SET progress = 'failed', result_status = 500, result_body = ?"
            " WHERE progress = 'pending'",
            (
                json.dumps(
                    NetSuiteError(500, "UNEXPECTED_ERROR", "The job was interrupted.").body()
                ),
            ),
        )

    def location(self, job_id: int) -> str:
        return f"{JOB_PATH}/{job_id}"

    def submit(
        self, key: str | None, method: str, path: str, operation: Callable[[], Outcome]
    ) -> Outcome:
        if key is not None:
            existing = self.store.row("SELECT id FROM ns_job WHERE idempotency_key = ?", (key,))
            if existing is not None:
                error = NetSuiteError(
                    400,
                    "IDEMPOTENCY_ERROR",
                    "A request with the same idempotency key is already submitted. See the"
                    ' "Location" header for a link to the previously submitted job',
                    title="Conflict",
                    headers={
                        "Location": self.location(int(existing["id"])),
                        "Preference-Applied": "respond-async",
                    },
                )
                return Outcome(400, error.headers, error.body())
        job_id = self.store.execute(
            "INSERT INTO ns_job (idempotency_key, method, path, progress, start_time)"
            " VALUES (?, ?, ?, 'pending', ?)",
            (key, method, path, str(time.time())),
        )
        task = asyncio.get_running_loop().create_task(self._run(job_id, operation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Outcome(
            202,
            {"Location": self.location(job_id), "Preference-Applied": "respond-async"},
        )

    async def _run(self, job_id: int, operation: Callable[[], Outcome]) -> None:
        await asyncio.sleep(self.delay())
        try:
            outcome = operation()
        except NetSuiteError as error:
            outcome = Outcome(error.status, error.headers, error.body())
        except Exception:
            _log.exception("async job %s failed", job_id)
            unexpected = NetSuiteError(500, "UNEXPECTED_ERROR", "An unexpected error occurred.")
            outcome = Outcome(unexpected.status, {}, unexpected.body())
        progress = "succeeded" if outcome.status < 400 else "failed"
        self.store.execute(
            "UPDATE ns_job SET progress = ?, end_time = ?, result_status = ?,"
            " result_headers = ?, result_body = ? WHERE id = ?",
            (
                progress,
                str(time.time()),
                outcome.status,
                json.dumps(outcome.headers),
                None if outcome.body is None else json.dumps(outcome.body),
                job_id,
            ),
        )

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _job(self, job_id: str) -> Any:
        row = (
            self.store.row("SELECT * FROM ns_job WHERE id = ?", (int(job_id),))
            if job_id.isdigit()
            else None
        )
        if row is None:
            raise NetSuiteError(
                404, "NONEXISTENT_ID", f"The job {job_id} does not exist. Provide a valid job ID."
            )
        return row

    def _url(self, *parts: object) -> str:
        return self.base_url() + "/".join([JOB_PATH, *(str(part) for part in parts)])

    def job(self, job_id: str) -> dict[str, Any]:
        row = self._job(job_id)
        body: dict[str, Any] = {
            "links": [{"rel": "self", "href": self._url(row["id"])}],
            "completed": row["progress"] != "pending",
            "id": str(row["id"]),
            "progress": row["progress"],
            "task": {"links": [{"rel": "self", "href": self._url(row["id"], "task")}]},
        }
        self._times(body, row)
        return body

    @staticmethod
    def _times(body: dict[str, Any], row: Any) -> None:
        start = _iso(float(row["start_time"])) if row["start_time"] else None
        end = _iso(float(row["end_time"])) if row["end_time"] else None
        if start:
            body["startTime"] = start
        if end:
            body["endTime"] = end

    def tasks(self, job_id: str) -> dict[str, Any]:
        row = self._job(job_id)
        return {
            "links": [{"rel": "self", "href": self._url(row["id"], "task")}],
            "count": 1,
            "hasMore": False,
            "items": [
                {"links": [{"rel": "self", "href": self._url(row["id"], "task", 1)}], "id": "1"}
            ],
            "offset": 0,
            "totalResults": 1,
        }

    def _task_row(self, job_id: str, task_id: str) -> Any:
        row = self._job(job_id)
        if task_id != "1":
            raise NetSuiteError(
                404, "NONEXISTENT_ID", f"The task {task_id} does not exist in job {job_id}."
            )
        return row

    def task(self, job_id: str, task_id: str) -> dict[str, Any]:
        row = self._task_row(job_id, task_id)
        body: dict[str, Any] = {
            "links": [
                {"rel": "related", "href": self._url(row["id"], "task", 1, "result")},
                {"rel": "self", "href": self._url(row["id"], "task", 1)},
            ],
            "completed": row["progress"] != "pending",
            "id": "1",
            "progress": row["progress"],
        }
        self._times(body, row)
        return body

    def result(self, job_id: str, task_id: str) -> Outcome:
        row = self._task_row(job_id, task_id)
        if row["progress"] == "pending":
            raise NetSuiteError(
                404, "NONEXISTENT_ID", f"The task {task_id} of job {job_id} has not completed."
            )
        headers = json.loads(row["result_headers"] or "{}")
        body = json.loads(row["result_body"]) if row["result_body"] else None
        return Outcome(int(row["result_status"]), headers, body)
