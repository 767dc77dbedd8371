"""Writing a job's event stream, shared by the API (queued, canceled) and the worker (everything else).

An event is one Redis stream entry ``{event, data}`` with ``data`` a JSON object; the stream id is the SSE id,
so a client resuming with ``Last-Event-ID`` continues after the last event it saw. The stream expires with
the job's records. The client is passed in (any redis-py client), so this module imports no Redis code.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.keys import EVENTS_MAXLEN, Event, events_key


def queue_event(pipe: Any, job_id: str, event: Event, data: dict[str, Any], ttl_seconds: int) -> None:
    """Add the event's commands to a Redis pipeline (the caller executes it, with other commands)."""
    key = events_key(job_id)
    pipe.xadd(key, {"event": event.value, "data": json.dumps(data)}, maxlen=EVENTS_MAXLEN, approximate=True)
    pipe.expire(key, ttl_seconds)


def publish_event(redis: Any, job_id: str, event: Event, data: dict[str, Any], ttl_seconds: int) -> None:
    pipe = redis.pipeline(transaction=False)
    queue_event(pipe, job_id, event, data, ttl_seconds)
    pipe.execute()
