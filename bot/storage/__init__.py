"""Storage: the `Store` contract and its two implementations. `make_store` picks one from the settings:
PostgreSQL when DATABASE_URL is set, else the SQLite file at DATABASE_PATH (with the session cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.storage.base import (
    ChatRecord,
    DropoffRow,
    FunnelRow,
    Handoff,
    Job,
    NewHandoff,
    NewJob,
    Saved,
    StorageBusy,
    StorageError,
    Store,
    VersionConflict,
    utc_now,
)
from bot.storage.cache import CachedStore
from bot.storage.sqlite import SqliteStore

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "CachedStore",
    "ChatRecord",
    "DropoffRow",
    "FunnelRow",
    "Handoff",
    "Job",
    "NewHandoff",
    "NewJob",
    "Saved",
    "SqliteStore",
    "StorageBusy",
    "StorageError",
    "Store",
    "VersionConflict",
    "make_store",
    "utc_now",
]


def make_store(settings: Settings, runner: bool = False) -> Store:
    """The store the settings name: PostgreSQL when DATABASE_URL is set, else SQLite at DATABASE_PATH.
    `runner`: this process runs the bot, so SQLite refuses a second process and keeps the session cache."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url:
        from bot.storage.postgres import PostgresStore  # the driver is needed only for PostgreSQL

        return PostgresStore(url)
    sqlite = SqliteStore(settings.database_path, single_process=runner, synchronous=settings.sqlite_synchronous)
    return CachedStore(sqlite) if runner else sqlite
