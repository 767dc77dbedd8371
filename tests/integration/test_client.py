"""The Python client (sync and async) against a real API, worker and Redis with the tiny model."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from client import (
    AsyncClient,
    Client,
    InvalidRequest,
    NotFound,
    RetryPolicy,
    Unauthorized,
    Unavailable,
    UnknownModel,
)
from schemas.jobs import JobStatus
from schemas.requests import Txt2ImgRequest
from tests.conftest import LocalRedis, Stack, launch_stack, run_cli, wait_until

pytestmark = pytest.mark.integration

SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 2}
LONG: dict[str, Any] = {"width": 512, "height": 512, "steps": 150}


def picture(size: tuple[int, int] = (64, 64), color: str = "red") -> Image.Image:
    return Image.new("RGB", size, color)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_txt2img_follows_events_and_downloads_pngs_with_infotext(stack: Stack, tmp_path: Path) -> None:
    """Keyword fields become a job; its events run queued/started/progress to finished; images come as PNG bytes
    (with the A1111 'parameters' chunk), as PIL images, as thumbnails, and saved to a folder."""
    with Client(stack.base_url) as sd:
        job = sd.txt2img(prompt="a lighthouse at dusk", seed=42, batch_size=2, **SMALL)
        events = list(job.events(timeout=60))
        assert events[-1].event == "finished" and events[-1].view is not None
        assert "progress" in {event.event for event in events}
        assert job.view is not None and job.view.status is JobStatus.FINISHED
        assert job.view.seeds == [42, 43]
        data = job.images()
        assert [blob[:8] for blob in data] == [b"\x89PNG\r\n\x1a\n"] * 2
        assert "Seed: 42" in Image.open(io.BytesIO(data[0])).info["parameters"]
        assert [image.size for image in job.images(as_pil=True)] == [(64, 64)] * 2
        assert job.images(thumbnails=True)[0][:4] == b"RIFF"
        saved = job.save(tmp_path, thumbnails=True)
        assert sorted(p.name for p in saved) == sorted(
            [f"{job.id}-0.png", f"{job.id}-0.webp", f"{job.id}-1.png", f"{job.id}-1.webp"]
        )
        assert saved[0].read_bytes() == data[0]  # saved as downloaded: the infotext stays


def test_a_request_model_is_sent_with_only_its_set_fields(stack: Stack) -> None:
    """A Txt2ImgRequest is sent as model_dump(exclude_unset=True): the job's request has the server's defaults."""
    with Client(stack.base_url) as sd:
        view = sd.txt2img(Txt2ImgRequest(prompt="a red door", seed=7, **SMALL)).wait(timeout=60)
    assert view.status is JobStatus.FINISHED, view.error
    assert view.request.mode == "txt2img" and view.request.seed == 7 and view.request.cfg_scale == 7.0


def test_image_modes_upload_paths_bytes_and_pil_images(stack: Stack, tmp_path: Path) -> None:
    """img2img takes a PIL image, inpaint a path and bytes, upscale an upload id, ControlNet a path in a unit:
    each is uploaded first and the queued request names an upload."""
    source = tmp_path / "source.png"
    picture().save(source)
    mask = png(Image.new("L", (64, 64), 255))
    with Client(stack.base_url) as sd:
        uploaded = sd.upload(picture(color="blue"))
        assert uploaded.startswith("upl_")
        jobs = [
            sd.img2img(prompt="watercolor", init_image=picture(), strength=0.5, steps=2),
            sd.inpaint(prompt="a door", image=source, mask=mask, steps=2),
            sd.upscale(image=uploaded, scale=2),
            sd.controlnet(
                prompt="a house", controlnets=[{"controlnet": "tiny-cn", "control_image": str(source)}], steps=2
            ),
        ]
        views = [job.wait(timeout=120) for job in jobs]
    assert [view.status for view in views] == [JobStatus.FINISHED] * 4, [view.error for view in views]
    assert views[0].request.init_image.startswith("upl_")  # type: ignore[union-attr]
    assert views[1].request.mask.startswith("upl_")  # type: ignore[union-attr]
    assert (views[2].images[0].width, views[2].images[0].height) == (128, 128)
    assert views[3].request.controlnets[0].control_image.startswith("upl_")  # type: ignore[union-attr]


def test_reading_jobs_queue_and_models(stack: Stack) -> None:
    """job(id), jobs(...), queue() and models(type=...) answer with the project's view models."""
    with Client(stack.base_url) as sd:
        done = sd.txt2img(prompt="a boat", seed=1, **SMALL)
        done.wait(timeout=60)
        again = sd.job(done.id)
        assert again.view is not None and again.view.status is JobStatus.FINISHED
        page = sd.jobs(status="finished", limit=100)
        assert done.id in {item.id for item in page.items}
        assert sd.queue().workers_alive >= 1
        names = {entry.name for entry in sd.models(type="checkpoint")}
        assert {"tiny", "tiny-inpaint"} <= names
        assert {entry.type.value for entry in sd.models(type="upscaler")} == {"upscaler"}


def test_cancel_a_running_job_ends_canceled(stack: Stack) -> None:
    with Client(stack.base_url) as sd:
        job = sd.txt2img(prompt="a long one", **LONG)
        for event in job.events(timeout=120):
            if event.event == "progress" and (event.step or 0) >= 1:
                break
        job.cancel()
        assert job.wait(timeout=60).status is JobStatus.CANCELED


def test_errors_are_typed_and_name_the_field(stack: Stack) -> None:
    """A bad field is refused before sending (InvalidRequest.fields); an unknown model by the server
    (UnknownModel, an InvalidRequest); an unknown job is NotFound."""
    with Client(stack.base_url) as sd:
        with pytest.raises(InvalidRequest) as local:
            sd.txt2img(prompt="x", width=65)
        assert list(local.value.fields) == ["width"] and local.value.problem.status == 422
        with pytest.raises(UnknownModel) as remote:
            sd.txt2img(prompt="x", model="no-such-model", **SMALL)
        assert "model" in remote.value.fields
        with pytest.raises(NotFound):
            sd.job("0" * 32)
        with pytest.raises(InvalidRequest) as image:
            sd.img2img(prompt="x", init_image=b"not an image", steps=2)
        assert "file" in image.value.fields or image.value.problem.errors


def test_async_client_does_what_the_sync_client_does(stack: Stack, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncClient(stack.base_url) as sd:
            job = await sd.txt2img(prompt="a lighthouse", seed=5, **SMALL)
            seen = [event.event async for event in job.events(timeout=60)]
            assert seen[-1] == "finished"
            images = await job.images(as_pil=True)
            assert images[0].size == (64, 64)
            assert len(await job.save(tmp_path)) == 1
            upload = await sd.upload(png(picture()))
            edited = await (await sd.img2img(prompt="x", init_image=upload, steps=2)).wait(timeout=60)
            assert edited.status is JobStatus.FINISHED
            assert (await sd.job(job.id)).view is not None
            assert job.id in {item.id for item in (await sd.jobs(limit=100)).items}
            assert (await sd.queue()).workers_alive >= 1
            assert "tiny" in {entry.name for entry in await sd.models(type="checkpoint")}
            long = await sd.txt2img(prompt="long", **LONG)
            async for event in long.events(timeout=120):
                if event.event == "progress" and (event.step or 0) >= 1:
                    break
            await long.cancel()
            assert (await long.wait(timeout=60)).status is JobStatus.CANCELED
            with pytest.raises(InvalidRequest):
                await sd.txt2img(prompt="x", steps=0)
            with pytest.raises(NotFound):
                await sd.job("0" * 32)

    asyncio.run(scenario())


def test_a_503_during_a_redis_outage_is_retried_until_redis_is_back(
    local_redis: LocalRedis, models_dir: Path, tmp_path: Path
) -> None:
    """Redis stopped: queue() waits out the 503s (Retry-After) and answers once Redis is back; without retries
    the same call raises Unavailable at once."""
    stack = launch_stack(local_redis.url, models_dir, tmp_path / "data", worker=False)
    try:
        with Client(stack.base_url, retry=RetryPolicy(max_retries=10, max_wait=60)) as sd:
            sd.queue()
            local_redis.stop()
            with (
                pytest.raises(Unavailable) as refused,
                Client(stack.base_url, retry=RetryPolicy(max_retries=0)) as once,
            ):
                once.queue()
            assert refused.value.retry_after == 2
            result: dict[str, Any] = {}
            caller = threading.Thread(target=lambda: result.setdefault("queue", sd.queue()))
            started = time.monotonic()
            caller.start()
            time.sleep(3)
            assert caller.is_alive() and "queue" not in result  # still retrying
            local_redis.start()
            caller.join(timeout=30)
            assert "queue" in result and time.monotonic() - started < 30
    finally:
        stack.stop()


def test_the_access_token_is_refreshed_before_it_expires(make_stack) -> None:
    """Auth on, 30 s access tokens: a username/password client logs in once, then trades its refresh token for a
    new pair when the token nears its end, and calls go on working; a wrong password is Unauthorized."""
    stack = make_stack(worker=False, SDQ_AUTH="jwt", SDQ_ACCESS_TOKEN_TTL="30")
    added = run_cli(stack, "users", "add", "carol", "--password-stdin", stdin="carol-password-1\n")
    assert added.returncode == 0, added.stderr
    with Client(stack.base_url, username="carol", password="carol-password-1", refresh_margin=28) as sd:
        assert sd.me().user == "carol"
        first = sd.credentials.token
        assert sd.credentials.logins == 1 and sd.credentials.refreshes == 0
        wait_until(lambda: sd.credentials.is_due(), 10, "the refresh margin")
        assert sd.queue().counts is not None
        assert sd.credentials.refreshes == 1 and sd.credentials.token != first
        sd.credentials.token = "not-a-token"  # a refused token: renewed once, and the call is sent again
        assert sd.me().user == "carol"

    async def refreshed() -> int:
        async with AsyncClient(stack.base_url, username="carol", password="carol-password-1", refresh_margin=28) as a:
            await a.me()
            wait_until(lambda: a.credentials.is_due(), 10, "the refresh margin")
            await a.me()
            return a.credentials.refreshes

    assert asyncio.run(refreshed()) == 1
    with pytest.raises(Unauthorized), Client(stack.base_url, username="carol", password="wrong-password") as bad:
        bad.me()
