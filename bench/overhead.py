"""Overhead of the whole stack vs the direct diffusers call, measured in one run on the same machine.

Same tiny model, seed, steps and size both ways. "Stack" is: HTTP submit -> Redis/RQ -> worker process ->
PNG/WebP/job.json on disk -> HTTP poll (every --poll-ms) until finished -> HTTP download of the PNG.
"Direct" is the in-process ``pipeline(...)`` call. The two phases run one after the other, never together.

Prints one line: ``overhead_ratio=<median stack / median direct> added_ms_median=<median difference>
cache_hit_ms_median=<x>``; the last is a submit that the result cache answers (plus reading the job and downloading
its image), measured after the stack phase with the same request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BenchStack


def direct_times(models_dir: Path, body: dict, jobs: int, warmup: int) -> list[float]:
    import torch
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(models_dir / "checkpoints" / "tiny", local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    times = []
    for index in range(warmup + jobs):
        started = time.perf_counter()
        pipe(
            prompt=body["prompt"],
            width=body["width"],
            height=body["height"],
            num_inference_steps=body["steps"],
            guidance_scale=body["cfg_scale"],
            generator=[torch.Generator("cpu").manual_seed(body["seed"])],
        )
        if index >= warmup:
            times.append(time.perf_counter() - started)
    return times


def wait_polling(session: requests.Session, base: str, job_id: str, poll: float) -> dict:
    while True:
        view: dict = session.get(f"{base}/api/v1/jobs/{job_id}", timeout=30).json()
        if view["status"] in ("finished", "failed", "canceled"):
            return view
        time.sleep(poll)


def wait_events(session: requests.Session, base: str, job_id: str) -> dict:
    """Follow the job's Server-Sent Events until the terminal one, whose data is the job view."""
    with session.get(f"{base}/api/v1/jobs/{job_id}/events", stream=True, timeout=60) as stream:
        event = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("finished", "failed", "canceled"):
                return dict(json.loads(line.split(":", 1)[1]))
    raise SystemExit(f"stream of {job_id} ended without a terminal event")


def stack_times(
    base: str, body: dict, jobs: int, warmup: int, poll: float, use_events: bool
) -> tuple[list[float], list[dict]]:
    session = requests.Session()
    times, views = [], []
    for index in range(warmup + jobs):
        started = time.perf_counter()
        job = session.post(f"{base}/api/v1/generate/txt2img", json=body, timeout=30).json()
        job_id = job["id"]
        view = wait_events(session, base, job_id) if use_events else wait_polling(session, base, job_id, poll)
        if view["status"] != "finished":
            raise SystemExit(f"job failed: {view['error']}")
        session.get(base + view["images"][0]["url"], timeout=30).raise_for_status()
        if index >= warmup:
            times.append(time.perf_counter() - started)
            views.append(view)
    return times, views


def cache_hit_times(base: str, body: dict, jobs: int) -> list[float]:
    """Submit of a request identical to the ones just generated (a result-cache hit: 200, finished) plus the
    download of its first image: what a client waits for instead of a whole job."""
    session = requests.Session()
    times = []
    for _ in range(jobs):
        started = time.perf_counter()
        answer = session.post(f"{base}/api/v1/generate/txt2img", json=body, timeout=30)
        if answer.status_code != 200:
            raise SystemExit(f"expected a cache hit, got {answer.status_code}: {answer.text}")
        view = session.get(base + answer.json()["links"]["self"], timeout=30).json()
        session.get(base + view["images"][0]["url"], timeout=30).raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def breakdown(views: list[dict]) -> str:
    """Medians, in ms, of where a job's time went according to its own record."""

    def median_ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f}"

    timings = [v["timings"] for v in views]
    return " ".join(
        [
            f"queue_wait_ms={median_ms([t['queued_seconds'] for t in timings])}",
            f"run_ms={median_ms([t['run_seconds'] for t in timings])}",
            f"worker_generate_ms={median_ms([t['worker']['generate_seconds'] for t in timings])}",
            f"worker_save_ms={median_ms([t['worker']['save_seconds'] for t in timings])}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=64, help="width = height, px")
    parser.add_argument("--poll-ms", type=float, default=5)
    parser.add_argument(
        "--wait",
        choices=["poll", "events"],
        default="poll",
        help="poll GET /jobs/{id} every --poll-ms, or follow /jobs/{id}/events (SSE)",
    )
    args = parser.parse_args()
    body = {
        "prompt": "a lighthouse at dusk",
        "width": args.size,
        "height": args.size,
        "steps": args.steps,
        "cfg_scale": 7.0,
        "seed": 1234,
        "sampler": "euler_a",
        "force_regenerate": True,  # the same seed every job: without this, every job after the first is a cache hit
    }

    with BenchStack() as bench:
        direct = direct_times(bench.models_dir, body, args.jobs, args.warmup)
        bench.start_api()
        bench.start_worker()
        stack, views = stack_times(bench.base, body, args.jobs, args.warmup, args.poll_ms / 1000, args.wait == "events")
        hits = cache_hit_times(bench.base, {**body, "force_regenerate": False}, args.jobs)

    d, s = statistics.median(direct), statistics.median(stack)
    print(
        f"# steps={args.steps} size={args.size} jobs={args.jobs} direct_ms_median={d * 1000:.1f} "
        f"stack_ms_median={s * 1000:.1f} wait={args.wait} poll_ms={args.poll_ms:g} {breakdown(views)}",
        file=sys.stderr,
    )
    h = statistics.median(hits)
    print(f"overhead_ratio={s / d:.3f} added_ms_median={(s - d) * 1000:.1f} cache_hit_ms_median={h * 1000:.1f}")


if __name__ == "__main__":
    main()
