"""Only sdqueue's own task functions run, whatever a Redis entry names.

An RQ job names the function to call by its dotted path, and its callbacks the same way; anyone who can write to
Redis could name ``os.system``. ``ProjectJob`` refuses every function but the project's tasks (the job then fails
with ``TaskNotAllowed``, and the worker goes on), and runs no callbacks (sdqueue registers none). The job's data is
JSON (``RQ_SERIALIZER``), so no pickle from Redis is ever loaded either.
"""

from __future__ import annotations

import logging
from typing import Any

from rq.job import Job

from schemas.keys import CONTROL_TASK, RUN_JOB_TASK
from store import logs

log = logging.getLogger(__name__)

ALLOWED_TASKS = frozenset({RUN_JOB_TASK, CONTROL_TASK})


class TaskNotAllowed(Exception):
    """A queued job names a function that is not one of sdqueue's tasks."""


def is_allowed_task(func_name: str | None, instance: object = None) -> bool:
    return instance is None and func_name in ALLOWED_TASKS


class ProjectJob(Job):
    def perform(self) -> Any:
        """Run the job with its id, owner and submit's request id on every log line it causes."""
        with logs.bound(job_id=self.id, user=self.meta.get("owner"), request_id=self.meta.get("request_id")):
            return super().perform()

    @property
    def func(self) -> Any:
        if not is_allowed_task(self.func_name, self.instance):
            log.error("job %s: refused to run %r, not an sdqueue task", self.id, self.func_name)
            raise TaskNotAllowed(f"refused to run {self.func_name!r}: not an sdqueue task")
        return super().func

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None
