"""Signing material: the JWT keys and the key for signed image URLs, derived from one secret.

The secret is ``SDQ_JWT_SECRET``, or, when that is unset, a random one generated on first start and kept in
``<data_dir>/auth/secret.key`` (mode 0600), so restarts and several API processes share it. The file is written
to a temporary name and hard-linked into place, which fails if the name exists: two processes starting together
agree on the first one's secret, and nobody reads a half-written file. A kept file that is empty, short or a
well-known default stops the server (it is never silently replaced: that would end every session). Outside
development a configured secret that is weak stops it too.

Two keys are derived from the secret with HKDF-SHA256 (RFC 5869) under distinct labels: one signs HS256 tokens,
one signs image URLs, so neither can stand in for the other. RS256/ES256 sign tokens with PEM key files; image
URLs still use the derived key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

log = logging.getLogger(__name__)

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "password", "jwt-secret", "sdqueue", "default"}
MIN_SECRET_LENGTH = 32
JWT_LABEL = b"sdqueue/jwt-hs256/v1"
URL_LABEL = b"sdqueue/signed-image-urls/v1"


class InsecureConfiguration(Exception):
    pass


@dataclass(frozen=True)
class SigningKeys:
    algorithm: str
    signing_key: str | bytes
    verifying_key: str | bytes
    url_secret: bytes


def derive_key(secret: bytes, label: bytes) -> bytes:
    """HKDF-SHA256 without salt: a 32-byte key for ``label`` (extract, then one expand block)."""
    prk = hmac.new(b"\0" * hashlib.sha256().digest_size, secret, hashlib.sha256).digest()
    return hmac.new(prk, label + b"\x01", hashlib.sha256).digest()


def secret_path(data_dir: Path) -> Path:
    return data_dir / "auth" / "secret.key"


def is_weak(secret: str) -> bool:
    return secret.strip().lower() in WEAK_SECRETS or len(secret.strip()) < MIN_SECRET_LENGTH


def read_secret(path: Path) -> str:
    """The kept secret; InsecureConfiguration if it is empty, short or a default (it is not replaced)."""
    value = path.read_text().strip()
    if is_weak(value):
        raise InsecureConfiguration(
            f"{path} holds a weak secret ({len(value)} characters, at least {MIN_SECRET_LENGTH} needed); it is not "
            "replaced on its own: delete the file to have a new one generated (every token and signed URL then "
            "ends), or write a strong secret into it"
        )
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    return value


def create_secret(path: Path) -> None:
    """Write a new random secret to ``path`` unless one is there already (then that one stays)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp_name, path)  # exclusive, like O_EXCL: fails when another process was first
    except FileExistsError:
        pass
    except OSError as exc:
        raise InsecureConfiguration(f"cannot create {path} ({exc}); set SDQ_JWT_SECRET instead") from exc
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def kept_secret(data_dir: Path) -> str:
    """The secret in <data_dir>/auth/secret.key, created on first use."""
    path = secret_path(data_dir)
    if not path.exists():
        create_secret(path)
    return read_secret(path)


def configured_secret(settings: Settings) -> str | None:
    if settings.jwt_secret is None:
        return None
    secret = settings.jwt_secret.get_secret_value()
    if is_weak(secret) and settings.environment != "development":
        raise InsecureConfiguration(
            f"SDQ_JWT_SECRET is empty, a default or shorter than {MIN_SECRET_LENGTH} characters; set a strong "
            "one, or unset it to have one generated (SDQ_ENVIRONMENT=development allows weak secrets)"
        )
    return secret


def load_signing_keys(settings: Settings) -> SigningKeys:
    secret = configured_secret(settings)
    if secret is None:
        secret = kept_secret(settings.data_dir)
    url_secret = derive_key(secret.encode(), URL_LABEL)
    if settings.jwt_algorithm == "HS256":
        jwt_key = derive_key(secret.encode(), JWT_LABEL)
        return SigningKeys("HS256", jwt_key, jwt_key, url_secret)
    if settings.jwt_private_key_file is None or settings.jwt_public_key_file is None:
        raise InsecureConfiguration(f"{settings.jwt_algorithm} needs SDQ_JWT_PRIVATE_KEY_FILE and _PUBLIC_KEY_FILE")
    return SigningKeys(
        settings.jwt_algorithm,
        settings.jwt_private_key_file.read_text(),
        settings.jwt_public_key_file.read_text(),
        url_secret,
    )
