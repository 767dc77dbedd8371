"""Request bodies of Open WebUI, SillyTavern and LibreChat (tests/fixtures/clients/, written from their public source,
each naming the file it follows) replayed against a real stack: every call answers 200 and every field the client
reads back is there, images decode at the size the client expects. Also the clip skip override."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import Stack

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"
RECORDINGS = sorted(FIXTURES.glob("*.json"))


def read(answer: Any, path: str) -> Any:
    """The value at ``path`` (dotted keys and list indexes; ``json()`` parses a JSON string, as clients do with
    A1111's ``info``); an AssertionError naming the step that is missing."""
    value = answer
    for step in path.split("."):
        if step == "json()":
            value = json.loads(value)
        elif isinstance(value, list):
            assert step.isdigit() and int(step) < len(value), f"{path}: no item {step}"
            value = value[int(step)]
        else:
            assert isinstance(value, dict) and step in value, f"{path}: no key {step!r}"
            value = value[step]
    return value


def replayed(exchange: dict[str, Any]) -> dict[str, Any]:
    """The body as the client sends it (keys starting with _ are our notes), with ``_replay``'s values put in (a
    smaller size where a client's fixed one would take minutes on CI's CPUs)."""
    body = {key: value for key, value in exchange["body"].items() if not key.startswith("_")}
    return body | exchange.get("_replay", {})


@pytest.mark.parametrize("recording", RECORDINGS, ids=[path.stem for path in RECORDINGS])
def test_a_recorded_client_session_gets_every_field_it_reads(open_stack: Stack, recording: Path) -> None:
    session = json.loads(recording.read_text())
    for exchange in session["exchanges"]:
        method, path = exchange["method"], exchange["path"]
        body = replayed(exchange) if "body" in exchange else None
        response = requests.request(method, open_stack.url(path), json=body, timeout=60)
        assert response.status_code == 200, f"{session['client']} {method} {path}: {response.text[:500]}"
        answer = response.json()
        for field in exchange["reads"]:
            assert read(answer, field) is not None, f"{session['client']} {path}: {field} is null"
        for field, size in exchange.get("images", {}).items():
            image = Image.open(io.BytesIO(base64.b64decode(read(answer, field))))
            assert (image.format, list(image.size)) == ("PNG", size), f"{session['client']} {path}: {field}"


def test_librechat_reads_the_seed_and_settings_line_of_the_infotext(open_stack: Stack) -> None:
    """LibreChat keeps info.infotexts[0]'s last line as the generation info and info.seed as the seed."""
    body = {"prompt": "a harbour", "negative_prompt": "fog", "cfg_scale": 4.5, "steps": 2, "width": 64, "height": 64}
    answer = requests.post(open_stack.url("/sdapi/v1/txt2img"), json=body, timeout=60).json()
    info = json.loads(answer["info"])
    settings_line = info["infotexts"][0].split("\n")[-1]
    assert settings_line.startswith("Steps: 2,") and f"Seed: {info['seed']}" in settings_line
    assert (info["width"], info["height"]) == (64, 64)


def test_sampler_index_is_the_sampler_when_sampler_name_is_absent(open_stack: Stack) -> None:
    """Older clients send sampler_index and no sampler_name."""
    body = {"prompt": "a quiet street", "width": 64, "height": 64, "steps": 2, "sampler_index": "Euler"}
    response = requests.post(open_stack.url("/sdapi/v1/txt2img"), json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert "Sampler: Euler," in json.loads(response.json()["info"])["infotexts"][0]


KNOWN_CLIP_SKIP_BUG = "'CLIPTextModel' object has no attribute 'text_model'"


def test_clip_skip_override_is_the_native_clip_skip(open_stack: Stack) -> None:
    """CLIP_stop_at_last_layers (SillyTavern's and A1111's clip skip) is the native clip_skip. Until the worker's
    clip-skip crash under transformers 5 is fixed in models/ (the lead's change on main), the job fails with that
    error: this test expects it then, and any other failure still fails it."""
    body = {"prompt": "a quiet street", "width": 64, "height": 64, "steps": 2}
    response = requests.post(
        open_stack.url("/sdapi/v1/txt2img"),
        json=body | {"override_settings": {"CLIP_stop_at_last_layers": 2}},
        timeout=60,
    )
    if response.status_code == 500 and KNOWN_CLIP_SKIP_BUG in response.text:
        pytest.xfail("clip skip > 1 fails in the worker (encode_prompt under transformers 5); fixed in models/")
    assert response.status_code == 200, response.text
    assert "Clip skip: 2" in json.loads(response.json()["info"])["infotexts"][0]
