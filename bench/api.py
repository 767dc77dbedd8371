"""The API alone: accepted submits/s and job polls/s at N concurrent clients, with p50/p99 latency.

The worker is not started, so only the API (and Redis) is measured. Each submit has its own seed, so the result cache
never answers it. The client is one asyncio process with ``--concurrency`` connections; on a 2-core machine it
shares the cores with the API and Redis, so read the figures as a floor and compare runs made on one machine.

Prints ``name=value`` lines: ``api_submits_per_s``, ``api_submit_p50_ms``, ``api_submit_p99_ms``,
``api_polls_per_s``, ``api_poll_p50_ms``, ``api_poll_p99_ms`` (prefixed ``auth_`` with ``--auth``), and the Redis
commands one submit and one poll cost (``INFO commandstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, BenchStack

BODY = {"prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def hammer(
    base: str, headers: dict[str, str], concurrency: int, seconds: float, request: Any
) -> tuple[int, list[float], dict[int, int]]:
    """Run ``request(client, n)`` from ``concurrency`` tasks for ``seconds``; count 2xx answers and their latency."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await request(client, next(counter))
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
                if response.is_success:
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return int(len(latencies) / elapsed), latencies, codes


def redis_commands(stack: BenchStack) -> int:
    from redis import Redis

    stats = Redis(port=stack.redis_port).info("commandstats")
    return sum(int(entry["calls"]) for name, entry in stats.items() if name != "cmdstat_info")


def admin_key(stack: BenchStack) -> str:
    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cli", *args], env=stack.env, cwd=ROOT, input=stdin, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(done.stderr)
        return done.stdout

    cli("users", "add", "bench", "--role", "admin", "--password-stdin", stdin="bench-password-123\n")
    printed = cli("keys", "create", "--owner", "bench", "--name", "bench")
    return next(word for word in printed.split() if word.startswith("sdq_"))


def report(prefix: str, what: str, rate: int, latencies: list[float], codes: dict[int, int]) -> None:
    print(f"{prefix}api_{what}s_per_s={rate}")
    print(f"{prefix}api_{what}_p50_ms={statistics.median(latencies) * 1000:.1f}")
    print(f"{prefix}api_{what}_p99_ms={percentile(latencies, 0.99) * 1000:.1f}")
    if set(codes) - {200, 202}:
        print(f"{prefix}api_{what}_codes=" + ",".join(f"{code}:{count}" for code, count in sorted(codes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--auth", action="store_true", help="auth on; requests carry an admin API key")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn processes (sdqueue api --workers)")
    args = parser.parse_args()
    env = {"SDQ_SUBMIT_PER_MINUTE": "100000000", "SDQ_MAX_QUEUED_PER_USER": "100000000"}
    if args.auth:
        env["SDQ_AUTH"] = "jwt,api-key"
    if args.api_workers > 1:
        env["SDQ_API_WORKERS"] = str(args.api_workers)
    prefix = "auth_" if args.auth else ""
    with BenchStack(env=env) as stack:
        headers = {"Authorization": f"Bearer {admin_key(stack)}"} if args.auth else {}
        stack.start_api()
        with httpx.Client(base_url=stack.base, headers=headers) as client:
            client.post("/api/v1/generate/txt2img", json={**BODY, "seed": 0})  # warm: model hashes, settings
            before = redis_commands(stack)
            job = client.post("/api/v1/generate/txt2img", json={**BODY, "seed": 1}).json()["id"]
            middle = redis_commands(stack)
            client.get(f"/api/v1/jobs/{job}")
            after = redis_commands(stack)
        print(f"{prefix}redis_commands_per_submit={middle - before}")
        print(f"{prefix}redis_commands_per_poll={after - middle}")

        async def submit(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.post("/api/v1/generate/txt2img", json={**BODY, "seed": 1000 + n})

        rate, latencies, codes = asyncio.run(hammer(stack.base, headers, args.concurrency, args.seconds, submit))
        report(prefix, "submit", rate, latencies, codes)

        with httpx.Client(base_url=stack.base, headers=headers) as client:
            jobs = [item["id"] for item in client.get("/api/v1/jobs", params={"limit": 100}).json()["items"]]

        async def poll(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"/api/v1/jobs/{random.choice(jobs)}")

        rate, latencies, codes = asyncio.run(hammer(stack.base, headers, args.concurrency, args.seconds, poll))
        report(prefix, "poll", rate, latencies, codes)


if __name__ == "__main__":
    main()
