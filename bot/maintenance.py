"""Maintenance commands: online backup, retention purge, and a chat's data export (right of access)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.storage import SqliteStore, StorageError


def backup(database: Path, target: Path) -> int:
    """Copy the live database consistently with SQLite's backup API (safe while the bot writes)."""
    if not database.is_file():
        raise StorageError(f"no database at {database} (DATABASE_PATH)")
    if target.resolve() == database.resolve():
        raise StorageError("the backup file must not be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"cannot back up {database} to {target}: {error}") from None
    finally:
        copy.close()
        source.close()
    print(f"backed up {database} to {target}")
    return 0


async def purge(database: Path, idle_days: int) -> int:
    """Erase chats idle for longer than `idle_days`."""
    store = SqliteStore(database)
    await store.open()
    try:
        erased = await store.purge(idle_days)
    finally:
        await store.close()
    print(f"erased {erased} chat(s) idle for more than {idle_days} days")
    return 0


async def export(database: Path, chat_id: int) -> int:
    """Print everything stored about one chat as JSON."""
    store = SqliteStore(database)
    await store.open()
    try:
        data = await store.export(chat_id)
    finally:
        await store.close()
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0
