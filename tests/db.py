"""What is physically in an SQLite database file, read with the standard sqlite3 module (read-only), for tests
that check what the bot stored: nothing outside the store runs SQL against a live database otherwise."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows `sql` selects from the database file at `path`, opened read-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


def stored(env: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows `sql` selects from the database file of a running test bot (`env.settings.database_path`)."""
    return rows(env.settings.database_path, sql, params)
