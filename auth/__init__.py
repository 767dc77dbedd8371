"""Authentication and authorisation: principals and scopes, JWT, API keys, local and PAM accounts, limits,
signed image URLs, and the FastAPI dependencies that apply them (``auth.deps``).

Modes (``SDQ_AUTH``, comma-separated): ``none`` (default; the API then binds to loopback only), ``optional``
(anonymous requests act as ``guest``), ``jwt``, ``api-key``, ``pam``, ``unix``.
"""
