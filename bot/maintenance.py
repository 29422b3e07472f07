"""Maintenance commands on whichever store the settings name: online backup (SQLite), retention purge, a
chat's data export (right of access), funnel statistics, and moving everything from SQLite to PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.pictures import draw_funnel_chart
from bot.settings import Settings
from bot.stats import SMALL_CELL, chart_groups, content_bugs, dropoff_table, funnel_table, render
from bot.storage import SqliteStore, StorageError, Store, make_store, utc_now
from bot.storage.base import TABLES
from bot.storage.postgres import PostgresStore, describe_url

IDLE_AFTER = timedelta(hours=24)  # idle longer than this at a state: there, people gave up


@asynccontextmanager
async def opened(store: Store) -> AsyncIterator[Store]:
    """The store, open for the duration of the block."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def backup(settings: Settings, target: Path) -> int:
    """Copy the live SQLite database consistently (safe while the bot writes); PostgreSQL: use pg_dump."""
    store = make_store(settings)
    if isinstance(store, SqliteStore) and not settings.database_path.is_file():
        raise StorageError(f"no database at {settings.database_path} (DATABASE_PATH)")
    async with opened(store) as found:
        backup_to = getattr(found, "backup", None)
        assert backup_to is not None
        await backup_to(target)
    print(f"backed up to {target}")
    return 0


async def purge(settings: Settings) -> int:
    """Erase chats idle for longer than RETENTION_DAYS."""
    async with opened(make_store(settings)) as store:
        idle = await store.idle_chats(utc_now() - timedelta(days=settings.retention_days))
        erased = sum([await store.erase(chat_id) for chat_id in idle])
    print(f"erased {erased} chat(s) idle for more than {settings.retention_days} days")
    return 0


async def export(settings: Settings, chat_id: int) -> int:
    """Print everything stored about one chat as JSON."""
    async with opened(make_store(settings)) as store:
        data = await store.export(chat_id)
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))
    return 0


async def stats(
    settings: Settings, clinic: str | None, since: date | None, dropoff: bool = False, chart: Path | None = None
) -> int:
    """Print the funnel per clinic and week (cells under 5 masked) and the content bugs counted; with `dropoff`,
    where chats idle for more than a day wait; with `chart`, draw the funnel into that PNG file."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=utc_now().tzinfo) if since else None
    async with opened(make_store(settings)) as store:
        rows = await store.funnel_rows(clinic, start)
        idle = await store.dropoff(utc_now() - IDLE_AFTER) if dropoff else []
    print(render(funnel_table(rows)))
    print(f"content bugs counted: {content_bugs(rows)} (each is logged with its state)")
    if dropoff:
        states = [state.id for state in _flow_states(settings)]
        print()
        print(render(dropoff_table(idle, states, {clinic} if clinic is not None else None)))
    if chart is not None:
        drawn = draw_funnel_chart(chart_groups(rows), SMALL_CELL, "<5")
        chart.write_bytes(drawn.png)
        print(f"wrote {chart}")
    return 0


def _flow_states(settings: Settings) -> list[Any]:
    from flows.loader import load_content

    loaded = load_content(settings.content_dir)
    return list(loaded.content.flow.states) if loaded.content is not None else []


async def migrate_store(settings: Settings, target_url: str) -> int:
    """Copy every chat, event, hand-off, job and kept update from the SQLite file to PostgreSQL. Safe to run
    again (rows already there are kept); the counts are compared at the end."""
    if not settings.database_path.is_file():
        raise StorageError(f"no database at {settings.database_path} (DATABASE_PATH) to copy from")
    source = SqliteStore(settings.database_path)
    target = PostgresStore(target_url)
    async with opened(source), opened(target):
        for table in TABLES:
            async for rows in source.dump(table):
                await target.restore(table, rows)
        mismatched = []
        for table in TABLES:
            have, copied = await source.count(table), await target.count(table)
            print(f"{table}: {have} in SQLite, {copied} in PostgreSQL")
            if copied < have:
                mismatched.append(table)
    if mismatched:
        raise StorageError(f"the copy to {describe_url(target_url)} is missing rows of: {', '.join(mismatched)}")
    print(f"copied {settings.database_path} to {describe_url(target_url)}; set DATABASE_URL to use it")
    return 0


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
