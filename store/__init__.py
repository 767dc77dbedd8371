"""The Redis records and stores that the API and the worker both run, each record with one model that writes and
reads it (``progress``, ``heartbeat``, ``stepstats``, ``usage``), the event stream, metrics and result-cache
stores, the connection policy (``connection``), and the one atomic file writer (``files``). Key names live in
``schemas.keys``.

``store`` imports ``schemas`` and Redis/RQ only; ``server`` and ``worker`` may both import it.
"""
