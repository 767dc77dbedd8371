"""The OpenAI Images API facade, driven by the real ``openai`` SDK against a real stack (64x64, 2 steps)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import requests
from PIL import Image

from tests.conftest import RedisServer, Stack, create_api_key, launch_stack, wait_until

pytestmark = pytest.mark.integration

SMALL = "64x64"


_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def make_client(stack: Stack, key: str = "unused", **options: object) -> openai.OpenAI:
    """An SDK client for the stack's /v1 (no retries), closed after the test."""
    client = openai.OpenAI(api_key=key, base_url=stack.url("/v1"), max_retries=0, **options)  # type: ignore[arg-type]
    _CLIENTS.append(client)
    return client


def decode(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def create_key(stack: Stack, owner: str) -> str:
    return create_api_key(stack, owner, "openai")


@pytest.fixture(scope="module")
def open_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = launch_stack(
        redis_server.url, models_dir, tmp_path_factory.mktemp("openai"), SDQ_QUEUE_NAME="openai", SDQ_OPENAI_STEPS="2"
    )
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def keyed_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("openai-auth"),
        SDQ_QUEUE_NAME="openai-auth",
        SDQ_OPENAI_STEPS="2",
        SDQ_AUTH="api-key",
    )
    yield stack
    stack.stop()


def test_generations_b64_json_answers_decodable_pngs_of_the_asked_size(open_stack: Stack) -> None:
    """gpt-image-style call: n images, base64 PNGs, each carrying the A1111 parameters chunk."""
    answer = make_client(open_stack).images.generate(
        model="tiny", prompt="a red door", size=SMALL, n=2, response_format="b64_json"
    )
    assert len(answer.data) == 2
    images = [decode(item.b64_json) for item in answer.data]
    assert all(image.format == "PNG" and image.size == (64, 64) for image in images)
    assert "Steps: 2" in images[0].info["parameters"]


def test_dall_e_names_default_to_url_answers_that_download(open_stack: Stack) -> None:
    """dall-e-3 is an alias of the default model; without response_format the answer is a URL (OpenAI's rule)."""
    answer = make_client(open_stack).images.generate(model="dall-e-3", prompt="a blue boat", size=SMALL)
    url = answer.data[0].url
    assert url is not None and url.startswith(open_stack.base_url)
    image = Image.open(io.BytesIO(requests.get(url, timeout=10).content))
    assert image.size == (64, 64)


def test_output_format_webp_is_encoded_as_webp(open_stack: Stack) -> None:
    answer = make_client(open_stack).images.generate(
        model="gpt-image-1", prompt="a green hill", size=SMALL, output_format="webp", output_compression=80
    )
    assert decode(answer.data[0].b64_json).format == "WEBP"


def test_edits_repaint_the_transparent_mask_area_and_keep_the_rest(open_stack: Stack) -> None:
    """OpenAI masks: alpha 0 = edit. Far from the transparent square the input comes back bit for bit."""
    source = Image.new("RGB", (64, 64), (200, 40, 40))
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (32, 32, 64, 64))
    answer = make_client(open_stack).images.edit(
        model="tiny",
        image=("image.png", png_bytes(source), "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="a window",
        response_format="b64_json",
    )
    result = decode(answer.data[0].b64_json).convert("RGB")
    assert result.size == (64, 64)
    assert result.getpixel((2, 2)) == (200, 40, 40)
    assert result.getpixel((60, 60)) != (200, 40, 40)


def test_edits_of_an_opaque_image_without_mask_rework_the_whole_image(open_stack: Stack) -> None:
    """The image[] form field (the SDK's list form) works; no mask and no transparency: img2img at the asked size."""
    source = Image.new("RGB", (96, 96), (20, 160, 60))
    response = requests.post(
        open_stack.url("/v1/images/edits"),
        files=[("image[]", ("a.png", png_bytes(source), "image/png"))],
        data={"prompt": "a forest", "model": "tiny", "size": "64x64", "response_format": "b64_json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert decode(response.json()["data"][0]["b64_json"]).size == (64, 64)


def test_variations_answer_an_image_of_the_input_size(open_stack: Stack) -> None:
    source = Image.new("RGB", (64, 64), (10, 120, 200))
    with pytest.deprecated_call():  # the SDK marks variations deprecated (DALL-E 2 only); clients still send them
        answer = make_client(open_stack).images.create_variation(
            image=("image.png", png_bytes(source), "image/png"), model="tiny", response_format="b64_json"
        )
    assert decode(answer.data[0].b64_json).size == (64, 64)


def test_models_list_names_checkpoints_and_aliases(open_stack: Stack) -> None:
    ids = {model.id for model in make_client(open_stack).models.list()}
    assert {"tiny", "dall-e-3", "gpt-image-1"} <= ids


def test_a_size_sdqueue_cannot_make_is_a_bad_request_naming_size(open_stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        make_client(open_stack).images.generate(model="tiny", prompt="x", size="100x100")
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "size"  # type: ignore[index]


def test_an_unknown_model_is_a_bad_request_naming_model(open_stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        make_client(open_stack).images.generate(model="no-such-model", prompt="x", size=SMALL)
    assert caught.value.body["param"] == "model"  # type: ignore[index]


def test_errors_use_openai_shape_only_under_v1(open_stack: Stack) -> None:
    """A missing prompt is OpenAI's error body on /v1; the native API keeps its problem details."""
    facade = requests.post(open_stack.url("/v1/images/generations"), json={"size": SMALL}, timeout=10)
    assert facade.status_code == 400
    assert facade.json()["error"]["param"] == "prompt"
    native = requests.post(open_stack.url("/api/v1/generate/txt2img"), json={"width": 64}, timeout=10)
    assert native.status_code == 422 and native.headers["content-type"] == "application/problem+json"


def test_a_prompt_strict_safety_refuses_is_a_content_policy_bad_request(make_stack) -> None:
    """Refused at submit, before any job: no worker needed."""
    stack = make_stack(worker=False, SDQ_SAFETY_STRICT="true", SDQ_SAFETY_KEYWORDS='["zorblax"]')
    with pytest.raises(openai.BadRequestError) as caught:
        make_client(stack).images.generate(model="tiny", prompt="a zorblax in the rain", size=SMALL)
    assert caught.value.code == "content_policy_violation"
    assert stack.get("/api/v1/jobs")["items"] == []


def test_a_client_that_gives_up_cancels_its_job(make_stack) -> None:
    """No worker: the job stays queued; the SDK's timeout closes the connection and the job is canceled."""
    stack = make_stack(worker=False, SDQ_OPENAI_STEPS="2")
    with pytest.raises(openai.APITimeoutError):
        make_client(stack, timeout=1.5).images.generate(model="tiny", prompt="x", size=SMALL)

    def canceled() -> bool:
        jobs = stack.get("/api/v1/jobs")["items"]
        return bool(jobs) and jobs[0]["status"] == "canceled"

    wait_until(canceled, 10, "the abandoned job to be canceled")


def test_api_keys_work_as_bearer_and_azure_header_and_jobs_belong_to_their_owner(keyed_stack: Stack) -> None:
    alice, bob = create_key(keyed_stack, "alice"), create_key(keyed_stack, "bob")
    with pytest.raises(openai.AuthenticationError):
        make_client(keyed_stack, key="sdq_wrong").images.generate(model="tiny", prompt="x", size=SMALL)
    make_client(keyed_stack, key=alice).images.generate(
        model="tiny", prompt="a red door", size=SMALL, response_format="b64_json"
    )
    azure = requests.post(
        keyed_stack.url("/v1/images/generations?api-version=2024-02-01"),
        headers={"api-key": alice},
        json={"prompt": "a cat", "size": SMALL, "response_format": "url"},
        timeout=60,
    )
    assert azure.status_code == 200, azure.text
    signed = requests.get(azure.json()["data"][0]["url"], timeout=10)  # the link works without credentials
    assert signed.status_code == 200 and signed.headers["content-type"] == "image/png"

    def listed(key: str) -> list[dict[str, object]]:
        response = requests.get(keyed_stack.url("/api/v1/jobs"), headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert response.status_code == 200, response.text
        items: list[dict[str, object]] = response.json()["items"]
        return items

    assert [job["owner"] for job in listed(alice)] == ["alice", "alice"]
    assert listed(bob) == []
