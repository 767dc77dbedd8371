"""No input gives a 500: schemathesis runs every operation of the OpenAPI (examples, coverage and fuzzing cases)
against the app built in process on a real redis-server, as an admin with an API key (so the policy dependencies
run too), and checks ``not_a_server_error``.

``GET /api/ready`` is left out: without a worker it answers 503 by design (tests/integration covers it). Watermark
checks do not wait for the worker that is not there; the synchronous OpenAI and A1111 facades, which would, are left
out too (their integration tests cover them). ``bench/fuzz_api.py`` runs the CLI against a live stack with
many more cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from auth.principal import Role, Scope
from schemas.settings import Settings
from server.app import create_app
from server.routes import watermark
from tests.unit.server.conftest import fake_models

MAX_EXAMPLES = 10


@dataclass
class FuzzTarget:
    app: FastAPI
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_target(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """The app with auth on and every per-principal limit out of reach, and an admin's API key."""
    root = tmp_path_factory.mktemp("fuzz")
    high = 100_000
    settings = Settings(
        redis_url=redis_server.url,
        data_dir=root / "data",
        models_dir=fake_models(root / "models"),
        queue_name=f"fuzz-{uuid.uuid4().hex[:8]}",
        auth="api-key",
        environment="development",
        submit_per_minute=high,
        max_queued_per_user=high,
        uploads_per_minute=high,
        validations_per_minute=high,
        hashes_per_minute=high,
        watermark_checks_per_minute=high,
        max_watermark_checks_per_user=high,
        max_uploads_per_user=high,
    )
    app = create_app(settings)
    app.state.auth.users.create("fuzz-admin", "a long fuzzing password", [Role.ADMIN])
    _, key = app.state.auth.api_keys.create("fuzz-admin", "fuzz", sorted(Scope), None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(watermark, "WAIT_SECONDS", 0.0)
        yield FuzzTarget(app, {"X-API-Key": key})


@pytest.fixture(scope="module")
def api_schema(fuzz_target: FuzzTarget) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.app)


# The synchronous facades (OpenAI images, A1111 txt2img/img2img/extras) wait for a worker this app has not got;
# tests/integration/test_openai_compat.py and compat/ drive them with the real SDKs.
WAITS_FOR_A_WORKER = r"^/(v1/images/|sdapi/v1/(txt2img|img2img|extra-single-image|extra-batch-images)$)"
schema = (
    schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/ready").exclude(path_regex=WAITS_FOR_A_WORKER)
)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 renames each sub-test through ``Node._nodeid``, which pytest 9.2 no longer sets."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gives_a_server_error(case: Any, fuzz_target: FuzzTarget) -> None:
    """Whatever schemathesis sends, valid or not, the answer is not a 5xx."""
    made_up = {"authorization", "x-api-key"}  # generated credentials would make most cases a 401
    case.headers = {name: value for name, value in (case.headers or {}).items() if name.lower() not in made_up}
    case.call_and_validate(headers=fuzz_target.headers, checks=[not_a_server_error])


def test_the_fuzzed_schema_covers_the_bounded_routes(api_schema: Any) -> None:
    """The schema schemathesis reads lists the routes this change bounds (a renamed route would drop out)."""
    paths = {result.ok().path for result in api_schema.get_all_operations()}
    assert {"/api/v1/uploads", "/api/v1/watermark/check", "/api/v1/validate", "/api/v1/estimate"} <= paths
