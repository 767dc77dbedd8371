"""When to send a request again: 429 and 503 only, after the server's ``Retry-After``, within bounds."""

from __future__ import annotations

from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` more attempts at most, sleeping at most ``max_wait`` seconds in all.

    The delay is the answer's ``Retry-After`` (capped at ``max_delay``), else ``backoff`` doubled per attempt.
    A ``Retry-After`` longer than what is left of ``max_wait`` is not waited for: the error is raised at once.
    """

    max_retries: int = 5
    max_wait: float = 60.0
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, status: int, retry_after: float | None, attempt: int, waited: float) -> float | None:
        """Seconds to sleep before attempt ``attempt + 1`` (``attempt`` counts from 0), or None: give up."""
        if status not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        wanted = retry_after if retry_after is not None else self.backoff * (2**attempt)
        wanted = min(max(wanted, 0.0), self.max_delay)
        if waited + wanted > self.max_wait:
            return None
        return wanted


NO_RETRY = RetryPolicy(max_retries=0)
