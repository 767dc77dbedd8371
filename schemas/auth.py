"""Auth request and response bodies."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


class Scope(StrEnum):
    GENERATE = "generate"
    JOBS_READ = "jobs:read"
    MODELS_READ = "models:read"
    MODELS_WRITE = "models:write"
    QUEUE_ADMIN = "queue:admin"
    USERS_ADMIN = "users:admin"
    METRICS_READ = "metrics:read"
    KEYS_READ = "keys:read"
    KEYS_WRITE = "keys:write"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(None, max_length=4096, description="Revoked too, when given.")


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token lives.")


class Me(BaseModel):
    user: str
    roles: list[str]
    scopes: list[str]
    method: str = Field(description="none | guest | jwt | api-key")
    key_id: str | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] | None = Field(
        None, description="Subset of your own scopes (and of your API key's, when you use one); null = all of them."
    )
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="null = never expires; made with an API key: at most that key's remaining life, null = its expiry.",
    )
    owner: str | None = Field(None, description="Admins only: create the key for another user.")


class KeyView(BaseModel):
    id: str
    owner: str
    name: str
    scopes: list[str]
    created_at: float
    expires_at: float | None


class KeyCreated(KeyView):
    key: str = Field(description="The key itself: shown this once, only its sha256 is kept.")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    roles: list[Role] = Field([Role.USER])


class UserView(BaseModel):
    name: str
    roles: list[str]
    disabled: bool
    created_at: float


class RolesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role]
