"""Image URLs through the real API and worker: an img2img job whose init_image is a URL on a test server that
``SDQ_FETCH_ALLOW_NETWORKS`` lets through runs end to end; validate fetches too; every refusal is a 422 naming the
field. Refusals of internal addresses run on the shared stack, which has no allow list."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import Stack
from tests.imageserver import ImageServer, serve

pytestmark = pytest.mark.integration


@pytest.fixture
def images() -> Iterator[ImageServer]:
    source = Image.fromarray(np.random.default_rng(4).integers(0, 255, (72, 96, 3), dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    with serve("127.0.0.1", png=buffer.getvalue()) as server:
        yield server


def post(stack: Stack, path: str, **body: object) -> requests.Response:
    return requests.post(stack.url(path), json={"prompt": "a red door", "steps": 2, **body}, timeout=30)


def field_error(response: requests.Response) -> tuple[list[str], str]:
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    return error["loc"], error["msg"]


def test_an_img2img_job_with_an_image_url_runs_end_to_end(make_stack, images: ImageServer) -> None:
    stack = make_stack(SDQ_FETCH_ALLOW_NETWORKS='["127.0.0.1/32"]')
    url = images.url("/image.png")
    valid = post(stack, "/api/v1/validate", mode="img2img", init_image=url)
    assert valid.status_code == 200, valid.text
    assert valid.json()["request"]["width"] == 96  # the fetched image's size
    response = post(stack, "/api/v1/generate/img2img", init_image=url, strength=0, seed=1)
    assert response.status_code == 202, response.text
    view = stack.wait_job(response.json()["id"])
    assert view["status"] == "finished", view["error"]
    assert (view["images"][0]["width"], view["images"][0]["height"]) == (96, 72)
    assert view["request"]["init_image"].startswith("upl_")  # the queued request names the stored copy, not the URL
    result = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    source = Image.open(io.BytesIO(images.png)).convert("RGB")
    assert np.array_equal(np.asarray(result.convert("RGB")), np.asarray(source))  # strength 0: the fetched image
    assert [seen.path for seen in images.seen] == ["/image.png", "/image.png"]  # validate, submit

    inpaint = post(
        stack,
        "/api/v1/generate/inpaint",
        image=url,
        mask=images.url("/missing"),
    )
    assert field_error(inpaint) == (["body", "mask"], "HTTP 404 from the URL")


def test_url_refusals_are_422_naming_the_field(make_stack, images: ImageServer) -> None:
    stack = make_stack(worker=False, SDQ_FETCH_ALLOW_NETWORKS='["127.0.0.1/32"]', SDQ_FETCH_TIMEOUT="1")
    with serve("127.0.0.2") as blocked:
        cases = {
            images.url("/missing"): "HTTP 404 from the URL",
            images.url("/text"): "not a readable image",
            images.url("/big?n=30000000"): "the image at the URL is larger than 20971520 bytes",
            images.url("/chunked?n=30000000"): "the image at the URL is larger than 20971520 bytes",
            images.url("/drip"): "timed out after 1 s",
            images.url("/loop"): "too many redirects (more than 3)",
            images.url("/redirect?to=http://169.254.169.254/latest/meta-data/"): (
                "refused: 169.254.169.254 is the link-local cloud metadata address "
                "(redirected to http://169.254.169.254/latest/meta-data/)"
            ),
            images.url(f"/redirect?to={blocked.url('/image.png')}"): "refused: 127.0.0.2 is a loopback address",
            blocked.url("/image.png"): "refused: 127.0.0.2 is a loopback address",
        }
        for url, message in cases.items():
            for path in ("/api/v1/generate/img2img", "/api/v1/validate"):
                loc, msg = field_error(post(stack, path, mode="img2img", init_image=url))
                assert loc == ["body", "init_image"], url
                assert message in msg, (url, msg)
        assert blocked.seen == []
    assert stack.get("/api/v1/queue")["counts"]["queued"] == 0


def test_without_an_allow_list_the_test_server_is_unreachable(stack: Stack, images: ImageServer) -> None:
    loc, msg = field_error(post(stack, "/api/v1/generate/img2img", init_image=images.url("/image.png")))
    assert (loc, msg) == (["body", "init_image"], "refused: 127.0.0.1 is a loopback address")
    image = "data:image/png;base64," + base64.b64encode(images.png).decode()
    loc, msg = field_error(post(stack, "/api/v1/validate", mode="inpaint", image=image, mask=images.url("/x")))
    assert (loc, msg) == (["body", "mask"], "refused: 127.0.0.1 is a loopback address")
    assert images.seen == []
