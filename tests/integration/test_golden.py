"""API answers stay byte-identical across refactors: a fixed set of requests, answers compared with golden files.

Volatile parts (job ids, times, durations, worker names) are replaced by placeholders before the comparison. After a
change that is meant to alter an answer, regenerate with ``SDQ_UPDATE_GOLDEN=1 pytest tests/integration/test_golden.py``
and review the diff of ``tests/golden/responses.json``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Stack

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "responses.json"
VOLATILE_KEYS = {
    "submitted_at",
    "started_at",
    "ended_at",
    "queued_seconds",
    "run_seconds",
    "load_seconds",
    "generate_seconds",
    "save_seconds",
    "its",
    "eta_seconds",
    "updated_at",
    "worker",
}
HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
TXT2IMG = "/api/v1/generate/txt2img"
GOOD = {"prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2, "seed": 77}


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE_KEYS else normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        return HEX_ID.sub("<id>", value)
    return value


def answer(response: requests.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return {"status": response.status_code, "content_type": response.headers.get("content-type"), "body": body}


def exchanges(stack: Stack) -> dict[str, dict[str, Any]]:
    def post(path: str, body: Any) -> dict[str, Any]:
        return answer(requests.post(stack.url(path), json=body, timeout=30))

    def get(path: str) -> dict[str, Any]:
        return answer(requests.get(stack.url(path), timeout=30))

    job_id = stack.submit_id(**GOOD)
    stack.wait_job(job_id)
    return {
        "txt2img width not a multiple of 8": post(TXT2IMG, {**GOOD, "width": 65}),
        "txt2img unknown field": post(TXT2IMG, {**GOOD, "colour": "red"}),
        "txt2img string for a number": post(TXT2IMG, {**GOOD, "steps": "20"}),
        "txt2img unknown model": post(TXT2IMG, {**GOOD, "model": "nope"}),
        "txt2img unknown sampler": post(TXT2IMG, {**GOOD, "sampler": "nope"}),
        "txt2img empty body": post(TXT2IMG, {}),
        "img2img without init_image": post("/api/v1/generate/img2img", {"prompt": "x"}),
        "inpaint without mask": post("/api/v1/generate/inpaint", {"prompt": "x", "image": "upl_nope"}),
        "upscale bad scale": post("/api/v1/generate/upscale", {"image": "upl_nope", "scale": 9}),
        "validate good": post("/api/v1/validate", GOOD),
        "finished job": get(f"/api/v1/jobs/{job_id}"),
        "unknown job": get("/api/v1/jobs/0123456789abcdef0123456789abcdef"),
        "cancel unknown job": post("/api/v1/jobs/0123456789abcdef0123456789abcdef/cancel", {}),
        "unknown image index": get(f"/api/v1/jobs/{job_id}/images/9"),
        "samplers": get("/api/v1/samplers"),
        "parameters": get("/api/v1/parameters"),
        "unknown route": get("/api/v1/nope"),
        "wrong method": answer(requests.delete(stack.url(TXT2IMG), timeout=30)),
    }


def test_answers_match_the_golden_file(stack: Stack) -> None:
    """Each request of the fixed set gets the same status, content type and (normalized) body as recorded."""
    got = normalize(exchanges(stack))
    if os.environ.get("SDQ_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    for name in expected:
        assert got[name] == expected[name], name
    assert sorted(got) == sorted(expected)
