"""A live worker's heartbeat: written by the worker every ttl/3 seconds (and around each job), read by the API
(queue and system views, readiness, metrics) and by other workers (a started job whose worker has no heartbeat
is an orphan, ``worker.recovery``).

Redis hash ``sdq:worker:<name>`` (``schemas.keys.worker_heartbeat_key``) expiring ``SDQ_WORKER_HEARTBEAT_TTL``
seconds after the last beat. Structured fields are JSON; a list of names is comma-separated.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from schemas.jobs import WorkerView
from schemas.keys import WORKER_HEARTBEAT_PATTERN, worker_heartbeat_key

_JSON_FIELDS = ("policy", "model_memory", "gpu", "features")


class WorkerHeartbeat(BaseModel):
    name: str
    queue: str
    pid: int | None = None
    version: str | None = None
    payload_version: int | None = None
    jobs_done: int = 0
    draining: bool = False
    device: str | None = None
    previews: str | None = None
    current_job: str | None = None
    current_model: str | None = None  # the model the current job runs on (resident, or being loaded)
    models_loaded: list[str] = Field(default_factory=list)
    policy: dict[str, Any] = Field(default_factory=dict)
    model_memory: dict[str, Any] = Field(default_factory=dict)
    gpu: dict[str, Any] = Field(default_factory=dict)
    features: dict[str, Any] = Field(default_factory=dict)

    def write(self, redis: Any, ttl_seconds: int) -> None:
        fields: dict[str, Any] = {
            "name": self.name,
            "queue": self.queue,
            "pid": "" if self.pid is None else self.pid,
            "version": self.version or "",
            "payload_version": "" if self.payload_version is None else self.payload_version,
            "jobs_done": self.jobs_done,
            "draining": int(self.draining),
            "device": self.device or "",
            "previews": self.previews or "",
            "current_job": self.current_job or "",
            "current_model": self.current_model or "",
            "models_loaded": ",".join(self.models_loaded),
            **{name: json.dumps(getattr(self, name)) for name in _JSON_FIELDS},
        }
        key = worker_heartbeat_key(self.name)
        pipe = redis.pipeline(transaction=False)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl_seconds)
        pipe.execute()

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes]) -> WorkerHeartbeat:
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            name=data.get("name", ""),
            queue=data.get("queue", ""),
            pid=int(data["pid"]) if data.get("pid") else None,
            version=data.get("version") or None,
            payload_version=int(data["payload_version"]) if data.get("payload_version") else None,
            jobs_done=int(data.get("jobs_done") or 0),
            draining=data.get("draining") == "1",
            device=data.get("device") or None,
            previews=data.get("previews") or None,
            current_job=data.get("current_job") or None,
            current_model=data.get("current_model") or None,
            models_loaded=[m for m in data.get("models_loaded", "").split(",") if m],
            **{name: json.loads(data.get(name) or "{}") for name in _JSON_FIELDS},
        )

    def view(self) -> WorkerView:
        return WorkerView(**self.model_dump(exclude={"queue", "gpu", "current_model"}), gpu=self.gpu or None)

    @property
    def holds(self) -> set[str]:
        """The models this worker has resident or is loading for its current job."""
        return set(self.models_loaded) | ({self.current_model} if self.current_model else set())


def live_heartbeats(redis: Any, base_queue: str) -> list[WorkerHeartbeat]:
    """Workers of ``base_queue`` with a live heartbeat, by name."""
    beats = []
    for key in redis.scan_iter(match=WORKER_HEARTBEAT_PATTERN, count=100):
        raw = redis.hgetall(key)
        if not raw:
            continue  # expired meanwhile
        beat = WorkerHeartbeat.from_fields(raw)
        if beat.queue == base_queue:
            beats.append(beat)
    return sorted(beats, key=lambda b: b.name)


def delete_heartbeat(redis: Any, worker_name: str) -> None:
    redis.delete(worker_heartbeat_key(worker_name))


def is_alive(redis: Any, worker_name: str) -> bool:
    return bool(redis.exists(worker_heartbeat_key(worker_name)))
