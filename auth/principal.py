"""Who is asking: roles, scopes, and how they proved it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.auth import Role, Scope

__all__ = ["ANONYMOUS_ADMIN", "ROLE_SCOPES", "Principal", "Role", "Scope", "scopes_for_roles"]


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.USER: frozenset({Scope.GENERATE, Scope.JOBS_READ, Scope.MODELS_READ, Scope.KEYS_READ, Scope.KEYS_WRITE}),
}


def scopes_for_roles(roles: list[Role]) -> set[Scope]:
    granted: set[Scope] = set()
    for role in roles:
        granted |= ROLE_SCOPES[role]
    return granted


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="User name; the owner recorded on jobs.")
    roles: list[Role]
    scopes: list[Scope]
    method: str = Field(description="none | guest | jwt | api-key.")
    key_id: str | None = Field(None, description="The API key used, if any.")

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes


ANONYMOUS_ADMIN = Principal(name="anonymous", roles=[Role.ADMIN], scopes=sorted(Scope), method="none")
"""With auth off, the (loopback-only) caller may do everything."""
