"""Content safety through the real API and worker: the keyword check at submit, Detoxify in the worker (a tiny
random BERT checkpoint with thresholds that force each outcome) and the image safety checker (tiny, built to flag
every image or none), in strict and normal mode."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.builders.safety import write_tiny_detoxify, write_tiny_safety_checker
from tests.conftest import Stack
from tests.integration.test_metrics import scrape, value

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def safety_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("safety")
    return {
        "detoxify": write_tiny_detoxify(root / "detoxify"),
        "flags_all": write_tiny_safety_checker(root / "flags-all", flags_everything=True),
        "flags_none": write_tiny_safety_checker(root / "flags-none", flags_everything=False),
    }


def infotext(stack: Stack, view: dict) -> str:
    data = requests.get(stack.url(view["images"][0]["url"]), timeout=10).content
    return str(Image.open(io.BytesIO(data)).text["parameters"])


def test_a_strict_request_with_a_flagged_prompt_is_refused_at_submit(stack: Stack) -> None:
    response = stack.submit(prompt="what the fuck is this lighthouse", strict_safety=True, seed=1)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "content_blocked" and "profanity" in problem["detail"]
    assert "fuck" not in response.text  # categories, never the words


def test_a_normal_request_with_a_flagged_prompt_runs_adjusted(stack: Stack) -> None:
    view = stack.run(prompt="a damn lighthouse", seed=2)
    assert view["status"] == "finished", view["error"]
    assert view["safety"]["adjusted"] and view["safety"]["flagged"] == ["profanity"]
    assert "Negative prompt: nsfw, nudity, explicit, gore, violence" in infotext(stack, view)
    clean = stack.run(prompt="a lighthouse", seed=2)
    assert not clean["safety"]["adjusted"] and clean["safety"]["prompt_classifier"] == "off"


def test_detoxify_blocks_in_strict_mode_and_adjusts_in_normal_mode(make_stack, safety_models) -> None:
    checkpoint = safety_models["detoxify"]
    stack = make_stack(
        SDQ_DETOXIFY_CHECKPOINT=str(checkpoint),
        SDQ_DETOXIFY_CONFIG=str(checkpoint.parent),
        SDQ_DETOXIFY_THRESHOLDS=json.dumps({"threat": 0.0}),  # every prompt reaches 0: always flagged
    )
    assert stack.get("/api/v1/queue")["workers"][0]["features"]["prompt_classifier"] == "detoxify"
    blocked = stack.run(prompt="a lighthouse", strict_safety=True, seed=3)
    assert blocked["status"] == "failed" and blocked["error"]["code"] == "content_blocked"
    assert "threat" in blocked["error"]["detail"] and blocked["images"] == []
    adjusted = stack.run(prompt="a lighthouse", seed=3)
    assert adjusted["status"] == "finished" and adjusted["safety"]["flagged"] == ["threat"]
    assert adjusted["safety"]["adjusted"] and adjusted["safety"]["prompt_classifier"] == "detoxify"
    assert value(scrape(stack), "sdq_safety_blocks_total", stage="detoxify", category="threat") == 2


def test_an_unloadable_detoxify_is_reported_and_keywords_still_work(make_stack, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"no checkpoint")
    stack = make_stack(SDQ_DETOXIFY_CHECKPOINT=str(broken))
    status = stack.get("/api/v1/system")["workers"][0]["features"]["prompt_classifier"]
    assert status.startswith("unavailable:")
    assert stack.submit(prompt="what the fuck", strict_safety=True).status_code == 400
    assert stack.run(prompt="a lighthouse", seed=4)["status"] == "finished"


def test_flagged_images_are_blacked_out_or_fail_the_strict_job(make_stack, safety_models) -> None:
    stack = make_stack(SDQ_SAFETY_CHECKER=str(safety_models["flags_all"]))
    normal = stack.run(prompt="a lighthouse", seed=5, batch_size=2)
    assert normal["status"] == "finished" and [i["nsfw"] for i in normal["images"]] == [True, True]
    data = requests.get(stack.url(normal["images"][0]["url"]), timeout=10).content
    assert Image.open(io.BytesIO(data)).convert("RGB").getextrema() == ((0, 0), (0, 0), (0, 0))
    strict = stack.run(prompt="a lighthouse", seed=5, strict_safety=True)
    assert strict["status"] == "failed" and strict["error"]["code"] == "nsfw_detected"


def test_images_the_checker_passes_are_kept(make_stack, safety_models) -> None:
    stack = make_stack(SDQ_SAFETY_CHECKER=str(safety_models["flags_none"]))
    view = stack.run(prompt="a lighthouse", seed=6, strict_safety=True)
    assert view["status"] == "finished" and not view["images"][0]["nsfw"]
    assert view["safety"]["image_checker"] == "on"
