"""Server-Sent Events for one job, read from the job's Redis stream (so any API process can serve them).

Stream entries keep their Redis ids as SSE ids: a client reconnecting with ``Last-Event-ID`` gets only what
came after. While the job waits, ``queued`` events report its position as it moves (those carry no id).
The terminal event (``finished | failed | canceled``) carries the same body as ``GET /api/v1/jobs/{id}``;
a client that connects after the end gets it at once. When Redis goes away mid-stream the stream ends; a client
reconnects (with ``Last-Event-ID``) and gets a 503 until Redis is back, then what it missed. Each principal may
have SDQ_MAX_EVENT_STREAMS_PER_USER streams open (``server.streams``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.concurrency import run_in_threadpool

from schemas.jobs import JobStatus
from schemas.keys import Event, events_key
from server.streams import StreamSlot
from server.views import JobViews

BLOCK_MS = 1000

log = logging.getLogger(__name__)


async def job_events(
    jobs: JobViews, aredis: AsyncRedis, job_id: str, last_event_id: str | None, slot: StreamSlot | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The job's events; ``slot`` (the caller's open-stream slot, see ``server.streams``) is refreshed meanwhile."""
    try:
        async for message in _job_events(jobs, aredis, job_id, last_event_id, slot):
            yield message
    except (RedisConnectionError, RedisTimeoutError) as exc:
        log.warning("job %s: event stream ended, Redis unreachable: %s", job_id, exc)


async def _job_events(
    jobs: JobViews, aredis: AsyncRedis, job_id: str, last_event_id: str | None, slot: StreamSlot | None
) -> AsyncIterator[dict[str, Any]]:
    key = events_key(job_id)
    cursor = last_event_id or "0-0"
    view = await run_in_threadpool(jobs.view, job_id)
    if view.status.is_terminal and last_event_id is None:
        last: Any = await aredis.xrevrange(key, count=1)
        yield _terminal(view, last[0][0].decode() if last else None)
        return
    position = None
    while True:
        if slot is not None:
            await slot.refresh()
        batch: Any = await aredis.xread({key: cursor}, block=BLOCK_MS, count=100)
        for _, entries in batch:
            for entry_id, fields in entries:
                cursor = entry_id.decode()
                event = Event(fields[b"event"].decode())
                if event.is_terminal:
                    view = await run_in_threadpool(jobs.view, job_id)
                    yield _terminal(view, cursor)
                    return
                data = json.loads(fields[b"data"])
                if event is Event.QUEUED:
                    position = data.get("position")
                yield {"event": event.value, "id": cursor, "data": json.dumps(data)}
        if batch:
            continue
        # Nothing new for a second: the job may have ended without an event (records expired), or moved up.
        view = await run_in_threadpool(jobs.view, job_id)
        if view.status.is_terminal:
            yield _terminal(view, None)
            return
        if view.status is JobStatus.QUEUED and view.position != position:
            position = view.position
            yield {"event": Event.QUEUED.value, "data": json.dumps({"position": position})}


def _terminal(view: Any, event_id: str | None) -> dict[str, Any]:
    message = {"event": view.status.value, "data": view.model_dump_json()}
    if event_id:
        message["id"] = event_id
    return message
