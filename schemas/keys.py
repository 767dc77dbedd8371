"""Names shared by the API and the worker through Redis: the task path, queues, key names, the serializer."""

from __future__ import annotations

from enum import StrEnum

# The API enqueues by dotted path, so it never imports worker code.
RUN_JOB_TASK = "worker.tasks.run_job"
CONTROL_TASK = "worker.tasks.control_job"  # model load/unload, carried out by the worker that owns the GPU
# RQ stores job arguments and results with this serializer (JSON: no pickle crosses the boundary).
RQ_SERIALIZER = "rq.serializers.JSONSerializer"

_PREFIX = "sdq:"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_ORDER = (Priority.HIGH, Priority.NORMAL, Priority.LOW)


def queue_name(base: str, priority: Priority) -> str:
    """One RQ queue per priority; the worker drains them in PRIORITY_ORDER."""
    return base if priority is Priority.NORMAL else f"{base}:{priority.value}"


def queue_names(base: str) -> list[str]:
    return [queue_name(base, p) for p in PRIORITY_ORDER]


def progress_key(job_id: str) -> str:
    """Hash with the running job's progress: step, total, stage, eta, it/s, updated_at."""
    return f"{_PREFIX}progress:{job_id}"


def events_key(job_id: str) -> str:
    """Redis stream of a job's events (fields ``event`` and ``data``); its ids are the SSE ids."""
    return f"{_PREFIX}events:{job_id}"


def cancel_key(job_id: str) -> str:
    """Set when a client cancels the job; the worker checks it before and at every step."""
    return f"{_PREFIX}cancel:{job_id}"


def reap_lock_key(job_id: str) -> str:
    """Short lock so one worker at a time recovers an orphaned job."""
    return f"{_PREFIX}reap:{job_id}"


def jobs_index_key(base_queue: str) -> str:
    """Sorted set of job ids by submit time (epoch seconds): listing and retention."""
    return f"{_PREFIX}jobs:{base_queue}"


def owner_jobs_key(base_queue: str, owner: str) -> str:
    """Sorted set of one owner's job ids by submit time: a user's listing reads only their own jobs."""
    return f"{_PREFIX}jobs:{base_queue}:owner:{owner}"


def job_owners_key(base_queue: str) -> str:
    """Hash job id -> owner, for the jobs in the index: retention finds the owner's index after the job expired."""
    return f"{_PREFIX}jobs:{base_queue}:owners"


def uploads_key(owner: str) -> str:
    """Hash upload id -> ``<created epoch>:<bytes>`` of one owner's uploads, for the upload quota."""
    return f"{_PREFIX}uploads:{owner}"


def watermark_checks_key(owner: str) -> str:
    """Sorted set of one owner's watermark-check operation ids by enqueue time (pending checks per user)."""
    return f"{_PREFIX}wmchecks:{owner}"


def event_streams_key(owner: str) -> str:
    """Sorted set of one owner's open event streams (a random id each) by last refresh time."""
    return f"{_PREFIX}streams:{owner}"


def upscaler_factor_key(name: str) -> str:
    """Hash {factor, size, mtime} the worker writes when it loads upscaler ``name``: the API knows its factor."""
    return f"{_PREFIX}upscaler:{name}"


def step_stats_key(model: str) -> str:
    """Hash ``<width>x<height>`` -> JSON {s_per_step, overhead_s, n} measured by the worker."""
    return f"{_PREFIX}stats:{model}"


def storage_key(base_queue: str) -> str:
    """Hash with the last retention sweep's disk usage: bytes, folders, swept_at."""
    return f"{_PREFIX}storage:{base_queue}"


def worker_heartbeat_key(worker_name: str) -> str:
    """Short-lived hash a live worker refreshes: name, queue, device, pid, models loaded, job."""
    return f"{_PREFIX}worker:{worker_name}"


WORKER_HEARTBEAT_PATTERN = f"{_PREFIX}worker:*"


def drain_key(worker_name: str) -> str:
    """String flag: the worker finishes its current job, takes no other and exits (``sdqueue worker --drain``)."""
    return f"{_PREFIX}drain:{worker_name}"


def fair_share_key(base_queue: str) -> str:
    """Hash user -> virtual finish time, plus ``~clock``: the fair-share state every worker of a queue updates."""
    return f"{_PREFIX}fair:{base_queue}"


def passed_over_key(job_id: str) -> str:
    """String: when a worker first passed this job over for model affinity (bounds how long affinity waits)."""
    return f"{_PREFIX}passed:{job_id}"


def upload_owner_key(upload_id: str) -> str:
    """String: the owner of an upload (``data/uploads/<id>.png``); expires with retention."""
    return f"{_PREFIX}upload:{upload_id}"


def file_hash_key(path: object) -> str:
    """Hash {sha256, size, mtime} of a model file, so a file is hashed once while it is unchanged."""
    return f"{_PREFIX}hash:{path}"


def metrics_key(base_queue: str) -> str:
    """Hash of every counter and histogram bucket (``<name>\\t<labels JSON>[\\t<le>]`` -> number)."""
    return f"{_PREFIX}metrics:{base_queue}"


def cache_prefix(base_queue: str) -> str:
    """Result-cache keys: ``<prefix>:entry:<key>``, ``:lru`` (sorted set), ``:sizes`` (hash), ``:lock:<key>``,
    ``:pending:<key>``."""
    return f"{_PREFIX}cache:{base_queue}"


class Event(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    PREVIEW = "preview"
    REQUEUED = "requeued"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (Event.FINISHED, Event.FAILED, Event.CANCELED)


EVENTS_MAXLEN = 1000


# -- accounts and authentication (auth/) ----------------------------------------------------------------
USERS_KEY = f"{_PREFIX}users"  # set of account names


def user_key(name: str) -> str:
    """Hash: an account's password hash, roles, disabled flag."""
    return f"{_PREFIX}user:{name}"


def epoch_key(user: str) -> str:
    """Counter embedded in a user's tokens (``epo``); moving it on ends every session of the user."""
    return f"{_PREFIX}epoch:{user}"


def api_key_key(digest: str) -> str:
    """JSON record of an API key, by the sha256 of the key."""
    return f"{_PREFIX}apikey:{digest}"


def api_key_id_key(key_id: str) -> str:
    """String: the digest of the API key with this public id."""
    return f"{_PREFIX}apikey-id:{key_id}"


def api_keys_of_key(owner: str) -> str:
    """Set of the API key ids of one owner."""
    return f"{_PREFIX}apikeys:{owner}"


API_KEYS_OF_PATTERN = f"{_PREFIX}apikeys:*"


def refresh_token_key(jti: str) -> str:
    """String: the user of a live refresh token (used once: taken with GETDEL)."""
    return f"{_PREFIX}refresh:{jti}"


def revoked_token_key(jti: str) -> str:
    """Flag: a revoked access token, until it would have expired."""
    return f"{_PREFIX}revoked:{jti}"


def login_user_key(username: str) -> str:
    """Counter of login attempts for a user name in the current window."""
    return f"{_PREFIX}login:user:{username}"


def login_address_key(address: str) -> str:
    """Counter of login attempts from a client address in the current window."""
    return f"{_PREFIX}login:addr:{address}"


def rate_key(name: str) -> str:
    """Counter of one fixed-window rate limit (e.g. ``submit:<user>``)."""
    return f"{_PREFIX}rate:{name}"
