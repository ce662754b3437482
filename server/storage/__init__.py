"""Storage: `open_store(url)` gives a migrated `Store`; `Repository` is the only storage API."""

from __future__ import annotations

from server.storage.db import Store
from server.storage.migrate import upgrade
from server.storage.repos.annotators import Person
from server.storage.repository import Conflict, NotFound, Repository


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at `url`, bringing its schema to the newest migration first."""
    store = Store(url)
    if migrate:
        upgrade(store)
    return store


__all__ = ["Conflict", "NotFound", "Person", "Repository", "Store", "open_store"]
