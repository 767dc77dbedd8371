"""The asyncio (anyio) client: the same flows as :class:`~client.sync_client.Client`, driven with ``await``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import anyio
import httpx

from client import api
from client.api import USER_AGENT
from client.async_job import AsyncJob
from client.base import ClientBase
from client.errors import ConnectionFailed, connection_problem
from client.events import Follower, JobEvent, StreamBroken, is_transient
from client.flow import Authenticate, Call, Flow, Reply, Sleep, exchange
from client.images import image_file
from client.problems import error_from_response
from client.sse import SSEParser
from client.submission import endpoint, prepare
from schemas.auth import Me
from schemas.jobs import CancelResult, JobAccepted, JobPage, JobView, QueueView
from schemas.models import ModelEntry, ModelPage, ModelType
from schemas.requests import (
    AnyJobRequest,
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    Txt2ImgRequest,
    UpscaleRequest,
)


class AsyncClient(ClientBase[httpx.AsyncBaseTransport]):
    """The async twin of :class:`~client.sync_client.Client`: the same arguments and methods, awaited; an
    async context manager. Generation methods return an :class:`AsyncJob`."""

    def _open(self, timeout: float, transport: httpx.AsyncBaseTransport | None) -> None:
        self._lock = anyio.Lock()
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
        )

    # -- generation ---------------------------------------------------------------------------------------
    async def txt2img(self, request: Txt2ImgRequest | None = None, /, **fields: Any) -> AsyncJob:
        return await self._submit("txt2img", request, fields)

    async def img2img(self, request: Img2ImgRequest | None = None, /, **fields: Any) -> AsyncJob:
        return await self._submit("img2img", request, fields)

    async def inpaint(self, request: InpaintRequest | None = None, /, **fields: Any) -> AsyncJob:
        return await self._submit("inpaint", request, fields)

    async def controlnet(self, request: ControlNetRequest | None = None, /, **fields: Any) -> AsyncJob:
        return await self._submit("controlnet", request, fields)

    async def upscale(self, request: UpscaleRequest | None = None, /, **fields: Any) -> AsyncJob:
        return await self._submit("upscale", request, fields)

    async def submit(self, request: AnyJobRequest) -> AsyncJob:
        """Any mode's request model, sent to its mode's endpoint."""
        return await self._submit(request.mode, request, {})

    async def upload(self, image: object) -> str:
        """Upload a path, bytes or a PIL image; returns its id (``upl_...``) for any image field."""
        return str((await self._call(api.upload(image_file(image)))).json()["id"])

    # -- reading ------------------------------------------------------------------------------------------
    async def job(self, job_id: str) -> AsyncJob:
        """A handle on an existing job (its current view in ``.view``); NotFound when there is none."""
        job = AsyncJob(self, job_id)
        await job.refresh()
        return job

    async def job_view(self, job_id: str) -> JobView:
        return JobView.model_validate_json((await self._call(api.job(job_id))).body)

    async def jobs(
        self,
        status: str | None = None,
        mode: str | None = None,
        since: datetime | str | None = None,
        page: int = 1,
        limit: int = 20,
    ) -> JobPage:
        return JobPage.model_validate_json((await self._call(api.jobs(status, mode, since, page, limit))).body)

    async def cancel(self, job_id: str) -> CancelResult:
        return CancelResult.model_validate_json((await self._call(api.cancel(job_id))).body)

    async def models(self, type: ModelType | str | None = None, search: str | None = None) -> list[ModelEntry]:
        """Every installed model (all pages), optionally of one type or with ``search`` in its name."""
        entries: list[ModelEntry] = []
        page = 1
        while True:
            batch = ModelPage.model_validate_json((await self._call(api.models(type, search, page))).body)
            entries += batch.items
            if not batch.items or len(entries) >= batch.total:
                return entries
            page += 1

    async def queue(self) -> QueueView:
        return QueueView.model_validate_json((await self._call(api.QUEUE)).body)

    async def me(self) -> Me:
        return Me.model_validate_json((await self._call(api.ME)).body)

    async def version(self) -> dict[str, Any]:
        result: dict[str, Any] = (await self._call(api.SERVER_VERSION)).json()
        return result

    async def download(self, path: str) -> bytes:
        """The bytes at a path the server gave (an image or thumbnail URL)."""
        return (await self._call(api.get(path))).body

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- driving flows ----------------------------------------------------------------------------------------
    async def _submit(self, mode: str, request: Any, fields: Mapping[str, Any]) -> AsyncJob:
        submission = prepare(mode, request, fields)
        upload_ids = [await self.upload(image) for _, image in submission.uploads]
        reply = await self._call(api.submit(endpoint(mode), submission.filled(upload_ids)))
        accepted = JobAccepted.model_validate_json(reply.body)
        return AsyncJob(self, accepted.id, accepted=accepted)

    async def _call(self, call: Call) -> Reply:
        reply: Reply = await self._drive(exchange(call, self.credentials, self.retry))
        return reply

    async def _drive(self, flow: Flow) -> Any:
        answer: Reply | None = None
        try:
            while True:
                step = flow.send(answer)
                answer = None
                if isinstance(step, Sleep):
                    await anyio.sleep(step.seconds)
                elif isinstance(step, Authenticate):
                    await self._renew(step.stale, step.force)
                else:
                    answer = await self._send(step)
        except StopIteration as stop:
            return stop.value

    async def _renew(self, stale: str | None = None, force: bool = False) -> None:
        """Log in or refresh when due, one call at a time (a refresh token works once)."""
        async with self._lock:
            await self._drive(self.credentials.renew(self.retry, stale, force))

    async def _send(self, call: Call) -> Reply:
        try:
            response = await self._http.request(call.method, call.path, **call.options())
        except httpx.TransportError as exc:
            raise ConnectionFailed(connection_problem(self.base_url, exc)) from exc
        return Reply(response.status_code, response.headers, response.content)

    async def _stream(self, follower: Follower) -> AsyncIterator[JobEvent]:
        """Events of one connection to the job's stream; StreamBroken when it fails or ends early."""
        await self._renew()
        headers = {**follower.stream_headers(), **self.credentials.headers()}
        timeout = httpx.Timeout(10.0, read=follower.read_timeout())
        used = self.credentials.current_token()
        try:
            async with self._http.stream("GET", follower.stream_path, headers=headers, timeout=timeout) as response:
                if response.status_code != 200:
                    error = error_from_response(response.status_code, response.headers, await response.aread())
                    if response.status_code == 401 and self.credentials.can_recover():
                        await self._renew(used, force=True)
                        raise StreamBroken(0.0)
                    if is_transient(response.status_code):
                        raise StreamBroken(error.retry_after)
                    raise error
                parser = SSEParser()
                async for line in response.aiter_lines():
                    follower.check_deadline()
                    message = parser.feed(line)
                    if message is not None:
                        yield follower.accept(message)
        except httpx.TransportError as exc:
            raise StreamBroken() from exc
        raise StreamBroken()
