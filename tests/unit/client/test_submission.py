"""Building submits: request models or keyword fields, exclude_unset bodies, image upload slots."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from client.errors import InvalidRequest
from client.images import image_file, is_local_image
from client.submission import PLACEHOLDER, prepare
from schemas.requests import Img2ImgRequest, Txt2ImgRequest


def test_a_model_is_sent_with_only_its_set_fields() -> None:
    submission = prepare("txt2img", Txt2ImgRequest(prompt="x", seed=3), {})
    assert submission.body == {"prompt": "x", "seed": 3} and submission.uploads == []


def test_keyword_fields_are_validated_into_the_model_and_sent_as_json() -> None:
    submission = prepare("txt2img", None, {"prompt": "x", "sampler": "DPM++ 2M", "width": 768})
    assert submission.body == {"prompt": "x", "sampler": "dpmpp_2m", "width": 768}


def test_a_refused_field_raises_invalid_request_before_anything_is_sent() -> None:
    with pytest.raises(InvalidRequest) as refused:
        prepare("txt2img", None, {"prompt": "x", "width": 65, "steps": 0})
    assert set(refused.value.fields) == {"width", "steps"}
    assert refused.value.problem.errors[0].loc[0] == "body"


def test_model_and_fields_together_or_the_wrong_model_are_type_errors() -> None:
    with pytest.raises(TypeError):
        prepare("txt2img", Txt2ImgRequest(prompt="x"), {"seed": 1})
    with pytest.raises(TypeError):
        prepare("img2img", Txt2ImgRequest(prompt="x"), {})


def test_local_images_become_upload_slots_others_are_sent_as_given(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)
    image = Image.new("RGB", (8, 8))
    units = [{"controlnet": "cn", "control_image": str(path)}, {"controlnet": "cn", "control_image": "upl_" + "1" * 32}]
    submission = prepare("controlnet", None, {"prompt": "x", "controlnets": units, "init_image": image})
    assert [slot for slot, _ in submission.uploads] == [("init_image",), ("controlnets", 0, "control_image")]
    assert submission.body["init_image"] == PLACEHOLDER
    body = submission.filled(["upl_a", "upl_b"])
    assert body["init_image"] == "upl_a" and body["controlnets"][0]["control_image"] == "upl_b"
    assert body["controlnets"][1]["control_image"] == "upl_" + "1" * 32
    assert submission.body["init_image"] == PLACEHOLDER  # filling makes a copy


def test_what_counts_as_a_local_image(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    assert is_local_image(path) and is_local_image(str(path)) and is_local_image(b"\x89PNG")
    assert is_local_image(Image.new("RGB", (2, 2)))
    for value in ("upl_" + "0" * 32, "data:image/png;base64,AAAA", "https://example.com/a.png", "aGVsbG8="):
        assert not is_local_image(value)


def test_pil_images_are_uploaded_as_png() -> None:
    name, data, media = image_file(Image.new("RGB", (3, 2), "red"))
    assert (name, media) == ("image.png", "image/png")
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.size == (3, 2)


def test_img2img_keeps_optional_sizes_unset() -> None:
    body = prepare("img2img", Img2ImgRequest(prompt="x", init_image="upl_" + "0" * 32), {}).body
    assert "width" not in body and "height" not in body
