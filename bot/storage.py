"""SQLite storage: one row per chat, stage events for analytics, numbered migrations.

The interface is deliberately narrow (load, save with version, erase, mark inactive, funnel counts) so a
PostgreSQL module can stand behind it for multi-worker deployments.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.migrations import MIGRATIONS
from flows.session import Session


class StorageError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class VersionConflict(Exception):
    """Another writer saved this chat since it was loaded (the row version moved on)."""


@dataclass
class ChatRecord:
    """A chat's stored row: the session plus bookkeeping the engine does not need."""

    chat_id: int
    session: Session
    row_version: int = 0  # 0 = not stored yet
    consent_at: str | None = None
    consent_version: str | None = None
    active: bool = True


def utc_now() -> str:
    """The current time as ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteStore:
    """Sessions and events in one SQLite file (WAL mode); one connection, used from one event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()  # one connection: one transaction at a time

    async def open(self) -> None:
        """Create the folder and file if needed, set WAL and busy timeout, and run pending migrations."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA secure_delete=ON")  # erased answers are overwritten, not just unlinked
            await self._migrate()
        except (sqlite3.DatabaseError, OSError) as error:
            await self.close()
            raise StorageError(
                f"cannot use the database {self.path}: {error}. Check that the folder is writable and the disk is "
                "not full; if the file is damaged, restore it from a backup or move it aside to start empty "
                "(DATABASE_PATH sets its location)."
            ) from None

    async def close(self) -> None:
        """Close the connection (safe to call twice)."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError(f"the database {self.path} is not open")
        return self._db

    async def _migrate(self) -> None:
        db = self.db
        await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
        done = {row[0] for row in rows}
        for version, script in MIGRATIONS:
            if version in done:
                continue
            statements = [s.strip() for s in script.split(";") if s.strip()]
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now()))
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise

    async def load(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None when the chat has no row."""
        rows = list(
            await self.db.execute_fetchall(
                "SELECT state, step, answers, progress, language, clinic, consent, content_version, row_version,"
                " consent_at, consent_version, active FROM sessions WHERE chat_id = ?",
                (chat_id,),
            )
        )
        if not rows:
            return None
        (
            state,
            step,
            answers,
            progress,
            language,
            clinic,
            consent,
            version,
            row_version,
            consent_at,
            consent_version,
            active,
        ) = rows[0]
        extra = json.loads(progress)
        session = Session(
            state=state,
            step=step,
            answers=json.loads(answers),
            consent=None if consent is None else bool(consent),
            language=language,
            clinic=clinic,
            content_version=version,
            history=extra.get("history", []),
            draft=extra.get("draft", []),
        )
        return ChatRecord(chat_id, session, row_version, consent_at, consent_version, bool(active))

    async def save(self, record: ChatRecord, stages: Iterable[str] = ()) -> ChatRecord:
        """Write the record and its stage events in one transaction; VersionConflict if it moved on."""
        session = record.session
        now = utc_now()
        answers = json.dumps(session.answers if session.consent else {}, ensure_ascii=False, sort_keys=True)
        progress = json.dumps({"history": session.history, "draft": session.draft if session.consent else []})
        consent = None if session.consent is None else int(session.consent)
        values = (
            session.state,
            session.step,
            answers,
            progress,
            session.language,
            session.clinic,
            consent,
            record.consent_at,
            record.consent_version,
            session.content_version,
            now,
        )
        async with self._write_lock:
            await self._save(record, values, stages, now)
        record.row_version += 1
        record.active = True
        return record

    async def _save(self, record: ChatRecord, values: tuple[Any, ...], stages: Iterable[str], now: str) -> None:
        db = self.db
        session = record.session
        await db.execute("BEGIN IMMEDIATE")
        try:
            if record.row_version == 0:
                try:
                    await db.execute(
                        "INSERT INTO sessions (state, step, answers, progress, language, clinic, consent, consent_at,"
                        " consent_version, content_version, updated_at, chat_id, created_at, row_version, active)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)",
                        (*values, record.chat_id, now),
                    )
                except sqlite3.IntegrityError:
                    raise VersionConflict(record.chat_id) from None
            else:
                cursor = await db.execute(
                    "UPDATE sessions SET state = ?, step = ?, answers = ?, progress = ?, language = ?, clinic = ?,"
                    " consent = ?, consent_at = ?, consent_version = ?, content_version = ?, updated_at = ?,"
                    " active = 1, row_version = row_version + 1 WHERE chat_id = ? AND row_version = ?",
                    (*values, record.chat_id, record.row_version),
                )
                if cursor.rowcount != 1:
                    raise VersionConflict(record.chat_id)
            if stages:
                await db.executemany(
                    "INSERT INTO events (chat_id, clinic, stage, at) VALUES (?, ?, ?, ?)",
                    [(record.chat_id, session.clinic, stage, now) for stage in stages],
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise

    async def erase(self, chat_id: int) -> bool:
        """Delete every row holding this chat's id; keep one anonymous 'deleted' event. True if it had data."""
        async with self._write_lock:
            return await self._erase(chat_id)

    async def _erase(self, chat_id: int) -> bool:
        db = self.db
        await db.execute("BEGIN IMMEDIATE")
        try:
            rows = list(await db.execute_fetchall("SELECT clinic FROM sessions WHERE chat_id = ?", (chat_id,)))
            await db.execute("DELETE FROM sessions WHERE chat_id = ?", (chat_id,))
            await db.execute("DELETE FROM events WHERE chat_id = ?", (chat_id,))
            if rows:
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at) VALUES (NULL, ?, 'deleted', ?)",
                    (rows[0][0], utc_now()),
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old page images leave the write-ahead log too
        return bool(rows)

    async def mark_inactive(self, chat_id: int) -> None:
        """The user blocked the bot: stop sending until they write again."""
        async with self._write_lock:
            await self.db.execute("UPDATE sessions SET active = 0 WHERE chat_id = ?", (chat_id,))

    async def funnel(self, clinic: str | None = None) -> dict[str, int]:
        """Count of distinct chats per stage (and anonymous 'deleted' events), optionally for one clinic."""
        where, params = ("WHERE clinic = ?", (clinic,)) if clinic else ("", ())
        rows = await self.db.execute_fetchall(
            f"SELECT stage, COUNT(DISTINCT COALESCE(chat_id, -id)) FROM events {where} GROUP BY stage",
            params,
        )
        return {stage: count for stage, count in rows}

    async def execute_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Read-only query for tests and maintenance commands."""
        return list(await self.db.execute_fetchall(sql, params))
