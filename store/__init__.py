"""Redis-backed parts that the API and the worker both run: the connection policy (``store.connection``).

``store`` imports ``schemas`` and Redis/RQ only; ``server`` and ``worker`` may both import it.
"""
