"""A minimal Server-Sent Events reader for tests (the format: 'field: value' lines, blank line ends an event)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests

TERMINAL = {"finished", "failed", "canceled"}


def open_stream(url: str, last_event_id: str | None = None) -> requests.Response:
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    response = requests.get(url, headers=headers, stream=True, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return response


def events(response: requests.Response) -> Iterator[dict[str, Any]]:
    """Yield {event, id, data (parsed JSON)} until the stream ends."""
    current: dict[str, Any] = {}
    for line in response.iter_lines(decode_unicode=True):
        if not line:
            if "event" in current or "data" in current:
                current["data"] = json.loads(current.get("data", "null"))
                yield current
            current = {}
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive ping
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        current[field] = current.get(field, "") + value if field == "data" else value


def read_until_terminal(response: requests.Response) -> list[dict[str, Any]]:
    seen = []
    for event in events(response):
        seen.append(event)
        if event["event"] in TERMINAL:
            break
    response.close()
    return seen
