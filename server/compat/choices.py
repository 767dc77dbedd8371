"""The checkpoint an AUTOMATIC1111 client chose with ``POST /sdapi/v1/options``, kept per principal in Redis.

A1111 holds one checkpoint for the whole server; sdqueue runs any installed model per request, so the choice is
remembered for the caller only and used by its txt2img/img2img calls that name no checkpoint.
"""

from __future__ import annotations

from redis import Redis

from models.registry import ModelRegistry
from server.compat.a1111_map import checkpoint_name

CHOICE_TTL = 90 * 24 * 3600
PREFIX = "sdq:"  # the prefix of every sdqueue key (schemas.keys)


def choice_key(owner: str) -> str:
    return f"{PREFIX}compat:a1111:checkpoint:{owner}"


def chosen_checkpoint(redis: Redis, owner: str) -> str | None:
    value = redis.get(choice_key(owner))
    return value.decode() if isinstance(value, bytes) else None


def choose_checkpoint(redis: Redis, registry: ModelRegistry, owner: str, title: str) -> str:
    """Remember ``title``'s checkpoint for ``owner`` (ModelNotFound naming the field when it is not installed)."""
    name = registry.find_checkpoint_entry(checkpoint_name(title)).name
    redis.set(choice_key(owner), name, ex=CHOICE_TTL)
    return name
