"""A live progress bar on stderr from a job's events: stage, step/total, and the server's ETA and it/s."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from client.events import JobEvent


class ProgressBar:
    """Fed with :class:`JobEvent`\\ s; draws nothing when ``enabled`` is false."""

    def __init__(self, job_id: str, enabled: bool = True, file: TextIO | None = None) -> None:
        self.job_id = job_id
        self.enabled = enabled
        self.file = file or sys.stderr
        self._bar: Any = None

    def update(self, event: JobEvent) -> None:
        if not self.enabled or event.is_terminal:
            return
        bar = self._ensure()
        data = event.data
        if event.event == "queued":
            position = data.get("position")
            bar.set_description_str(f"queued #{position}" if position else "queued", refresh=False)
        elif event.event == "started":
            bar.set_description_str("started", refresh=False)
        elif event.event == "requeued":
            bar.set_description_str(f"requeued ({data.get('reason', 'worker lost')})", refresh=False)
        elif event.event == "progress":
            bar.set_description_str(str(data.get("stage") or "denoising"), refresh=False)
            if data.get("total"):
                bar.total = int(data["total"])
            bar.n = int(data.get("step") or 0)
            bar.set_postfix_str(_rates(data), refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _ensure(self) -> Any:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=0,
                file=self.file,
                dynamic_ncols=True,
                desc="queued",
                bar_format="{desc}: {bar} {n_fmt}/{total_fmt}{postfix}",
                leave=False,
            )
        return self._bar


def _rates(data: dict[str, Any]) -> str:
    parts = []
    if data.get("eta_seconds") is not None:
        parts.append(f"ETA {float(data['eta_seconds']):.1f}s")
    if data.get("its") is not None:
        parts.append(f"{float(data['its']):.2f} it/s")
    return ", ".join(parts)
