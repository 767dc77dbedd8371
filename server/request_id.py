"""``X-Request-ID``: every request gets an id, echoed in the response and carried by every log line it causes.

A client's (or a proxy's) id is kept after :func:`store.logs.clean_request_id` (safe characters only, at most 64);
without one the API makes one. The id is bound to the log context for the request (``store.logs.bound``), so the
routes, the submit service (which stores it on the job: ``meta.request_id``, shown as the job's ``request_id``) and
the worker's lines for that job all name it. A pure ASGI middleware: streaming responses pass through untouched.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.logs import bound, clean_request_id, new_request_id

HEADER = "X-Request-ID"


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER)
        request_id = clean_request_id(given) if given is not None else new_request_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with bound(request_id=request_id):
            await self.app(scope, receive, send_with_id)
