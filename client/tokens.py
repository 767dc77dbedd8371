"""How the client authenticates: an API key, a bearer token, or a login whose access token is refreshed.

With ``username``/``password`` the client logs in on its first call (``POST /api/v1/auth/login``) and, once the
access token is within ``refresh_margin`` seconds of its expiry (default: a quarter of its lifetime, at most
60 s), trades the refresh token for a new pair (``POST /api/v1/auth/refresh``; each refresh token works once).
A 401 on a call renews the token once (refresh, else a new login) and sends the call again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from client.errors import Unauthorized
from client.flow import NO_CREDENTIALS, Call, Flow, exchange
from client.retry import RetryPolicy
from schemas.auth import TokenPair

LOGIN_PATH = "/api/v1/auth/login"
REFRESH_PATH = "/api/v1/auth/refresh"
MAX_DEFAULT_MARGIN = 60.0


class Credentials:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        expires_at: float | None = None,
        username: str | None = None,
        password: str | None = None,
        refresh_margin: float | None = None,
        on_tokens: Callable[[TokenPair, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Nine keyword parameters: the three kinds of credentials and their token state, each optional; the constructor
        checks that exactly one kind is given.
        """
        kinds = [name for name, given in (("api_key", api_key), ("token", token), ("username", username)) if given]
        if len(kinds) > 1:
            raise TypeError(f"give one of api_key, token or username/password, not {' and '.join(kinds)}")
        if (username is None) != (password is None):
            raise TypeError("username and password go together")
        self.api_key = api_key
        self.token = token
        self.refresh_token = refresh_token
        self.expires_at = expires_at  # wall-clock epoch seconds
        self.username = username
        self._password = password
        self.refresh_margin = refresh_margin
        self.on_tokens = on_tokens
        self.clock = clock
        self.lifetime: float | None = None
        self.refreshes = 0
        self.logins = 0

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def current_token(self) -> str | None:
        return self.api_key or self.token

    def can_recover(self) -> bool:
        return bool(self.refresh_token or self._password is not None)

    def margin(self) -> float:
        if self.refresh_margin is not None:
            return self.refresh_margin
        return min(MAX_DEFAULT_MARGIN, (self.lifetime or 4 * MAX_DEFAULT_MARGIN) / 4)

    def is_due(self) -> bool:
        """Whether a login or a refresh should happen before the next call."""
        if self.api_key:
            return False
        if self.token is None:
            return self._password is not None
        if self.refresh_token is None or self.expires_at is None:
            return False
        return self.clock() >= self.expires_at - self.margin()

    def accept(self, pair: TokenPair) -> None:
        now = self.clock()
        self.token, self.refresh_token = pair.access_token, pair.refresh_token
        self.lifetime = float(pair.expires_in)
        self.expires_at = now + pair.expires_in
        if self.on_tokens is not None:
            self.on_tokens(pair, self.expires_at)

    def renew(self, policy: RetryPolicy, stale: str | None = None, force: bool = False) -> Flow:
        """Log in or refresh if due (or ``force``d after a 401), unless the token was renewed meanwhile."""
        if stale is not None and self.current_token() != stale:
            return  # another call renewed it already
        if not force and not self.is_due():
            return
        if self.api_key or not self.can_recover():
            return
        if self.refresh_token:
            call = Call("POST", REFRESH_PATH, json={"refresh_token": self.refresh_token}, authenticated=False)
            try:
                reply = yield from exchange(call, NO_CREDENTIALS, policy)
                self.accept(TokenPair.model_validate_json(reply.body))
                self.refreshes += 1
                return
            except Unauthorized:
                self.refresh_token = None
                if self._password is None:
                    raise
        if self._password is not None and self.username is not None:
            body = {"username": self.username, "password": self._password}
            login = Call("POST", LOGIN_PATH, json=body, authenticated=False)
            reply = yield from exchange(login, NO_CREDENTIALS, policy)
            self.accept(TokenPair.model_validate_json(reply.body))
            self.logins += 1
