"""Models through the API and the real worker: listing, detection, hashes, LoRA per request, LRU, samplers."""

from __future__ import annotations

import hashlib
import io
import shutil
import time

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import Stack

pytestmark = pytest.mark.integration


def pixels(stack: Stack, view: dict) -> np.ndarray:
    data = requests.get(stack.url(view["images"][0]["url"]), timeout=10).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_models_are_listed_with_type_arch_and_filters(stack: Stack) -> None:
    listing = stack.get("/api/v1/models?limit=200")
    found = {m["id"]: m for m in listing["items"]}
    tiny = found["checkpoint:tiny"]
    assert (tiny["type"], tiny["arch"], tiny["format"], tiny["status"]) == ("checkpoint", "sd1", "diffusers", "valid")
    assert tiny["inpaint"] is False
    inpainting = found["checkpoint:tiny-inpaint"]
    assert (inpainting["arch"], inpainting["inpaint"], inpainting["status"]) == ("sd1", True, "valid")
    lora = found["lora:tiny-lora"]
    assert (lora["type"], lora["arch"], lora["format"]) == ("lora", "sd1", "safetensors")
    assert lora["size_bytes"] > 0 and lora["path"] == "lora/tiny-lora.safetensors"
    assert [m["id"] for m in stack.get("/api/v1/models?type=lora")["items"]] == ["lora:tiny-lora"]
    assert [m["name"] for m in stack.get("/api/v1/models?search=BROK")["items"]] == ["broken"]
    by_size = stack.get("/api/v1/models?sort=size")["items"]
    assert [m["size_bytes"] for m in by_size] == sorted(m["size_bytes"] for m in by_size)
    paged = stack.get("/api/v1/models?limit=1&page=2")
    assert paged["total"] == listing["total"] and len(paged["items"]) == 1
    assert stack.get("/api/v1/models/checkpoint:tiny")["name"] == "tiny"
    assert requests.get(stack.url("/api/v1/models/checkpoint:nope"), timeout=10).status_code == 404
    types = {t["type"]: t for t in stack.get("/api/v1/models/types")}
    assert types["lora"]["count"] == 1 and types["checkpoint"]["folder"] == "checkpoints"


def test_hash_is_sha256_with_a1111_short_hash_and_cached(stack: Stack, models_dir) -> None:
    expected = hashlib.sha256((models_dir / "lora" / "tiny-lora.safetensors").read_bytes()).hexdigest()
    hashed = requests.post(stack.url("/api/v1/models/lora:tiny-lora/hash"), timeout=30).json()
    assert hashed["sha256"] == expected
    assert hashed["short_hash"] == expected[:10]
    assert stack.get("/api/v1/models/lora:tiny-lora")["sha256"] == expected
    folder = requests.post(stack.url("/api/v1/models/checkpoint:tiny/hash"), timeout=10)
    assert folder.status_code == 422


def test_lora_weight_zero_is_the_base_and_nothing_leaks_into_the_next_job(stack: Stack) -> None:
    base = stack.run(seed=21)
    zero = stack.run(seed=21, loras=[{"name": "tiny-lora", "weight": 0}])
    full = stack.run(seed=21, loras=[{"name": "tiny-lora", "weight": 1}])
    tagged = stack.run(seed=21, prompt="a lighthouse at dusk <lora:tiny-lora:1>")
    after = stack.run(seed=21)
    assert all(v["status"] == "finished" for v in (base, zero, full, tagged, after))
    assert np.array_equal(pixels(stack, base), pixels(stack, zero))
    assert not np.array_equal(pixels(stack, base), pixels(stack, full))
    assert np.array_equal(pixels(stack, full), pixels(stack, tagged))
    assert np.array_equal(pixels(stack, base), pixels(stack, after))
    png = Image.open(io.BytesIO(requests.get(stack.url(tagged["images"][0]["url"]), timeout=10).content))
    assert png.text["parameters"].startswith("a lighthouse at dusk\n")
    assert 'Lora weights: "tiny-lora: 1"' in png.text["parameters"]


def test_unknown_lora_is_refused_at_submit_naming_the_field(stack: Stack) -> None:
    response = stack.submit(loras=[{"name": "nope", "weight": 1}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "loras"]
    tagged = stack.submit(prompt="x <lora:missing:0.5>")
    assert tagged.status_code == 422 and "missing" in tagged.json()["errors"][0]["msg"]


def test_samplers_schedulers_and_a1111_labels(stack: Stack) -> None:
    samplers = {s["name"]: s["label"] for s in stack.get("/api/v1/samplers")}
    assert len(samplers) == 16 and samplers["dpmpp_2m"] == "DPM++ 2M" and samplers["lms"] == "LMS"
    assert [s["name"] for s in stack.get("/api/v1/schedulers")] == ["automatic", "karras", "exponential", "normal"]
    view = stack.run(seed=3, sampler="DPM++ 2M", scheduler="karras", steps=3)
    assert view["status"] == "finished" and view["request"]["sampler"] == "dpmpp_2m"
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Sampler: DPM++ 2M, Schedule type: Karras" in png.text["parameters"]
    refused = stack.submit(sampler="ddim", scheduler="karras")
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "scheduler"]


def test_lru_budget_for_one_model_evicts_and_reloads(make_stack, models_dir, tmp_path) -> None:
    two = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", two / "checkpoints" / "tiny")
    shutil.copytree(models_dir / "checkpoints" / "tiny", two / "checkpoints" / "twin")
    stack = make_stack(SDQ_MODELS_DIR=str(two), SDQ_MODEL_MEMORY_MB="6")  # the tiny model is ~4.3 MB
    for model in ("twin", "tiny", "twin"):
        assert stack.run(model=model, seed=1)["status"] == "finished"
    stats = stack.get("/api/v1/models/stats")
    memory = stats["workers"][0]["model_memory"]
    assert stats["workers"][0]["models_loaded"] == ["twin"]
    assert memory["loads"] == 4  # the preloaded default, then twin, tiny, twin
    assert memory["evictions"] == 3
    assert memory["used_bytes"] <= memory["budget_bytes"] == 6 * 1024 * 1024
    assert [e.split()[0] for e in memory["events"]][-2:] == ["evict", "load"]
    print("model_events", memory["events"], "last_load_seconds", memory["last_load_seconds"])
    assert stats["counts"]["checkpoint"] == 2


def test_load_and_unload_are_carried_out_by_the_worker(make_stack, models_dir, tmp_path) -> None:
    two = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", two / "checkpoints" / "tiny")
    shutil.copytree(models_dir / "checkpoints" / "tiny", two / "checkpoints" / "twin")
    stack = make_stack(SDQ_MODELS_DIR=str(two))

    def operate(action: str, model_id: str) -> dict:
        answer = requests.post(stack.url(f"/api/v1/models/{model_id}/{action}"), timeout=10)
        assert answer.status_code == 202, answer.text
        link = answer.json()["links"]["self"]
        for _ in range(600):
            state = stack.get(link)
            if state["status"] in ("finished", "failed"):
                return state
            time.sleep(0.05)
        raise TimeoutError(link)

    loaded = operate("load", "checkpoint:twin")
    assert loaded["status"] == "finished"
    assert loaded["result"]["loaded"] == "twin" and "twin" in loaded["result"]["resident"]
    assert "twin" in stack.get("/api/v1/queue")["workers"][0]["models_loaded"]
    unloaded = operate("unload", "checkpoint:twin")
    assert unloaded["result"]["unloaded"] is True and "twin" not in unloaded["result"]["resident"]
    assert requests.post(stack.url("/api/v1/models/lora:tiny-lora/load"), timeout=10).status_code in (404, 422)
    assert requests.get(stack.url(f"/api/v1/jobs/{loaded['id']}"), timeout=10).status_code == 404
    assert stack.run(seed=1)["status"] == "finished"


def test_vae_override_and_embeddings_apply_to_one_job_only(make_stack, models_dir, tmp_path) -> None:
    from tests.builders.addons import write_tiny_embedding, write_tiny_vae

    own = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", own / "checkpoints" / "tiny")
    write_tiny_vae(own / "vae" / "other-vae")
    embedding = write_tiny_embedding(own / "embeddings" / "shiny-style.safetensors")
    stack = make_stack(SDQ_MODELS_DIR=str(own))
    kinds = {m["id"]: m["type"] for m in stack.get("/api/v1/models")["items"]}
    assert kinds["vae:other-vae"] == "vae" and kinds["embedding:shiny-style"] == "embedding"

    base = stack.run(seed=4)
    with_vae = stack.run(seed=4, vae="other-vae")
    again = stack.run(seed=4)
    assert not np.array_equal(pixels(stack, base), pixels(stack, with_vae))
    assert np.array_equal(pixels(stack, base), pixels(stack, again))
    assert stack.submit(vae="no-such-vae").json()["errors"][0]["loc"] == ["body", "vae"]

    with_embedding = stack.run(seed=4, prompt="a lighthouse at dusk, shiny-style")
    plain_after = stack.run(seed=4)
    assert np.array_equal(pixels(stack, base), pixels(stack, plain_after))
    embedding.unlink()  # the same words without the embedding installed tokenize as plain text
    without = stack.run(seed=4, prompt="a lighthouse at dusk, shiny-style")
    assert with_embedding["status"] == without["status"] == "finished"
    assert not np.array_equal(pixels(stack, with_embedding), pixels(stack, without))


def test_tiny_sdxl_runs_through_the_worker_and_foreign_loras_are_refused(make_stack, models_dir, tmp_path) -> None:
    from models.tiny import write_tiny_model
    from tests.unit.models.test_registry import write_safetensors

    own = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", own / "checkpoints" / "tiny")
    write_tiny_model(own / "checkpoints" / "xl", arch="sdxl")
    (own / "lora").mkdir()
    shutil.copy(models_dir / "lora" / "tiny-lora.safetensors", own / "lora" / "sd1-lora.safetensors")
    write_safetensors(
        own / "lora" / "xl-lora.safetensors",
        {"text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight": [4, 32]},
    )
    stack = make_stack(SDQ_MODELS_DIR=str(own), SDQ_DEFAULT_MODEL="tiny")
    archs = {m["id"]: m["arch"] for m in stack.get("/api/v1/models")["items"]}
    assert archs == {"checkpoint:tiny": "sd1", "checkpoint:xl": "sdxl", "lora:sd1-lora": "sd1", "lora:xl-lora": "sdxl"}

    view = stack.run(model="xl", width=128, height=96, steps=2, seed=5, batch_size=2)
    assert view["status"] == "finished", view.get("error")
    assert [(i["width"], i["height"]) for i in view["images"]] == [(128, 96), (128, 96)]

    refused = stack.submit(loras=[{"name": "xl-lora", "weight": 1}])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "loras", 0, "name"]
    assert "sdxl" in refused.json()["errors"][0]["msg"]
    assert stack.submit(model="xl", loras=[{"name": "sd1-lora", "weight": 1}]).status_code == 422


def test_device_policy_is_applied_and_reported(make_stack) -> None:
    stack = make_stack(
        SDQ_ATTENTION_SLICING="true", SDQ_VAE_TILING="true", SDQ_CPU_OFFLOAD="model", SDQ_ATTENTION="xformers"
    )
    assert stack.run(seed=2, width=128, height=128)["status"] == "finished"
    policy = stack.get("/api/v1/system")["workers"][0]["policy"]
    assert policy["device"] == "cpu" and policy["dtype"] == "float32"
    assert policy["attention_slicing"] is True and policy["vae_tiling"] is True
    assert policy["cpu_offload"] == "none" and policy["attention"] == "sdpa"  # CUDA-only options fall back
    assert len(policy["notes"]) == 2
