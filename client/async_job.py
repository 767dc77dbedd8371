"""A submitted job, seen from the async client: the same methods as :class:`~client.sync_job.Job`, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

import anyio

from client.base import JobBase
from client.errors import ConnectionFailed, Unavailable, WaitTimeout, local_problem
from client.events import Follower, JobEvent, StreamBroken
from client.images import open_image, save_plan
from schemas.jobs import CancelResult, JobView

if TYPE_CHECKING:
    from PIL.Image import Image

    from client.async_client import AsyncClient


class AsyncJob(JobBase["AsyncClient"]):
    client: AsyncClient

    async def refresh(self) -> JobView:
        self.view = await self.client.job_view(self.id)
        return self.view

    async def cancel(self) -> CancelResult:
        return await self.client.cancel(self.id)

    async def events(self, timeout: float | None = None) -> AsyncIterator[JobEvent]:
        """The job's events up to and including the terminal one; see :meth:`client.sync_job.Job.events`."""
        follower = Follower(self.id, timeout, **self.client.follow_options)
        while True:
            follower.check_deadline()
            if follower.polling:
                async for event in self._poll_once(follower):
                    yield event
                if self.view is not None and self.view.status.is_terminal:
                    return
                continue
            retry_after = None
            stream = self.client._stream(follower)
            try:
                async for event in stream:
                    yield event
                    if event.is_terminal:
                        self.view = event.view
                        return
            except StreamBroken as broken:
                retry_after = broken.retry_after
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
            await anyio.sleep(follower.stream_broke(retry_after))

    async def _poll_once(self, follower: Follower) -> AsyncIterator[JobEvent]:
        try:
            view = await self.refresh()
        except (Unavailable, ConnectionFailed):
            await anyio.sleep(follower.poll_delay())
            return
        for event in follower.polled(view):
            yield event
        if not view.status.is_terminal:
            await anyio.sleep(follower.poll_delay())

    async def wait(self, timeout: float | None = None) -> JobView:
        async for event in self.events(timeout):
            if event.is_terminal and event.view is not None:
                return event.view
        raise WaitTimeout(local_problem("wait_timeout", f"job {self.id}: the events ended without an end"))

    @overload
    async def images(
        self, *, as_pil: Literal[False] = False, thumbnails: bool = False, timeout: float | None = None
    ) -> list[bytes]: ...
    @overload
    async def images(
        self, *, as_pil: Literal[True], thumbnails: bool = False, timeout: float | None = None
    ) -> list[Image]: ...
    async def images(
        self, *, as_pil: bool = False, thumbnails: bool = False, timeout: float | None = None
    ) -> list[bytes] | list[Image]:
        view = await self._final(timeout)
        data = [await self.client.download(image.thumbnail_url if thumbnails else image.url) for image in view.images]
        return [open_image(item) for item in data] if as_pil else data

    async def save(self, folder: str | Path, *, thumbnails: bool = False, timeout: float | None = None) -> list[Path]:
        written = []
        for url, path in save_plan(await self._final(timeout), folder, thumbnails):
            path.write_bytes(await self.client.download(url))
            written.append(path)
        return written

    async def _final(self, timeout: float | None) -> JobView:
        if self.view is not None and self.view.status.is_terminal:
            return self.view
        return await self.wait(timeout)
