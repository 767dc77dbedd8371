"""Txt2ImgRequest: defaults, limits, strict types, unknown fields, seeds of a batch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.requests import SEED_MAX, Sampler, Txt2ImgRequest, batch_seeds


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


def tags(count: int, weight: str = "0.5") -> str:
    return " ".join(f"<lora:style{i}:{weight}>" for i in range(count))


def test_prompt_lora_tags_count_with_the_loras_field() -> None:
    """Tags in the prompt and entries in `loras` together may name at most 8 LoRAs; the refusal names `loras`."""
    make_request(prompt="a fox " + tags(4), loras=[{"name": f"extra{i}"} for i in range(4)])
    with pytest.raises(ValidationError) as caught:
        make_request(prompt="a fox " + tags(5), loras=[{"name": f"extra{i}"} for i in range(4)])
    assert error_fields(caught.value) == ["loras"]
    assert "make 9 LoRAs; at most 8" in caught.value.errors()[0]["msg"]


def test_more_than_eight_prompt_tags_are_refused_naming_prompt() -> None:
    """Nine tags alone are too many, with or without the `loras` field."""
    with pytest.raises(ValidationError) as caught:
        make_request(prompt="a fox " + tags(9))
    assert error_fields(caught.value) == ["prompt"]


@pytest.mark.parametrize("weight", ["9", "-4.5", "99999999999999999999"])
def test_a_tag_weight_out_of_range_is_refused_naming_prompt(weight: str) -> None:
    """A tag's weight outside -4..4 is a validation error on `prompt` (it used to fail at submit with a 500)."""
    with pytest.raises(ValidationError) as caught:
        make_request(prompt=f"a fox <lora:style:{weight}>")
    assert error_fields(caught.value) == ["prompt"]
    assert "-4..4" in caught.value.errors()[0]["msg"]


def test_a_loras_weight_out_of_range_is_refused_naming_the_entry() -> None:
    """`loras[i].weight` outside -4..4 names that entry's weight."""
    with pytest.raises(ValidationError) as caught:
        make_request(loras=[{"name": "style", "weight": 4.5}])
    assert [err["loc"] for err in caught.value.errors()] == [("loras", 0, "weight")]


def test_tags_within_range_are_split_from_the_prompt() -> None:
    """Valid tags still become adapters after the field's own."""
    prompt, loras = make_request(prompt="a fox <lora:style:-4> <lora:ink:4>", loras=[{"name": "base"}]).all_loras()
    assert prompt == "a fox"
    assert [(lora.name, lora.weight) for lora in loras] == [("base", 1.0), ("style", -4.0), ("ink", 4.0)]
