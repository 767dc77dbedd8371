"""Following a job: its event stream, resumed with ``Last-Event-ID`` after a break, else polling its view.

:class:`Follower` holds the decisions (what to send, when to reconnect, when to give up on the stream and poll,
what polled views mean as events, when the caller's timeout has run out); the sync and async jobs only do I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from client.errors import WaitTimeout, local_problem
from client.sse import ServerEvent
from schemas.jobs import JobStatus, JobView

TERMINAL_EVENTS = frozenset({"finished", "failed", "canceled"})
KEEPALIVE_SECONDS = 15.0  # the API sends a comment this often; a read waits a little longer before giving up


@dataclass(frozen=True)
class JobEvent:
    """One event of a job: ``queued``, ``started``, ``progress``, ``preview``, ``requeued``, then ``finished``,
    ``failed`` or ``canceled`` (whose ``data`` is the job view)."""

    event: str
    data: dict[str, Any]
    id: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS

    @cached_property
    def view(self) -> JobView | None:
        return JobView.model_validate(self.data) if self.is_terminal else None

    @property
    def step(self) -> int | None:
        return self.data.get("step")

    @property
    def total(self) -> int | None:
        return self.data.get("total")


def view_events(view: JobView) -> list[JobEvent]:
    """What a polled view says, as the events the stream would have sent."""
    if view.status.is_terminal:
        return [JobEvent(view.status.value, view.model_dump(mode="json"))]
    if view.status is JobStatus.QUEUED:
        return [JobEvent("queued", {"position": view.position})]
    return [JobEvent("progress", view.progress.model_dump(mode="json"))]


class Follower:
    """Decisions of following one job until it ends or ``timeout`` seconds pass."""

    def __init__(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        max_stream_failures: int = 3,
        poll_interval: float = 0.5,
        reconnect_delay: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.clock = clock
        self.deadline = None if timeout is None else clock() + timeout
        self.max_stream_failures = max_stream_failures
        self.poll_interval = poll_interval
        self.reconnect_delay = reconnect_delay
        self.last_event_id: str | None = None
        self.failures = 0
        self.polling = False
        self.reconnects = 0
        self._last_polled: list[JobEvent] = []

    @property
    def stream_path(self) -> str:
        return f"/api/v1/jobs/{self.job_id}/events"

    @property
    def view_path(self) -> str:
        return f"/api/v1/jobs/{self.job_id}"

    def stream_headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.clock()

    def check_deadline(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise WaitTimeout(local_problem("wait_timeout", f"job {self.job_id} did not end in time", "Timed out"))

    def read_timeout(self) -> float:
        """Seconds one read of the stream may block: past a keep-alive, never past the deadline."""
        left = self.remaining()
        wait = KEEPALIVE_SECONDS * 2
        return wait if left is None else max(0.05, min(wait, left))

    def accept(self, message: ServerEvent) -> JobEvent:
        """An event read from the stream: the stream works (failures start again from 0)."""
        self.failures = 0
        if message.id:
            self.last_event_id = message.id
        data = json.loads(message.data) if message.data else {}
        return JobEvent(message.event, data if isinstance(data, dict) else {"value": data}, message.id)

    def stream_broke(self, retry_after: float | None = None) -> float:
        """The stream could not be opened or ended early: seconds to wait before the next try (or before
        polling, once ``max_stream_failures`` tries in a row failed)."""
        self.failures += 1
        self.reconnects += 1
        if self.failures >= self.max_stream_failures:
            self.polling = True
        delay = self.reconnect_delay * self.failures if retry_after is None else retry_after
        return self._bounded(delay)

    def polled(self, view: JobView) -> list[JobEvent]:
        """Events for a polled view; repeated ones (nothing changed) are left out."""
        events = [event for event in view_events(view) if event not in self._last_polled]
        self._last_polled = view_events(view)
        return events

    def poll_delay(self) -> float:
        return self._bounded(self.poll_interval)

    def _bounded(self, delay: float) -> float:
        left = self.remaining()
        return delay if left is None else max(0.0, min(delay, left))


class StreamBroken(Exception):
    """The event stream could not be opened or ended before the job did (internal: the follower reconnects)."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("event stream broke")
        self.retry_after = retry_after


def is_transient(status: int) -> bool:
    """A refusal of the event stream worth trying again (then polling): overload or an outage."""
    return status == 429 or status >= 500
