"""store.logs: the log context (per request/job, per process), the request-id cleaning and the JSON lines."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from store import logs


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("sdq.test.logs")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logs._process.clear()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_time_level_logger_message_and_the_bound_context(captured) -> None:
    logger, stream = captured
    logs.set_process_fields(worker="host.1.abc")
    with logs.bound(request_id="r-1"):
        logs.update(user="alice", job_id="j" * 32)
        logger.info("job %s queued", "x")
    logger.warning("outside")
    inside, outside = lines(stream)
    assert inside["level"] == "info" and inside["logger"] == "sdq.test.logs" and inside["message"] == "job x queued"
    assert inside["time"].endswith("+00:00")
    assert (inside["request_id"], inside["job_id"], inside["user"], inside["worker"]) == (
        "r-1",
        "j" * 32,
        "alice",
        "host.1.abc",
    )
    assert (outside["request_id"], outside["job_id"], outside["user"], outside["worker"]) == (
        None,
        None,
        None,
        "host.1.abc",
    )


def test_update_outside_a_bound_context_changes_nothing(captured) -> None:
    logger, stream = captured
    logs.update(user="mallory")
    logger.info("x")
    assert lines(stream)[0]["user"] is None


def test_a_copied_context_shares_the_fields_filled_in_later(captured) -> None:
    """A dependency run in a thread (a copied context) that learns the user names it for the whole request."""
    import contextvars

    logger, stream = captured
    with logs.bound(request_id="r-2"):
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(logs.update,), kwargs={"user": "bob"})
        thread.start()
        thread.join()
        logger.info("after")
    assert lines(stream)[0]["user"] == "bob"


def test_an_exception_is_one_json_field_not_extra_lines(captured) -> None:
    logger, stream = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (entry,) = lines(stream)
    assert entry["level"] == "error" and "ValueError: boom" in entry["exception"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_X.y:z", "abc-123_X.y:z"),
        ("evil\r\nSet-Cookie: a=b", "evilSet-Cookie:a=b"),
        ('{"json": "injection"}', "json:injection"),
        ("x" * 500, "x" * logs.REQUEST_ID_MAX),
    ],
)
def test_a_client_request_id_is_sanitised_and_bounded(given: str, kept: str) -> None:
    assert logs.clean_request_id(given) == kept


@pytest.mark.parametrize("given", ["", "   ", "\n\t<>", None])
def test_an_unusable_request_id_is_replaced_by_a_fresh_one(given: str | None) -> None:
    made = logs.clean_request_id(given)
    assert len(made) == 32 and int(made, 16) >= 0
    assert made != logs.clean_request_id(given)


def test_text_format_appends_the_request_and_job_ids() -> None:
    record = logging.LogRecord("sdq", logging.INFO, __file__, 1, "hello", None, None)
    record.request_id, record.job_id = "r-3", None
    assert logs.TextFormatter().format(record).endswith("hello [request=r-3]")
