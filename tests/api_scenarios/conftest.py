"""The real `ontime serve` fixtures of `tests/api` (a server per store backend, a solved day)."""

from tests.api.conftest import day, plan, receiver, server

__all__ = ["day", "plan", "receiver", "server"]
