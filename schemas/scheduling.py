"""Scheduling contracts shared by the API and the workers: the settings of model affinity and fair shares, the
payload version a job is written in, and the rule that says which worker may run which job.

A job's RQ ``meta`` carries ``owner``, ``model``, ``weight`` (its owner's fair-share weight), ``version`` (the
project version of the API that queued it) and ``payload_version`` (the shape of ``JobPayload``). A worker takes
only jobs it :func:`is_compatible` with; the others stay queued for a worker that can run them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings

# Bump when JobPayload changes in a way an older worker cannot read (a new required field, a renamed one).
PAYLOAD_VERSION = 1
WINDOW = 200
"""Jobs at the head of each priority queue that the workers choose among (fair shares, affinity); behind it, jobs
keep their queue order. The API's positions put the same window in fair order, so a poll costs at most this."""


class SchedulingSettings(BaseSettings):
    """The scheduling knobs; ``schemas.settings.Settings`` inherits them (same ``SDQ_`` prefix)."""

    affinity_wait: float = Field(
        10.0,
        ge=0,
        description="Model affinity: seconds a job may be passed over by workers without its model while another "
        "live worker holds it; after that any worker takes it. 0 turns affinity off.",
    )
    fair_share_weights: dict[str, float] = Field(
        {},
        description="Fair shares: role -> weight (a JSON object). Within a priority, users are served in turn, "
        "a user of weight 2 twice per round; a user's weight is the largest of their roles' (default 1).",
    )

    def weight_of(self, roles: Iterable[str]) -> float:
        weights = [self.fair_share_weights[r] for r in roles if r in self.fair_share_weights]
        return max(weights) if weights else 1.0


def release_of(version: str) -> str:
    """``major.minor`` of a version string: workers of the same release run each other's jobs."""
    return ".".join(version.split(".")[:2])


def is_compatible(meta: dict[str, Any], version: str, payload_version: int = PAYLOAD_VERSION) -> bool:
    """Whether a worker of ``version`` can run a job with this ``meta``: the same payload version and the same
    release (jobs queued before these fields existed count as payload version 1, any release)."""
    if int(meta.get("payload_version", 1)) != payload_version:
        return False
    queued_by = meta.get("version")
    return queued_by is None or release_of(str(queued_by)) == release_of(version)
