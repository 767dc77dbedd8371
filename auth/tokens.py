"""JWT access and refresh tokens (python-jose).

Verification names the one configured algorithm, so ``alg: none`` and algorithm confusion (an HS256 token
signed with the RS256 public key) are refused. Every token has a ``jti``: logout revokes it until its expiry
(``sdq:revoked:<jti>``). A refresh token is valid once: its jti sits in ``sdq:refresh:<jti>`` and is taken
with GETDEL when used, so a reused refresh token finds nothing and is refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from jose import JWTError, jwt
from redis import Redis

from auth.keys import SigningKeys
from auth.principal import Role


class InvalidToken(Exception):
    pass


class TokenService:
    def __init__(self, redis: Redis, keys: SigningKeys, access_ttl: int, refresh_ttl: int) -> None:
        self.redis = redis
        self.keys = keys
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def _encode(self, claims: dict[str, Any]) -> str:
        return str(jwt.encode(claims, self.keys.signing_key, algorithm=self.keys.algorithm))

    def issue(self, user: str, roles: list[Role]) -> dict[str, Any]:
        now = int(time.time())
        access = {
            "sub": user,
            "roles": list(roles),
            "typ": "access",
            "iat": now,
            "exp": now + self.access_ttl,
            "jti": uuid.uuid4().hex,
        }
        refresh_jti = uuid.uuid4().hex
        refresh = {"sub": user, "typ": "refresh", "iat": now, "exp": now + self.refresh_ttl, "jti": refresh_jti}
        self.redis.set(f"sdq:refresh:{refresh_jti}", user, ex=self.refresh_ttl)
        return {
            "access_token": self._encode(access),
            "refresh_token": self._encode(refresh),
            "token_type": "bearer",
            "expires_in": self.access_ttl,
        }

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.keys.verifying_key,
                algorithms=[self.keys.algorithm],
                options={"require_exp": True, "require_sub": True, "require_jti": True},
            )
        except JWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("typ") != expected_type:
            raise InvalidToken(f"not an {expected_type} token")
        if self.redis.exists(f"sdq:revoked:{claims['jti']}"):
            raise InvalidToken("token revoked")
        return claims

    def refresh(self, token: str) -> str:
        """The user of a valid, unused refresh token (which is used up by this call)."""
        claims = self.decode(token, "refresh")
        if self.redis.getdel(f"sdq:refresh:{claims['jti']}") is None:
            raise InvalidToken("refresh token already used or revoked")
        return str(claims["sub"])

    def revoke(self, claims: dict[str, Any]) -> None:
        remaining = max(1, int(claims["exp"]) - int(time.time()))
        self.redis.set(f"sdq:revoked:{claims['jti']}", 1, ex=remaining)
        if claims.get("typ") == "refresh":
            self.redis.delete(f"sdq:refresh:{claims['jti']}")
