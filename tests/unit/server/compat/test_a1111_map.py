"""AUTOMATIC1111 API mappings: samplers with schedules, checkpoints, request fields, infotexts."""

from __future__ import annotations

import pytest

from schemas.compat.a1111 import A1111Img2Img, A1111Txt2Img
from schemas.requests import ResizeMode, ScheduleType
from server.compat.a1111_map import checkpoint_name, img2img_fields, parse_infotext, split_sampler, txt2img_fields


@pytest.mark.parametrize(
    ("name", "scheduler", "expected"),
    [
        ("DPM++ 2M Karras", None, ("dpmpp_2m", ScheduleType.KARRAS)),
        ("DPM++ 2M", "karras", ("dpmpp_2m", ScheduleType.KARRAS)),
        ("Euler a", "Automatic", ("euler_a", ScheduleType.AUTOMATIC)),
        ("Euler a Karras", None, ("euler_a", ScheduleType.AUTOMATIC)),  # a schedule the sampler cannot take
        ("euler", "SGM Uniform", ("euler", ScheduleType.AUTOMATIC)),  # a schedule sdqueue lacks
        (None, None, (None, ScheduleType.AUTOMATIC)),
        ("Restart", None, ("Restart", ScheduleType.AUTOMATIC)),  # left for the schema to refuse
    ],
)
def test_samplers_split_into_sampler_and_schedule(
    name: str | None, scheduler: str | None, expected: tuple[str | None, ScheduleType]
) -> None:
    assert split_sampler(name, scheduler) == expected


def test_checkpoint_titles_become_model_names() -> None:
    assert checkpoint_name("tiny.safetensors [0123abcd99]") == "tiny"
    assert checkpoint_name("my-model [abc123]") == "my-model"
    assert checkpoint_name("tiny") == "tiny"


def test_txt2img_is_lenient_with_nulls_unknown_keys_and_batches() -> None:
    body = A1111Txt2Img.model_validate(
        {
            "prompt": "x",
            "steps": None,
            "sampler_index": "Euler",
            "n_iter": 2,
            "batch_size": 3,
            "alwayson_scripts": {},
            "width": 100,
            "override_settings": {"CLIP_stop_at_last_layers": 2},
        }
    )
    fields = txt2img_fields(body)
    assert fields["batch_size"] == 6 and fields["sampler"] == "euler" and "steps" not in fields
    assert fields["width"] == 96 and fields["clip_skip"] == 2


def test_img2img_with_a_mask_is_inpainting() -> None:
    body = A1111Img2Img(init_images=["abc"], mask="def", inpainting_mask_invert=1, denoising_strength=0.4)
    mode, fields = img2img_fields(body)
    assert mode == "inpaint"
    assert (fields["image"], fields["mask"], fields["invert_mask"], fields["strength"]) == ("abc", "def", True, 0.4)
    mode, fields = img2img_fields(A1111Img2Img(init_images=["abc"], resize_mode=1))
    assert mode == "img2img" and fields["resize_mode"] is ResizeMode.CROP_AND_RESIZE


def test_infotexts_parse_like_a1111_png_info() -> None:
    text = 'a cat, <lora:x:1>\nNegative prompt: blur\nSteps: 2, Sampler: Euler a, Size: 64x48, Lora weights: "x: 1"'
    parsed = parse_infotext(text)
    assert parsed["Prompt"] == "a cat, <lora:x:1>" and parsed["Negative prompt"] == "blur"
    assert (parsed["Steps"], parsed["Sampler"], parsed["Size-1"], parsed["Size-2"]) == ("2", "Euler a", "64", "48")
    assert parsed["Lora weights"] == "x: 1"
