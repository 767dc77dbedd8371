"""Installed models: list with filters, sort and pages; one model; types; rescan; hash; stats; samplers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from auth.deps import CanReadModels, CanWriteModels
from models.families import samplers_for
from models.hashing import cached_sha256, compute_sha256, short_hash
from models.registry import ModelRegistry, is_valid_name
from schemas.errors import ModelNotFound, NotFound, RequestInvalid
from schemas.models import Arch, ModelEntry, ModelOperation, ModelPage, ModelStats, ModelType
from schemas.requests import SCHEDULER_LABELS, Sampler, ScheduleType
from server.deps import OperationsDep, QueueDep, RedisDep, problem_responses
from server.operations import ControlOperations
from server.policy import CanHash

router = APIRouter(prefix="/api/v1", tags=["models"])

SORT_KEYS = {
    "name": lambda e: e.name.lower(),
    "size": lambda e: e.size_bytes,
    "date": lambda e: e.modified_at.timestamp() if e.modified_at else 0,
    "type": lambda e: (e.type.value, e.name.lower()),
}


def _registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


def _with_hash(entry: ModelEntry, registry: ModelRegistry, redis: Any) -> ModelEntry:
    path = registry.models_dir / entry.path
    if entry.format in ("diffusers", "hub") or not path.is_file():
        return entry
    sha = cached_sha256(redis, path)
    return entry.model_copy(update={"sha256": sha, "short_hash": short_hash(sha) if sha else None})


@router.get(
    "/models",
    response_model=ModelPage,
    responses=problem_responses(401, 403, 422),
    summary="Installed models (rescans the folders), filtered, sorted and paged",
)
def list_models(
    request: Request,
    redis: RedisDep,
    principal: CanReadModels,
    type: Annotated[ModelType | None, Query(description="Only this type.")] = None,
    search: Annotated[str | None, Query(max_length=100, description="Case-insensitive part of the name.")] = None,
    arch: Annotated[Arch | None, Query(description="Only this architecture.")] = None,
    sort: Literal["name", "size", "date", "type"] = "name",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ModelPage:
    registry = _registry(request)
    entries = [
        e
        for e in registry.refresh()
        if (type is None or e.type is type)
        and (arch is None or e.arch is arch)
        and (not search or search.lower() in e.name.lower())
    ]
    entries.sort(key=SORT_KEYS[sort])
    chosen = entries[(page - 1) * limit : page * limit]
    return ModelPage(items=[_with_hash(e, registry, redis) for e in chosen], page=page, limit=limit, total=len(entries))


@router.get("/models/types", summary="Model types with their folder and how many are installed")
def model_types(request: Request, principal: CanReadModels) -> list[dict[str, Any]]:
    from schemas.models import TYPE_FOLDERS

    entries = _registry(request).entries()
    return [
        {"type": t.value, "folder": folder, "count": sum(1 for e in entries if e.type is t)}
        for folder, t in TYPE_FOLDERS.items()
    ]


@router.get("/models/stats", response_model=ModelStats, summary="Counts, disk use, and each worker's resident models")
def model_stats(request: Request, queue: QueueDep, principal: CanReadModels) -> ModelStats:
    entries = _registry(request).entries()
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.type.value] = counts.get(entry.type.value, 0) + 1
    workers = [w.model_dump(include={"name", "models_loaded", "model_memory"}) for w in queue.workers()]
    return ModelStats(
        counts=counts,
        invalid=sum(1 for e in entries if e.status != "valid"),
        bytes=sum(e.size_bytes for e in entries),
        workers=workers,
    )


@router.post("/models/refresh", summary="Rescan the model folders now")
def refresh_models(request: Request, principal: CanReadModels) -> dict[str, int]:
    return {"count": len(_registry(request).refresh())}


def _entry(request: Request, model_id: str) -> ModelEntry:
    entry = _registry(request).get(model_id)
    if entry is None:
        raise NotFound(f"no model {model_id!r}")
    return entry


@router.get(
    "/models/{model_id}",
    response_model=ModelEntry,
    responses=problem_responses(401, 404),
    summary="One model by id ('<type>:<name>')",
)
def get_model(model_id: str, request: Request, redis: RedisDep, principal: CanReadModels) -> ModelEntry:
    return _with_hash(_entry(request, model_id), _registry(request), redis)


@router.post(
    "/models/{model_id}/hash",
    response_model=ModelEntry,
    responses=problem_responses(401, 404, 422, 429),
    summary="Compute (once; cached by path, size and mtime) the file's sha256 and A1111 short hash",
    description="Reads the whole file the first time: SDQ_HASHES_PER_MINUTE per principal (429 with Retry-After).",
)
def hash_model(model_id: str, request: Request, redis: RedisDep, principal: CanHash) -> ModelEntry:
    entry = _entry(request, model_id)
    registry = _registry(request)
    path = registry.models_dir / entry.path
    if entry.format in ("diffusers", "hub") or not path.is_file():
        raise RequestInvalid.for_field(["path", "model_id"], "only single files have a file hash")
    compute_sha256(redis, path)
    return _with_hash(entry, registry, redis)


def _operation(model_id: str, request: Request, operations: ControlOperations, action: str) -> ModelOperation:
    entry = _entry(request, model_id)
    if entry.type is not ModelType.CHECKPOINT or entry.status != "valid":
        raise RequestInvalid.for_field(["path", "model_id"], f"{model_id} is not a loadable checkpoint")
    if action == "load":
        _registry(request).ensure_loadable(entry, ("path", "model_id"))
    return operations.enqueue_model_operation(action, entry.name)


@router.post(
    "/models/{model_id}/load",
    status_code=202,
    response_model=ModelOperation,
    responses=problem_responses(401, 403, 404, 422),
    summary="Have the worker load a checkpoint now (ahead of queued jobs); poll links.self",
)
def load_model(model_id: str, request: Request, operations: OperationsDep, principal: CanWriteModels) -> ModelOperation:
    return _operation(model_id, request, operations, "load")


@router.post(
    "/models/{model_id}/unload",
    status_code=202,
    response_model=ModelOperation,
    responses=problem_responses(401, 403, 404, 422),
    summary="Have the worker release a resident checkpoint; poll links.self",
)
def unload_model(
    model_id: str, request: Request, operations: OperationsDep, principal: CanWriteModels
) -> ModelOperation:
    return _operation(model_id, request, operations, "unload")


@router.get(
    "/models/operations/{operation_id}",
    response_model=ModelOperation,
    responses=problem_responses(401, 404),
    summary="State of a load/unload",
)
def model_operation(operation_id: str, operations: OperationsDep, principal: CanReadModels) -> ModelOperation:
    return operations.view(operation_id)


@router.get(
    "/samplers",
    responses=problem_responses(401, 403, 422),
    summary="Samplers: API name and AUTOMATIC1111 label; with ?model=, only those that fit that checkpoint",
)
def samplers(
    request: Request,
    principal: CanReadModels,
    model: Annotated[
        str | None,
        Query(max_length=200, description="A checkpoint name: only the samplers that fit its family (SD3, Flux)."),
    ] = None,
) -> list[dict[str, str]]:
    fitting = list(Sampler)
    if model is not None:
        entry = _registry(request).get(f"checkpoint:{model}") if is_valid_name(model) else None
        if entry is None or entry.status != "valid":
            raise ModelNotFound.for_field(["query", "model"], f"unknown checkpoint {model!r}")
        fitting = samplers_for(entry.arch, entry.variant)
    return [{"name": s.value, "label": s.label} for s in fitting]


@router.get("/schedulers", summary="Noise schedule types (A1111 'Schedule type')")
async def schedulers(principal: CanReadModels) -> list[dict[str, str]]:
    return [{"name": s.value, "label": SCHEDULER_LABELS[s]} for s in ScheduleType]
