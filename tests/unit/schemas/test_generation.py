"""Txt2ImgRequest: defaults, limits, strict types, unknown fields, seeds of a batch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.generation import SEED_MAX, Sampler, Txt2ImgRequest, batch_seeds


def make_request(**overrides: object) -> Txt2ImgRequest:
    fields: dict[str, object] = {"prompt": "a red fox"}
    fields.update(overrides)
    return Txt2ImgRequest.model_validate(fields)


def error_fields(exc: ValidationError) -> list[str]:
    return [str(err["loc"][0]) for err in exc.errors()]


def test_defaults_follow_a1111() -> None:
    request = make_request()
    assert (request.width, request.height, request.steps, request.cfg_scale) == (512, 512, 20, 7.0)
    assert request.sampler is Sampler.EULER_A
    assert request.seed == -1
    assert request.batch_size == 1
    assert request.model is None
    assert request.mode == "txt2img"


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("width", [64, 2048, 520], [56, 2056, 65, 0]),
        ("height", [64, 2048], [63, 4096]),
        ("steps", [1, 150], [0, 151, -1]),
        ("cfg_scale", [0, 30, 7.5], [-0.1, 30.5]),
        ("seed", [-1, 0, SEED_MAX], [-2, SEED_MAX + 1]),
        ("batch_size", [1, 8], [0, 9]),
        ("prompt", ["x", "y" * 2000], ["", "   ", "z" * 2001]),
        ("negative_prompt", ["", "n" * 2000], ["n" * 2001]),
        ("model", ["sd15", "my_model-v1.5"], ["../x", ".hidden", "a/b", ""]),
    ],
)
def test_limits(field: str, good: list[object], bad: list[object]) -> None:
    for value in good:
        assert getattr(make_request(**{field: value}), field) == value
    for value in bad:
        with pytest.raises(ValidationError) as info:
            make_request(**{field: value})
        assert error_fields(info.value) == [field], value


@pytest.mark.parametrize(
    ("field", "value"), [("width", "512"), ("steps", 2.0), ("seed", True), ("prompt", 5), ("cfg_scale", "7")]
)
def test_types_are_strict(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        make_request(**{field: value})
    assert error_fields(info.value) == [field]


def test_cfg_scale_takes_an_integer() -> None:
    assert make_request(cfg_scale=7).cfg_scale == 7.0


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        make_request(denoise=0.5)
    assert error_fields(info.value) == ["denoise"]
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_every_sampler_has_an_a1111_label() -> None:
    assert {s.label for s in Sampler} >= {"Euler", "Euler a", "DDIM", "DPM++ 2M"}
    assert make_request(sampler="dpmpp_2m").sampler is Sampler.DPMPP_2M


def test_request_is_frozen() -> None:
    request = make_request()
    with pytest.raises(ValidationError):
        request.steps = 3  # type: ignore[misc]


def test_batch_seeds_are_consecutive_and_wrap() -> None:
    assert batch_seeds(10, 3) == [10, 11, 12]
    assert batch_seeds(SEED_MAX, 2) == [SEED_MAX, 0]
