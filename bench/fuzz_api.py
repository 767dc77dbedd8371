"""Fuzz the whole API with schemathesis against a live stack and count the server errors.

For each auth mode (``--auth``: none, api-key, or both, one after the other) starts a BenchStack (its own
redis-server, the tiny model, the API with every per-principal limit out of reach; no worker, so queued jobs stay
queued); with api-key it creates an admin and an API key of theirs. Then it runs ``schemathesis run
<api>/openapi.json --checks not_a_server_error`` (with that key) over every operation but ``GET /api/ready`` (503 by
design without a worker) and the synchronous facades (they would wait for one), in the examples, coverage and
fuzzing phases, with a HAR report, reads the HAR and prints::

    auth=<mode> requests=<requests schemathesis sent> server_errors=<answers that were 5xx> seconds=<wall time>
    requests=<all modes> server_errors=<all modes>

and, for each 5xx, the method, URL and status. ``--max-examples`` sets the cases per operation (40 sends a few
thousand requests); the exit status is 1 when any answer was a server error. Needs the ``test`` extra
(schemathesis).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, BenchStack


def schemathesis_binary() -> str:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.is_file() else shutil.which("schemathesis")
    if found is None:
        raise SystemExit("schemathesis is not installed (pip install -e '.[test]')")
    return found


HIGH = "100000"
LIMITS = {
    name: HIGH
    for name in (
        "SDQ_SUBMIT_PER_MINUTE",
        "SDQ_MAX_QUEUED_PER_USER",
        "SDQ_UPLOADS_PER_MINUTE",
        "SDQ_VALIDATIONS_PER_MINUTE",
        "SDQ_HASHES_PER_MINUTE",
        "SDQ_WATERMARK_CHECKS_PER_MINUTE",
        "SDQ_MAX_WATERMARK_CHECKS_PER_USER",
        "SDQ_MAX_UPLOADS_PER_USER",
    )
}


def admin_key(stack: BenchStack) -> str:
    """An API key of a new admin account, made with the CLI."""

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cli", *args], env=stack.env, cwd=ROOT, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"sdqueue {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    cli("users", "add", "fuzz-admin", "--role", "admin", "--password-stdin", stdin="a long fuzzing password\n")
    return cli("keys", "create", "--owner", "fuzz-admin", "--name", "fuzz").splitlines()[0]


# The synchronous facades (OpenAI images, A1111 txt2img/img2img/extras) wait for the worker this stack has not
# got; their integration tests drive them with the real SDKs.
WAITS_FOR_A_WORKER = r"^/(v1/images/|sdapi/v1/(txt2img|img2img|extra-single-image|extra-batch-images)$)"


def run_schemathesis(base: str, key: str | None, har: Path, max_examples: int, seed: int, workers: int) -> int:
    """The CLI over every operation but /api/ready; with ``key``, as that key's holder (no made-up credentials)."""
    credentials = ["--header", f"Authorization: Bearer {key}", "--generation-with-security-parameters", "false"]
    command = [
        schemathesis_binary(),
        "run",
        f"{base}/openapi.json",
        *(credentials if key else []),
        "--exclude-path",
        "/api/ready",
        "--exclude-path-regex",
        WAITS_FOR_A_WORKER,
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]
    return subprocess.run(command, check=False, cwd=har.parent).returncode  # its caches go to the temp folder


def server_errors(har: Path) -> tuple[int, list[tuple[str, str, int]]]:
    """(requests, [(method, url, status) of every 5xx]) from a HAR file."""
    entries = json.loads(har.read_text())["log"]["entries"]
    errors = [
        (entry["request"]["method"], entry["request"]["url"], int(entry["response"]["status"]))
        for entry in entries
        if int(entry["response"]["status"]) >= 500
    ]
    return len(entries), errors


def fuzz(auth: str, folder: Path, args: argparse.Namespace) -> tuple[int, list[tuple[str, str, int]], float]:
    """One stack with ``SDQ_AUTH=auth`` fuzzed: (requests, server errors, seconds)."""
    har = folder / f"fuzz-{auth}.har"
    env = {"SDQ_CACHE_ENABLED": "false", "SDQ_AUTH": auth, **LIMITS}
    with BenchStack(env=env) as stack:
        stack.start_api()
        key = admin_key(stack) if auth != "none" else None
        started = time.perf_counter()
        run_schemathesis(stack.base, key, har, args.max_examples, args.seed, args.workers)
        seconds = time.perf_counter() - started
    total, errors = server_errors(har)
    return total, errors, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=40, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis seed (runs repeat)")
    parser.add_argument("--workers", type=int, default=2, help="concurrent schemathesis workers")
    parser.add_argument(
        "--auth", choices=["none", "api-key", "both"], default="both", help="SDQ_AUTH of the fuzzed stack(s)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sdq-fuzz-"))
    modes = ["none", "api-key"] if args.auth == "both" else [args.auth]
    all_requests, all_errors = 0, []
    for auth in modes:
        total, errors, seconds = fuzz(auth, folder, args)
        print(f"auth={auth} requests={total} server_errors={len(errors)} seconds={seconds:.1f}")
        all_requests += total
        all_errors += errors
    print(f"requests={all_requests} server_errors={len(all_errors)}")
    for (method, url, status), count in Counter(all_errors).most_common():
        print(f"  {status} {method} {url} x{count}")
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if all_errors else 0)


if __name__ == "__main__":
    main()
