"""Authentication and authorisation (principals, JWT, API keys, PAM). Not built yet: see issue #5.

Until then the API has no authentication and therefore binds to 127.0.0.1 unless ``--insecure`` is given.
"""
