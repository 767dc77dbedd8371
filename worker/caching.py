"""The worker's side of the result cache: a job whose identical request finished meanwhile takes its images
(hard links, no generation); otherwise it claims the key, generates, and records its result for later requests.

The claim (a Redis lock for the job's time limit) keeps two workers from generating the same request at once: the
second waits for the first and then takes its result, or generates itself if the first failed or was canceled.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from schemas.jobs import JobPayload, JobResult
from schemas.keys import RQ_SERIALIZER
from store.cache import CacheEntry, CacheStore, take_entry
from worker import runtime
from worker.reporter import JobReporter

WAIT_INTERVAL = 0.1


def run_cached(
    context: runtime.WorkerContext, payload: JobPayload, reporter: JobReporter, generate: Callable[[], JobResult]
) -> JobResult:
    key = payload.cache_key
    assert key is not None
    store = CacheStore.for_settings(context.settings, context.redis)
    reuse = not payload.request.force_regenerate
    try:
        while not store.lock(key, payload.job_id, context.settings.job_timeout):
            if reuse and (entry := store.lookup(key)) is not None:
                return take_cached(context, payload, entry)
            reporter.check_stop()  # another worker generates this request right now: wait for it
            holder = store.holder(key)
            if holder is not None and not _is_running(context, holder):
                store.unlock(key, holder)  # its worker died or it went back to its queue: take over
            time.sleep(WAIT_INTERVAL)
        if reuse and (entry := store.lookup(key)) is not None:
            return take_cached(context, payload, entry)
        result = generate()
        store.put(key, payload.job_id, result.model_dump(mode="json"))
        return result
    finally:
        store.unlock(key, payload.job_id)


def _is_running(context: runtime.WorkerContext, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=context.redis, serializer=RQ_SERIALIZER)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) == JobStatus.STARTED


def take_cached(context: runtime.WorkerContext, payload: JobPayload, entry: CacheEntry) -> JobResult:
    result = take_entry(context.settings.outputs_dir, payload, entry)
    context.metrics.count("cache_requests", result="hit")
    return result
