"""API keys -> roles. Keys are compared in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from api.errors import ApiError

Role = Literal["dispatcher", "planner", "service", "courier"]
ROLES: tuple[Role, ...] = ("dispatcher", "planner", "service", "courier")


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    courier_id: str | None = None
    key_id: str = ""

    @property
    def actor(self) -> str:
        """Who did it, for the audit trail (role and a key fingerprint, never the key)."""
        who = f"courier:{self.courier_id}" if self.role == "courier" else self.role
        return f"{who}#{self.key_id}"


@dataclass(frozen=True, slots=True)
class KeyRing:
    entries: tuple[tuple[bytes, Principal], ...]

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """`dispatcher:KEY,planner:KEY,service:KEY,courier:c01:KEY`."""
        entries = []
        for raw in (part.strip() for part in spec.split(",")):
            if not raw:
                continue
            parts = raw.split(":")
            if parts[0] == "courier" and len(parts) == 3 and parts[1] and parts[2]:
                principal = Principal("courier", parts[1], _fingerprint(parts[2]))
                entries.append((_digest(parts[2]), principal))
            elif len(parts) == 2 and parts[0] in ROLES and parts[0] != "courier" and parts[1]:
                entries.append((_digest(parts[1]), Principal(parts[0], None, _fingerprint(parts[1]))))
            else:
                raise ValueError(f"ONTIME_API_KEYS entry {raw.split(':')[0]!r}... is not ROLE:KEY or courier:ID:KEY")
        return cls(tuple(entries))

    def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise ApiError(401, "forbidden", "missing X-API-Key header")
        given = _digest(key)  # equal lengths: compare_digest then leaks not even the key's length
        found: Principal | None = None
        for secret, principal in self.entries:  # no early exit: constant time in the key
            if hmac.compare_digest(secret, given):
                found = principal
        if found is None:
            raise ApiError(401, "forbidden", "unknown API key")
        return found


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise ApiError(403, "forbidden", f"the {principal.role} role may not do this")


def require_courier_access(principal: Principal, courier_id: str) -> None:
    """Dispatchers, planners and service see every courier; a courier only themselves."""
    if principal.role == "courier" and principal.courier_id != courier_id:
        raise ApiError(403, "forbidden", "a courier may only access their own route")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]
