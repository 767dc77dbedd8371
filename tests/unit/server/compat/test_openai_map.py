"""OpenAI Images API mappings: sizes, aliases, response formats, masks, error bodies."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from schemas.errors import ContentBlocked, ModelNotFound, RequestInvalid, Unauthorized
from server.compat.openai_map import (
    default_format,
    encode_output,
    error_from_problem,
    is_partly_transparent,
    mask_from_alpha,
    parse_size,
    resolve_model,
)

ALIASES = {"dall-e-3": "", "house": "tiny"}


@pytest.mark.parametrize(("size", "expected"), [("512x512", (512, 512)), ("1792x1024", (1792, 1024)), ("auto", None)])
def test_sizes_sdqueue_can_make_are_taken(size: str, expected: tuple[int, int] | None) -> None:
    assert parse_size(size) == expected


@pytest.mark.parametrize("size", ["100x100", "32x32", "4096x1024", "big", "512"])
def test_other_sizes_are_refused_naming_size(size: str) -> None:
    with pytest.raises(RequestInvalid) as caught:
        parse_size(size)
    assert caught.value.errors[0].loc == ["body", "size"]


def test_aliases_map_to_their_checkpoint_or_the_default_model() -> None:
    assert resolve_model("dall-e-3", ALIASES) is None
    assert resolve_model("house", ALIASES) == "tiny"
    assert resolve_model("tiny", ALIASES) == "tiny"
    assert resolve_model(None, ALIASES) is None


def test_default_response_format_follows_openai() -> None:
    assert default_format(None) == "url"
    assert default_format("dall-e-2") == "url"
    assert default_format("gpt-image-1") == "b64_json"
    assert default_format("tiny") == "b64_json"


def test_transparent_mask_pixels_become_white_repaint_pixels() -> None:
    mask = Image.new("RGBA", (8, 8), (0, 0, 0, 255))
    mask.putpixel((7, 7), (0, 0, 0, 0))
    grey = Image.open(io.BytesIO(base64.b64decode(mask_from_alpha(mask, "mask"))))
    assert grey.getpixel((7, 7)) == 255 and grey.getpixel((0, 0)) == 0
    assert is_partly_transparent(mask) and not is_partly_transparent(mask.convert("RGB"))


def test_a_mask_without_alpha_is_refused_naming_mask() -> None:
    with pytest.raises(RequestInvalid) as caught:
        mask_from_alpha(Image.new("RGB", (8, 8)), "mask")
    assert caught.value.errors[0].loc == ["body", "mask"]


def test_output_formats_are_reencoded() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="PNG")
    assert Image.open(io.BytesIO(base64.b64decode(encode_output(out.getvalue(), "jpeg", 50)))).format == "JPEG"
    assert base64.b64decode(encode_output(out.getvalue(), "png", None)) == out.getvalue()


def test_refused_fields_are_400_with_openai_param_names() -> None:
    problem = RequestInvalid.for_field(["body", "width"], "too wide").to_problem()
    status, body = error_from_problem(problem)
    assert status == 400
    assert (body.error.param, body.error.type) == ("size", "invalid_request_error")
    status, body = error_from_problem(ModelNotFound.for_field(["body", "model"], "no model").to_problem())
    assert (status, body.error.param) == (400, "model")


def test_policy_auth_and_server_errors_keep_openai_statuses() -> None:
    status, body = error_from_problem(ContentBlocked("flagged", ["custom"]).to_problem())
    assert (status, body.error.code) == (400, "content_policy_violation")
    status, body = error_from_problem(Unauthorized("bad key").to_problem())
    assert (status, body.error.code) == (401, "invalid_api_key")
