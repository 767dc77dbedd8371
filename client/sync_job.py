"""A submitted job, seen from the blocking client: follow it, wait for it, cancel it, fetch its images."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from client.base import JobBase
from client.errors import ConnectionFailed, Unavailable, WaitTimeout, local_problem
from client.events import Follower, JobEvent, StreamBroken
from client.images import open_image, save_plan
from schemas.jobs import CancelResult, JobView

if TYPE_CHECKING:
    from PIL.Image import Image

    from client.sync_client import Client


class Job(JobBase["Client"]):
    client: Client

    def refresh(self) -> JobView:
        """Fetch the job's current view (also kept in ``.view``)."""
        self.view = self.client.job_view(self.id)
        return self.view

    def cancel(self) -> CancelResult:
        """Queued: leaves the queue at once (``canceled``); running: stops at its next step (``started``)."""
        return self.client.cancel(self.id)

    def events(self, timeout: float | None = None) -> Iterator[JobEvent]:
        """The job's events up to and including the terminal one (``finished | failed | canceled``).

        Follows ``/events`` and reconnects with ``Last-Event-ID`` when the stream breaks; after a few failures
        in a row it polls the job instead. Raises WaitTimeout after ``timeout`` seconds."""
        follower = Follower(self.id, timeout, **self.client.follow_options)
        while True:
            follower.check_deadline()
            if follower.polling:
                yield from self._poll_once(follower)
                if self.view is not None and self.view.status.is_terminal:
                    return
                continue
            retry_after = None
            try:
                with closing(self.client._stream(follower)) as stream:
                    for event in stream:
                        if event.is_terminal:
                            self.view = event.view
                        yield event
                        if event.is_terminal:
                            return
            except StreamBroken as broken:
                retry_after = broken.retry_after
            time.sleep(follower.stream_broke(retry_after))

    def _poll_once(self, follower: Follower) -> Iterator[JobEvent]:
        try:
            view = self.refresh()
        except (Unavailable, ConnectionFailed):
            time.sleep(follower.poll_delay())
            return
        yield from follower.polled(view)
        if not view.status.is_terminal:
            time.sleep(follower.poll_delay())

    def wait(self, timeout: float | None = None) -> JobView:
        """Follow the job until it ends; returns its final view (check ``status``: finished, failed, canceled)."""
        for event in self.events(timeout):
            if event.is_terminal and event.view is not None:
                return event.view
        raise WaitTimeout(local_problem("wait_timeout", f"job {self.id}: the events ended without an end"))

    @overload
    def images(
        self, *, as_pil: Literal[False] = False, thumbnails: bool = False, timeout: float | None = None
    ) -> list[bytes]: ...
    @overload
    def images(
        self, *, as_pil: Literal[True], thumbnails: bool = False, timeout: float | None = None
    ) -> list[Image]: ...
    def images(
        self, *, as_pil: bool = False, thumbnails: bool = False, timeout: float | None = None
    ) -> list[bytes] | list[Image]:
        """Download the images (PNG bytes with their infotext, or WebP thumbnails); waits for the end first."""
        view = self._final(timeout)
        data = [self.client.download(image.thumbnail_url if thumbnails else image.url) for image in view.images]
        return [open_image(item) for item in data] if as_pil else data

    def save(self, folder: str | Path, *, thumbnails: bool = False, timeout: float | None = None) -> list[Path]:
        """Write the PNGs as downloaded (``<job id>-<n>.png``; ``.webp`` thumbnails too when asked)."""
        written = []
        for url, path in save_plan(self._final(timeout), folder, thumbnails):
            path.write_bytes(self.client.download(url))
            written.append(path)
        return written

    def _final(self, timeout: float | None) -> JobView:
        if self.view is not None and self.view.status.is_terminal:
            return self.view
        return self.wait(timeout)
