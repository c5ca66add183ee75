"""The store's errors. The API maps them to HTTP: StoreUnavailable -> 503, NotFound -> 404,
Conflict -> 409."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (or stayed locked/busy past the timeout); retry later."""


class NotFound(StoreError, LookupError):
    """The requested row does not exist."""


class Conflict(StoreError):
    """A uniqueness rule would be broken (repeated event id, second open call for a stop, ...)."""
