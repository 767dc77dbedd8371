"""Signing material: the JWT keys and the secret for signed image URLs.

HS256 uses ``SDQ_JWT_SECRET``; when it is unset a random secret is generated on first start and kept in
``<data_dir>/auth/secret.key`` with mode 0600 (so restarts and several API processes share it). Outside
development a set-but-weak secret (empty, short, or a well-known default) stops the server from starting.
RS256/ES256 read PEM key files. Image URLs are signed (HMAC-SHA256) with the same kept/configured secret.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "password", "jwt-secret", "sdqueue", "default"}
MIN_SECRET_LENGTH = 32


class InsecureConfiguration(Exception):
    pass


@dataclass(frozen=True)
class SigningKeys:
    algorithm: str
    signing_key: str
    verifying_key: str
    url_secret: bytes


def kept_secret(data_dir: Path) -> str:
    """The secret in <data_dir>/auth/secret.key, created (0600) on first use."""
    path = data_dir / "auth" / "secret.key"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def load_signing_keys(settings: Settings) -> SigningKeys:
    configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret is not None else None
    weak = configured is not None and (
        configured.strip().lower() in WEAK_SECRETS or len(configured) < MIN_SECRET_LENGTH
    )
    if weak and settings.environment != "development":
        raise InsecureConfiguration(
            f"SDQ_JWT_SECRET is empty, a default or shorter than {MIN_SECRET_LENGTH} characters; set a strong "
            "one, or unset it to have one generated (SDQ_ENVIRONMENT=development allows weak secrets)"
        )
    secret = configured if configured is not None else kept_secret(settings.data_dir)
    if settings.jwt_algorithm == "HS256":
        return SigningKeys("HS256", secret, secret, secret.encode())
    if settings.jwt_private_key_file is None or settings.jwt_public_key_file is None:
        raise InsecureConfiguration(f"{settings.jwt_algorithm} needs SDQ_JWT_PRIVATE_KEY_FILE and _PUBLIC_KEY_FILE")
    return SigningKeys(
        settings.jwt_algorithm,
        settings.jwt_private_key_file.read_text(),
        settings.jwt_public_key_file.read_text(),
        secret.encode(),
    )
