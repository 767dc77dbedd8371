"""The blocking client (httpx): drives the shared flows with plain I/O and ``time.sleep``."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Any

import httpx

from client import api
from client.api import USER_AGENT
from client.base import ClientBase
from client.errors import ConnectionFailed, connection_problem
from client.events import Follower, JobEvent, StreamBroken, is_transient
from client.flow import Authenticate, Call, Flow, Reply, Sleep, exchange
from client.images import image_file
from client.problems import error_from_response
from client.sse import SSEParser
from client.submission import endpoint, prepare
from client.sync_job import Job
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


class Client(ClientBase[httpx.BaseTransport]):
    """``Client(base_url, api_key=... | token=... | username=..., password=...)``; a context manager.

    Generation methods take a request model or keyword fields and return a :class:`Job` at once; ``job.wait()``
    follows it to the end. Errors are :class:`~client.errors.SdqueueError` subclasses; 429 and 503 are retried
    after ``Retry-After`` within ``retry`` (a :class:`RetryPolicy`).
    """

    def _open(self, timeout: float, transport: httpx.BaseTransport | None) -> None:
        self._lock = threading.RLock()
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
        )

    # -- generation ---------------------------------------------------------------------------------------
    def txt2img(self, request: Txt2ImgRequest | None = None, /, **fields: Any) -> Job:
        return self._submit("txt2img", request, fields)

    def img2img(self, request: Img2ImgRequest | None = None, /, **fields: Any) -> Job:
        return self._submit("img2img", request, fields)

    def inpaint(self, request: InpaintRequest | None = None, /, **fields: Any) -> Job:
        return self._submit("inpaint", request, fields)

    def controlnet(self, request: ControlNetRequest | None = None, /, **fields: Any) -> Job:
        return self._submit("controlnet", request, fields)

    def upscale(self, request: UpscaleRequest | None = None, /, **fields: Any) -> Job:
        return self._submit("upscale", request, fields)

    def submit(self, request: AnyJobRequest) -> Job:
        """Any mode's request model, sent to its mode's endpoint."""
        return self._submit(request.mode, request, {})

    def upload(self, image: object) -> str:
        """Upload a path, bytes or a PIL image; returns its id (``upl_...``) for any image field."""
        return str(self._call(api.upload(image_file(image))).json()["id"])

    # -- reading ------------------------------------------------------------------------------------------
    def job(self, job_id: str) -> Job:
        """A handle on an existing job (its current view in ``.view``); NotFound when there is none."""
        job = Job(self, job_id)
        job.refresh()
        return job

    def job_view(self, job_id: str) -> JobView:
        return JobView.model_validate_json(self._call(api.job(job_id)).body)

    def jobs(
        self,
        status: str | None = None,
        mode: str | None = None,
        since: datetime | str | None = None,
        page: int = 1,
        limit: int = 20,
    ) -> JobPage:
        return JobPage.model_validate_json(self._call(api.jobs(status, mode, since, page, limit)).body)

    def cancel(self, job_id: str) -> CancelResult:
        return CancelResult.model_validate_json(self._call(api.cancel(job_id)).body)

    def models(self, type: ModelType | str | None = None, search: str | None = None) -> list[ModelEntry]:
        """Every installed model (all pages), optionally of one type or with ``search`` in its name."""
        entries: list[ModelEntry] = []
        page = 1
        while True:
            batch = ModelPage.model_validate_json(self._call(api.models(type, search, page)).body)
            entries += batch.items
            if not batch.items or len(entries) >= batch.total:
                return entries
            page += 1

    def queue(self) -> QueueView:
        return QueueView.model_validate_json(self._call(api.QUEUE).body)

    def me(self) -> Me:
        return Me.model_validate_json(self._call(api.ME).body)

    def version(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call(api.SERVER_VERSION).json()
        return result

    def download(self, path: str) -> bytes:
        """The bytes at a path the server gave (an image or thumbnail URL)."""
        return self._call(api.get(path)).body

    # -- lifecycle ------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driving flows ----------------------------------------------------------------------------------------
    def _submit(self, mode: str, request: Any, fields: Mapping[str, Any]) -> Job:
        submission = prepare(mode, request, fields)
        upload_ids = [self.upload(image) for _, image in submission.uploads]
        reply = self._call(api.submit(endpoint(mode), submission.filled(upload_ids)))
        accepted = JobAccepted.model_validate_json(reply.body)
        return Job(self, accepted.id, accepted=accepted)

    def _call(self, call: Call) -> Reply:
        reply: Reply = self._drive(exchange(call, self.credentials, self.retry))
        return reply

    def _drive(self, flow: Flow) -> Any:
        answer: Reply | None = None
        try:
            while True:
                step = flow.send(answer)
                answer = None
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                elif isinstance(step, Authenticate):
                    self._renew(step.stale, step.force)
                else:
                    answer = self._send(step)
        except StopIteration as stop:
            return stop.value

    def _renew(self, stale: str | None = None, force: bool = False) -> None:
        """Log in or refresh when due, one call at a time (a refresh token works once)."""
        with self._lock:
            self._drive(self.credentials.renew(self.retry, stale, force))

    def _send(self, call: Call) -> Reply:
        try:
            response = self._http.request(call.method, call.path, **call.options())
        except httpx.TransportError as exc:
            raise ConnectionFailed(connection_problem(self.base_url, exc)) from exc
        return Reply(response.status_code, response.headers, response.content)

    def _stream(self, follower: Follower) -> Generator[JobEvent, None, None]:
        """Events of one connection to the job's stream; StreamBroken when it fails or ends early."""
        self._renew()
        headers = {**follower.stream_headers(), **self.credentials.headers()}
        timeout = httpx.Timeout(10.0, read=follower.read_timeout())
        used = self.credentials.current_token()
        try:
            with self._http.stream("GET", follower.stream_path, headers=headers, timeout=timeout) as response:
                if response.status_code != 200:
                    error = error_from_response(response.status_code, response.headers, response.read())
                    if response.status_code == 401 and self.credentials.can_recover():
                        self._renew(used, force=True)
                        raise StreamBroken(0.0)
                    if is_transient(response.status_code):
                        raise StreamBroken(error.retry_after)
                    raise error
                parser = SSEParser()
                for line in response.iter_lines():
                    follower.check_deadline()
                    message = parser.feed(line)
                    if message is not None:
                        yield follower.accept(message)
        except httpx.TransportError as exc:
            raise StreamBroken() from exc
        raise StreamBroken()
