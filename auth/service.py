"""One object the API holds for everything auth: modes, stores, tokens, limits, URL signing."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis

from auth.apikeys import ApiKeyRecord, ApiKeyStore, check_key_bounds
from auth.keys import SigningKeys, load_signing_keys
from auth.limits import Limits, LoginLimits
from auth.pam_check import is_in_group, pam_authenticate, system_account_problem
from auth.principal import ANONYMOUS_ADMIN, Principal, Role, Scope, scopes_for_roles
from auth.sessions import current_epoch, end_sessions
from auth.signing import is_valid_signature, sign_path
from auth.tokens import InvalidToken, TokenPolicy, TokenService
from auth.users import UserStore
from schemas.auth import KeyCreate
from schemas.errors import Forbidden, RequestInvalid, Unauthorized
from schemas.settings import Settings

log = logging.getLogger(__name__)

PASSWORD_MODES = frozenset({"jwt", "pam", "unix"})
BAD_LOGIN = "invalid username or password"


class AuthService:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.modes = settings.auth_modes
        self.enabled = settings.auth_enabled
        self.users = UserStore(redis)
        self.api_keys = ApiKeyStore(redis)
        self.limits = Limits(
            redis,
            LoginLimits(
                per_user=settings.login_max_failures,
                per_address=settings.login_max_failures_per_address,
                window=settings.login_window_seconds,
            ),
        )
        # With auth off nothing is signed or verified, so no secret file is created either.
        self.keys = load_signing_keys(settings) if self.enabled else SigningKeys("HS256", "", "", b"")
        policy = TokenPolicy(
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        self.tokens = TokenService(redis, self.keys, policy)

    @property
    def accepts_passwords(self) -> bool:
        return bool(self.modes & PASSWORD_MODES)

    # -- who is this -------------------------------------------------------------------------------------
    def guest(self) -> Principal:
        scopes = sorted(Scope(s) for s in self.settings.guest_scopes)
        return Principal(name="guest", roles=[], scopes=scopes, method="guest")

    def anonymous(self) -> Principal:
        if not self.enabled:
            return ANONYMOUS_ADMIN
        if "optional" in self.modes:
            return self.guest()
        raise Unauthorized("authentication required")

    def from_bearer(self, credential: str) -> Principal:
        if credential.startswith("sdq_"):
            return self.from_api_key(credential)
        if not self.accepts_passwords:
            raise Unauthorized("bearer tokens are not accepted here")
        try:
            claims = self.tokens.decode(credential, "access")
        except InvalidToken as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        user = self.users.get(claims["sub"])
        if user is not None and user.disabled:
            raise Unauthorized("account disabled")
        roles = user.roles if user is not None else [Role(r) for r in claims.get("roles", [])]
        return Principal(name=claims["sub"], roles=roles, scopes=sorted(scopes_for_roles(roles)), method="jwt")

    def from_api_key(self, key: str) -> Principal:
        if "api-key" not in self.modes:
            raise Unauthorized("API keys are not accepted here")
        record = self.api_keys.lookup(key)
        if record is None:
            raise Unauthorized("invalid, revoked or expired API key")
        owner = self.users.get(record.owner)
        if owner is not None and owner.disabled:
            raise Unauthorized("account disabled")
        roles = owner.roles if owner is not None else [Role.USER]
        scopes = sorted(set(record.scopes) & scopes_for_roles(roles))
        return Principal(name=record.owner, roles=roles, scopes=scopes, method="api-key", key_id=record.id)

    # -- passwords ---------------------------------------------------------------------------------------
    def check_password(self, username: str, password: str) -> list[Role] | None:
        """Roles of the account when the password is right: local accounts first, then PAM (blocking)."""
        if "jwt" in self.modes:
            record = self.users.authenticate(username, password)
            if record is not None:
                return record.roles
        if self.modes & {"pam", "unix"} and self.users.get(username) is None:
            group = self.settings.unix_group if "unix" in self.modes else None
            if group is not None and not is_in_group(username, group):
                return None
            if pam_authenticate(username, password, self.settings.pam_service):
                return [Role.USER]
        return None

    def log_in(self, username: str, password: str, address: str) -> dict[str, Any]:
        """A token pair for the right password. The attempt is counted before the password is checked
        (TooManyRequests once the user name or the address has used up its attempts); Unauthorized otherwise."""
        self.limits.reserve_login(username, address)
        epoch = current_epoch(self.redis, username)
        roles = self.check_password(username, password)
        if roles is None:
            log.warning("failed login for %r from %s", username, address)
            raise Unauthorized(BAD_LOGIN)
        self.limits.release_login(username, address)
        return self.tokens.issue(username, roles, epoch)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new pair for a valid, unused refresh token of an account that may still log in. A system account
        that is gone, locked or out of its group ends all its sessions here."""
        try:
            claims = self.tokens.refresh(refresh_token)
        except InvalidToken as exc:
            raise Unauthorized(f"invalid refresh token: {exc}") from exc
        user = str(claims["sub"])
        record = self.users.get(user)
        if record is not None:
            if record.disabled:
                raise Unauthorized("account disabled")
            return self.tokens.issue(user, record.roles, claims["epo"])
        if not self.modes & {"pam", "unix"}:
            raise Unauthorized("no such account")
        group = self.settings.unix_group if "unix" in self.modes else None
        problem = system_account_problem(user, group)
        if problem is not None:
            end_sessions(self.redis, user)
            log.warning("ended the sessions of %r: %s", user, problem)
            raise Unauthorized(problem)
        return self.tokens.issue(user, [Role.USER], claims["epo"])

    # -- API keys ----------------------------------------------------------------------------------------------
    def mint_key(self, principal: Principal, request: KeyCreate) -> tuple[ApiKeyRecord, str]:
        """A new key for the caller (admins: for anyone), with no scope the caller lacks; minted with an API key,
        also none beyond that key's scopes and expiry."""
        owner = request.owner or principal.name
        if owner != principal.name and not principal.is_admin:
            raise Forbidden("only admins create keys for other users")
        allowed = set(principal.scopes)
        if owner != principal.name:
            record = self.users.get(owner)
            if record is None:
                raise RequestInvalid.for_field(["body", "owner"], f"no user {owner!r}")
            allowed &= scopes_for_roles(record.roles)
        parent = self.api_keys.get(principal.key_id) if principal.key_id is not None else None
        if principal.key_id is not None and parent is None:
            raise Unauthorized("invalid, revoked or expired API key")
        scopes = set(request.scopes) if request.scopes is not None else allowed
        days = request.expires_in_days
        expires = check_key_bounds(scopes, allowed, time.time() + days * 86400 if days else None, parent)
        return self.api_keys.create(owner, request.name, sorted(scopes), expires)

    # -- signed image URLs -------------------------------------------------------------------------------
    def sign(self, path: str) -> str:
        return sign_path(self.keys.url_secret, path, self.settings.signed_url_ttl) if self.enabled else path

    def is_signed(self, path: str, expires: int | None, signature: str | None) -> bool:
        return is_valid_signature(self.keys.url_secret, path, expires, signature)
