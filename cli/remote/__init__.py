"""The client side of the ``sdqueue`` command: generate, img2img, inpaint, upscale, login, logout, jobs, cancel,
models and queue talk to a server over HTTP with :mod:`client`; they never import the service or torch."""

from __future__ import annotations

COMMANDS = frozenset(
    {"generate", "img2img", "inpaint", "upscale", "login", "logout", "jobs", "cancel", "models", "queue"}
)
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELED = 0, 1, 2, 130
