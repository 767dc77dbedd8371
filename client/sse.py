"""A Server-Sent Events parser fed line by line (the HTML living standard's rules, what the API sends).

``field: value`` lines; a blank line dispatches the event; lines starting with ``:`` are comments (keep-alive
pings); ``data`` lines accumulate joined by newlines; ``id`` sets the last event id, which persists across events
(what a reconnect sends as ``Last-Event-ID``). Any transport can feed it: the sync and async clients both do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None = None


class SSEParser:
    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._has_fields = False

    def feed(self, line: str) -> ServerEvent | None:
        """Take one line (without its line ending); return the event a blank line completes."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        else:
            return None  # retry and unknown fields: nothing the client needs
        self._has_fields = True
        return None

    def _dispatch(self) -> ServerEvent | None:
        if not self._has_fields:
            return None
        if self._id is not None:
            self.last_event_id = self._id or None
        event = ServerEvent(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._event, self._data, self._id, self._has_fields = "", [], None, False
        return event
