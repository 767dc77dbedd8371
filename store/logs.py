"""Log context and formats shared by the API and the worker: who and what a log line is about.

Every record gets four context fields, ``request_id``, ``job_id``, ``user`` and ``worker`` (None when unknown):

- per request or job, a ``ContextVar`` holding a small mutable dict. The API's request-id middleware binds a fresh
  one per request; a dependency that learns more later (the principal, the new job id) fills it in with
  :func:`update`, which the middleware's own log lines then see too (a copied context shares the dict). The worker
  binds one per job (``worker.allowed.ProjectJob.perform``);
- per process, defaults (:func:`set_process_fields`): the worker's name, which its heartbeat thread's lines carry as
  well (a new thread starts with an empty context).

``SDQ_LOG_FORMAT=json`` writes one JSON object per line (:class:`JsonFormatter`); ``text`` (the default) the
classic line with the request and job ids appended when known. Lives in ``store`` because it is the one package
both processes import; it touches no Redis.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "job_id", "user", "worker")
REQUEST_ID_MAX = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@+=/-]")

_context: ContextVar[dict[str, str | None] | None] = ContextVar("sdq_log_context", default=None)
_process: dict[str, str | None] = {}


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str:
    """A client's ``X-Request-ID`` made safe to log and echo: characters outside ``A-Z a-z 0-9 . _ : @ + = / -``
    dropped, at most ``REQUEST_ID_MAX`` kept; a fresh id when nothing usable is left."""
    cleaned = _UNSAFE.sub("", value or "")[:REQUEST_ID_MAX]
    return cleaned or new_request_id()


def set_process_fields(**fields: str | None) -> None:
    """Defaults for every record of this process (the worker's name)."""
    _process.update({key: value for key, value in fields.items() if key in FIELDS})


@contextmanager
def bound(**fields: str | None) -> Iterator[dict[str, str | None]]:
    """A fresh context for one request or job, with these fields; restored on exit."""
    values: dict[str, str | None] = {key: value for key, value in fields.items() if key in FIELDS}
    token = _context.set(values)
    try:
        yield values
    finally:
        _context.reset(token)


def update(**fields: str | None) -> None:
    """Fill in fields of the current request's or job's context (nothing outside one)."""
    values = _context.get()
    if values is not None:
        values.update({key: value for key, value in fields.items() if key in FIELDS})


def current(name: str) -> str | None:
    values = _context.get() or {}
    return values.get(name) or _process.get(name)


class ContextFilter(logging.Filter):
    """Puts the context fields on each record (``record.request_id`` ...), for any formatter to use."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, current(name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context fields, and
    ``exception`` (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            entry[name] = getattr(record, name, None) or current(name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with ``[request=… job=…]`` appended when either is known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        known = [
            f"{label}={value}"
            for label, value in (("request", record.__dict__.get("request_id")), ("job", record.__dict__.get("job_id")))
            if value
        ]
        if not known:
            return line
        first, _, rest = line.partition("\n")
        return f"{first} [{' '.join(known)}]" + (f"\n{rest}" if rest else "")


def configure_logging(level: str, log_format: str = "text") -> None:
    """The root handler of an sdqueue process (stderr); replaces any handler already there."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
