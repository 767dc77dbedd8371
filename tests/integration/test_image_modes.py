"""img2img, inpaint and uploads through the real worker, and every bad input image refused with a 4xx naming
the field. (The tiny model's VAE is random, so closeness of low-strength img2img to the input cannot be asserted;
strength 0 returning the input exactly, and the step count following strength, can.)"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
import requests
from PIL import Image, ImageFilter

from tests.conftest import Stack, wait_until

pytestmark = pytest.mark.integration


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


def fetch(stack: Stack, view: dict, index: int = 0) -> np.ndarray:
    data = requests.get(stack.url(view["images"][index]["url"]), timeout=10).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def submit(stack: Stack, mode: str, **body: object) -> requests.Response:
    payload = {"prompt": "a red door", "steps": 2, **body}
    return requests.post(stack.url(f"/api/v1/generate/{mode}"), json=payload, timeout=30)


def run(stack: Stack, mode: str, **body: object) -> dict:
    response = submit(stack, mode, **body)
    assert response.status_code == 202, response.text
    return stack.wait_job(response.json()["id"])


def test_img2img_takes_the_input_size_and_strength_zero_returns_the_input(stack: Stack) -> None:
    source = noise(100, 75)
    view = run(stack, "img2img", init_image=data_url(encode(source)), strength=0.6, seed=3)
    assert view["status"] == "finished", view["error"]
    assert (view["images"][0]["width"], view["images"][0]["height"]) == (96, 72)  # rounded down to 8
    assert view["request"]["init_image"].startswith("upl_")  # the queued request names an upload, not base64
    unchanged = run(stack, "img2img", init_image=data_url(encode(source)), strength=0, seed=3)
    expected = np.asarray(source.resize((96, 72), Image.Resampling.LANCZOS)).astype(int)
    assert np.array_equal(fetch(stack, unchanged), expected)
    sized = run(
        stack,
        "img2img",
        init_image=data_url(encode(source)),
        width=128,
        height=64,
        resize_mode="crop_and_resize",
        seed=3,
    )
    assert (sized["images"][0]["width"], sized["images"][0]["height"]) == (128, 64)


def test_img2img_of_less_than_one_denoising_step_still_runs_one(stack: Stack) -> None:
    view = run(stack, "img2img", init_image=data_url(encode(noise(64, 64))), steps=1, strength=0.3, seed=1)
    assert view["status"] == "finished", view["error"]


def test_img2img_denoises_strength_times_steps(stack: Stack) -> None:
    view = run(stack, "img2img", init_image=data_url(encode(noise(64, 64))), steps=10, strength=0.3, seed=1)
    assert view["progress"]["total"] == 10
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Denoising strength: 0.3" in png.text["parameters"]


def test_inpaint_leaves_unmasked_pixels_exactly_as_they_were(stack: Stack) -> None:
    image = noise(64, 64, seed=5)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 24, 64))  # repaint the left part
    view = run(
        stack, "inpaint", image=data_url(encode(image)), mask=data_url(encode(mask)), mask_blur=4, strength=1.0, seed=2
    )
    assert view["status"] == "finished", view["error"]
    result, original = fetch(stack, view), np.asarray(image).astype(int)
    blurred = np.asarray(mask.filter(ImageFilter.GaussianBlur(4)))
    untouched = blurred == 0
    assert untouched.sum() >= 64 * 30
    assert np.array_equal(result[untouched], original[untouched])  # tolerance: none, bit for bit
    assert np.abs(result[blurred == 255] - original[blurred == 255]).mean() > 5
    inverted = run(
        stack,
        "inpaint",
        image=data_url(encode(image)),
        mask=data_url(encode(mask)),
        mask_blur=0,
        invert_mask=True,
        seed=2,
    )
    kept = np.asarray(mask) == 255  # inverted: the left part is now kept
    assert np.array_equal(fetch(stack, inverted)[kept], original[kept])


def test_uploads_are_used_by_id(stack: Stack) -> None:
    upload = requests.post(stack.url("/api/v1/uploads"), files={"file": ("a.png", encode(noise(80, 64)))}, timeout=10)
    assert upload.status_code == 201
    body = upload.json()
    assert body["id"].startswith("upl_") and (body["width"], body["height"]) == (80, 64)
    view = run(stack, "img2img", init_image=body["id"], strength=0.5, seed=1)
    assert view["status"] == "finished" and view["images"][0]["width"] == 80
    unknown = submit(stack, "img2img", init_image="upl_" + "0" * 32)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "init_image"]


def bomb_png() -> bytes:
    """A real 1x1 PNG whose header claims 50000x50000 pixels."""
    data = bytearray(encode(Image.new("RGB", (1, 1))))
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", 50_000, 50_000)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (data_url(b"hello, not an image"), "not a readable image"),
        ("data:image/png;base64,", "empty"),
        (data_url(encode(noise(64, 64))[:300]), "truncated"),
        (data_url(bomb_png()), "more than"),
        ("@@@ not base64 @@@", "base64"),
        ("http://127.0.0.1/secret.png", "refused: 127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "refused: 169.254.169.254 is the link-local cloud metadata"),
        ("http://[::1]:8000/a.png", "refused: ::1 is a loopback address"),
        ("http://10.0.0.1/a.png", "refused: 10.0.0.1 is a private address"),
        ("http://localhost:8000/a.png", "refused: localhost is a local host name"),
        ("gopher://example.com/", "only http and https"),
    ],
)
def test_bad_images_are_422_naming_the_field(stack: Stack, value: str, reason: str) -> None:
    response = submit(stack, "img2img", init_image=value)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "init_image"]
    assert reason in error["msg"]


def test_other_bad_fields_of_the_image_modes(stack: Stack) -> None:
    image = data_url(encode(noise(64, 64)))
    assert submit(stack, "img2img", init_image=image, strength=1.5).json()["errors"][0]["loc"] == ["body", "strength"]
    assert submit(stack, "img2img").json()["errors"][0]["loc"] == ["body", "init_image"]
    mismatch = submit(stack, "inpaint", image=image, mask=data_url(encode(Image.new("L", (32, 32)))))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["loc"] == ["body", "mask"]
    assert "same size" in mismatch.json()["errors"][0]["msg"]


def test_image_byte_limit(make_stack) -> None:
    small = make_stack(worker=False, SDQ_MAX_IMAGE_BYTES="2048")
    response = submit(small, "img2img", init_image=data_url(encode(noise(64, 64))))
    assert response.status_code == 422 and "limit is 2048" in response.json()["errors"][0]["msg"]


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (encode(Image.new("CMYK", (40, 30), (0, 255, 0, 0)), "JPEG"), (40, 30)),
        (encode(Image.new("I;16", (40, 30), 40000)), (40, 30)),
        (encode(Image.new("P", (40, 30), 3)), (40, 30)),
        (encode(Image.new("RGBA", (40, 30), (255, 0, 0, 0))), (40, 30)),
        (
            encode(Image.new("RGB", (40, 30)), "GIF", save_all=True, append_images=[Image.new("RGB", (40, 30), "red")]),
            (40, 30),
        ),
    ],
    ids=["cmyk", "16-bit", "palette", "alpha", "animated-gif-first-frame"],
)
def test_unusual_modes_are_converted(stack: Stack, data: bytes, size: tuple[int, int]) -> None:
    upload = requests.post(stack.url("/api/v1/uploads"), files={"file": ("x", data)}, timeout=10)
    assert upload.status_code == 201, upload.text
    assert (upload.json()["width"], upload.json()["height"]) == size


def test_exif_orientation_is_applied(stack: Stack) -> None:
    image = Image.new("RGB", (40, 20), "blue")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(image, "JPEG", exif=exif.tobytes())
    upload = requests.post(stack.url("/api/v1/uploads"), files={"file": ("x.jpg", data)}, timeout=10).json()
    assert (upload["width"], upload["height"]) == (20, 40)


def test_differential_img2img_follows_the_change_map(stack: Stack) -> None:
    """All black: the input unchanged. Left white, right black: the right half is the input bit for bit and the
    left half changes. A grey map changes less than a white one."""
    source = noise(64, 64, seed=9)
    original = np.asarray(source).astype(int)
    init = data_url(encode(source))
    black = run(
        stack,
        "img2img",
        init_image=init,
        change_map=data_url(encode(Image.new("L", (64, 64), 0))),
        strength=1.0,
        steps=4,
        seed=1,
    )
    assert black["status"] == "finished", black["error"]
    assert np.array_equal(fetch(stack, black), original)

    half = Image.new("L", (64, 64), 0)
    half.paste(255, (0, 0, 32, 64))
    split = fetch(
        stack, run(stack, "img2img", init_image=init, change_map=data_url(encode(half)), strength=1.0, steps=4, seed=1)
    )
    assert np.array_equal(split[:, 32:], original[:, 32:])
    assert np.abs(split[:, :32] - original[:, :32]).mean() > 5

    grey = run(
        stack,
        "img2img",
        init_image=init,
        change_map=data_url(encode(Image.new("L", (64, 64), 128))),
        strength=1.0,
        steps=4,
        seed=1,
    )
    white = run(
        stack,
        "img2img",
        init_image=init,
        change_map=data_url(encode(Image.new("L", (64, 64), 255))),
        strength=1.0,
        steps=4,
        seed=1,
    )
    assert grey["status"] == white["status"] == "finished"
    assert not np.array_equal(fetch(stack, grey), fetch(stack, white))
    mismatch = submit(stack, "img2img", init_image=init, change_map=data_url(encode(Image.new("L", (32, 32)))))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["loc"] == ["body", "change_map"]


def test_inpaint_only_masked_repaints_the_box_at_full_resolution(stack: Stack) -> None:
    """inpaint_full_res: the box around the mask is repainted at width x height and pasted back; the output keeps
    the image's size (150x90, no multiple of 8), unmasked pixels are the input's bit for bit, masked ones change."""
    image = noise(150, 90, seed=12)
    mask = Image.new("L", (150, 90), 0)
    mask.paste(255, (100, 20, 130, 60))
    body = {"image": data_url(encode(image)), "mask": data_url(encode(mask)), "width": 64, "height": 64}
    view = run(stack, "inpaint", **body, mask_blur=2, strength=1.0, inpaint_full_res=True, seed=4)
    assert view["status"] == "finished", view["error"]
    assert (view["images"][0]["width"], view["images"][0]["height"]) == (150, 90)
    result, original = fetch(stack, view), np.asarray(image).astype(int)
    assert result.shape == original.shape
    blurred = np.asarray(mask.filter(ImageFilter.GaussianBlur(2)))
    assert np.array_equal(result[blurred == 0], original[blurred == 0])
    assert np.abs(result[blurred == 255] - original[blurred == 255]).mean() > 5
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Size: 64x64" in png.text["parameters"]
    assert "Inpaint area: Only masked, Masked area padding: 32" in png.text["parameters"]

    black = data_url(encode(Image.new("L", (150, 90), 0)))
    empty = submit(stack, "inpaint", **{**body, "mask": black}, inpaint_full_res=True)
    assert empty.status_code == 422, empty.text
    assert empty.json()["errors"][0]["loc"] == ["body", "mask"]
    assert "the mask selects nothing" in empty.json()["errors"][0]["msg"]
    white = data_url(encode(Image.new("L", (150, 90), 255)))
    inverted = submit(stack, "inpaint", **{**body, "mask": white}, invert_mask=True, inpaint_full_res=True)
    assert "selects nothing: it is black everywhere after invert_mask" in inverted.json()["errors"][0]["msg"]
    assert submit(stack, "inpaint", **{**body, "mask": black}).status_code == 202  # whole picture: allowed
    padding = submit(stack, "inpaint", **body, inpaint_full_res=True, inpaint_full_res_padding=257)
    assert padding.json()["errors"][0]["loc"] == ["body", "inpaint_full_res_padding"]


@pytest.fixture
def unload_inpainting_model(stack: Stack):
    """Leave the shared stack's worker with only its default model resident, as other tests expect."""
    yield
    answer = requests.post(stack.url("/api/v1/models/checkpoint:tiny-inpaint/unload"), timeout=10)
    assert answer.status_code == 202, answer.text
    link = answer.json()["links"]["self"]
    wait_until(lambda: stack.get(link)["status"] in ("finished", "failed"), 60, "unload of tiny-inpaint")


@pytest.mark.usefixtures("unload_inpainting_model")
def test_the_9_channel_inpainting_checkpoint_runs_inpaint_jobs(stack: Stack) -> None:
    image = noise(64, 64, seed=6)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    original, kept = np.asarray(image).astype(int), np.asarray(mask) == 0
    for full_res in (False, True):
        view = run(
            stack,
            "inpaint",
            model="tiny-inpaint",
            image=data_url(encode(image)),
            mask=data_url(encode(mask)),
            mask_blur=0,
            strength=1.0,
            inpaint_full_res=full_res,
            seed=8,
        )
        assert view["status"] == "finished", view["error"]
        assert view["model"] == "tiny-inpaint"
        result = fetch(stack, view)
        assert np.array_equal(result[kept], original[kept])
        assert np.abs(result[~kept] - original[~kept]).mean() > 5
    refused = stack.submit(model="tiny-inpaint")
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "model"]
    assert "inpainting model" in refused.json()["errors"][0]["msg"]
