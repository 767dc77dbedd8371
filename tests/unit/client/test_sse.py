"""The SSE parser: the line rules of the living standard that the API's stream uses."""

from __future__ import annotations

from client.sse import ServerEvent, SSEParser


def feed(parser: SSEParser, text: str) -> list[ServerEvent]:
    return [event for line in text.split("\n") if (event := parser.feed(line)) is not None]


def test_events_with_ids_data_and_comments() -> None:
    parser = SSEParser()
    text = (
        ': ping\r\nevent: progress\r\nid: 1-0\r\ndata: {"step": 1}\r\n\r\n'
        ": ping\r\n\r\nevent: finished\r\ndata: {}\r\n\r\n"
    )
    events = feed(parser, text)
    assert events == [ServerEvent("progress", '{"step": 1}', "1-0"), ServerEvent("finished", "{}", None)]
    assert parser.last_event_id == "1-0"  # kept across an event without an id


def test_multi_line_data_is_joined_with_newlines_and_no_space_is_optional() -> None:
    events = feed(SSEParser(), "data:a\ndata: b\n\n")
    assert events == [ServerEvent("message", "a\nb")]


def test_a_blank_line_without_fields_dispatches_nothing() -> None:
    assert feed(SSEParser(), "\n\n: only a comment\n\n") == []


def test_unknown_fields_and_retry_are_ignored() -> None:
    events = feed(SSEParser(), "retry: 100\nfoo: bar\nevent: queued\ndata: {}\n\n")
    assert events == [ServerEvent("queued", "{}")]
