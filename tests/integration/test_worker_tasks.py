"""The worker runs only sdqueue's own task functions, whatever a Redis entry names."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis
from rq import Callback, Queue
from rq.job import Job

from schemas.keys import CONTROL_TASK, RQ_SERIALIZER
from tests.conftest import Stack, wait_until

pytestmark = pytest.mark.integration


def _queue(stack: Stack) -> Queue:
    return Queue(
        stack.env["SDQ_QUEUE_NAME"], connection=Redis.from_url(stack.env["SDQ_REDIS_URL"]), serializer=RQ_SERIALIZER
    )


def _ended(job: Job) -> str:
    return wait_until(lambda: job.get_status(refresh=True) in ("finished", "failed") and job.get_status(), 60, job.id)


def test_a_job_naming_a_foreign_function_fails_without_running_it(stack: Stack, tmp_path: Path) -> None:
    """A queue entry naming an importable function that is not an sdqueue task fails with TaskNotAllowed; the
    function never runs, and the worker goes on to the next job."""
    marker = tmp_path / "foreign-ran"
    job = _queue(stack).enqueue_call("tests.tasks.write_marker", args=(str(marker),))
    assert _ended(job) == "failed"
    assert "not an sdqueue task" in (job.latest_result().exc_string or "")
    assert not marker.exists()
    assert stack.run(seed=5)["status"] == "finished"


def test_a_callback_named_in_a_job_never_runs(stack: Stack, tmp_path: Path) -> None:
    """An sdqueue task whose entry names success and failure callbacks (an importable function that would leave a
    file): the task ends, the callback is not called."""
    marker = tmp_path / "callback-ran"
    job = _queue(stack).enqueue_call(
        CONTROL_TASK,
        args=({"action": "no-such-action", "model": "x", "marker": str(marker)},),
        on_success=Callback("tests.tasks.write_marker_callback"),
        on_failure=Callback("tests.tasks.write_marker_callback"),
    )
    assert _ended(job) in ("finished", "failed")
    assert not marker.exists()
