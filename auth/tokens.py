"""JWT access and refresh tokens (python-jose).

Verification names the one configured algorithm, so ``alg: none`` and algorithm confusion (an HS256 token
signed with the RS256 public key) are refused, and requires the configured issuer (``iss``) and audience
(``aud``), so a token another service signed with a shared key is refused too. Every token has a ``jti``:
logout revokes it until its expiry (``sdq:revoked:<jti>``). A refresh token is valid once: its jti sits in
``sdq:refresh:<jti>`` and is taken with GETDEL when used, so a reused refresh token finds nothing and is refused.
Every token also carries its user's session epoch (``epo``, see ``auth.sessions``); one from an older epoch (the
password changed, the account was disabled) is refused, access tokens included.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from jose import JWTError, jwt
from redis import Redis

from auth.keys import SigningKeys
from auth.principal import Role
from schemas.keys import epoch_key, refresh_token_key, revoked_token_key


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenPolicy:
    access_ttl: int
    refresh_ttl: int
    issuer: str
    audience: str


class TokenService:
    def __init__(self, redis: Redis, keys: SigningKeys, policy: TokenPolicy) -> None:
        self.redis = redis
        self.keys = keys
        self.policy = policy

    def _encode(self, claims: dict[str, Any]) -> str:
        return str(jwt.encode(claims, self.keys.signing_key, algorithm=self.keys.algorithm))

    def _claims(self, user: str, kind: str, ttl: int, epoch: int) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.policy.issuer,
            "aud": self.policy.audience,
            "sub": user,
            "typ": kind,
            "epo": epoch,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }

    def issue(self, user: str, roles: list[Role], epoch: int) -> dict[str, Any]:
        """An access and a refresh token of session epoch ``epoch`` (read before the credentials were checked, so a
        password change during a login ends the session it opens)."""
        access = {**self._claims(user, "access", self.policy.access_ttl, epoch), "roles": list(roles)}
        refresh = self._claims(user, "refresh", self.policy.refresh_ttl, epoch)
        self.redis.set(refresh_token_key(refresh["jti"]), user, ex=self.policy.refresh_ttl)
        return {
            "access_token": self._encode(access),
            "refresh_token": self._encode(refresh),
            "token_type": "bearer",
            "expires_in": self.policy.access_ttl,
        }

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.keys.verifying_key,
                algorithms=[self.keys.algorithm],
                audience=self.policy.audience,
                issuer=self.policy.issuer,
                options={
                    "require_exp": True,
                    "require_sub": True,
                    "require_jti": True,
                    "require_iss": True,
                    "require_aud": True,
                },
            )
        except JWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("typ") != expected_type:
            raise InvalidToken(f"not an {expected_type} token")
        if not isinstance(claims.get("epo"), int):
            raise InvalidToken("no session epoch")
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(revoked_token_key(claims["jti"]))
        pipe.get(epoch_key(str(claims["sub"])))
        revoked, epoch = pipe.execute()
        if revoked:
            raise InvalidToken("token revoked")
        if claims["epo"] != int(epoch or 0):
            raise InvalidToken("session ended (password changed or account disabled)")
        return claims

    def refresh(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unused refresh token of the current epoch (which is used up by this call)."""
        claims = self.decode(token, "refresh")
        if self.redis.getdel(refresh_token_key(claims["jti"])) is None:
            raise InvalidToken("refresh token already used or revoked")
        return claims

    def revoke(self, claims: dict[str, Any]) -> None:
        remaining = max(1, int(claims["exp"]) - int(time.time()))
        self.redis.set(revoked_token_key(claims["jti"]), 1, ex=remaining)
        if claims.get("typ") == "refresh":
            self.redis.delete(refresh_token_key(claims["jti"]))
