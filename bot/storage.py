"""SQLite storage: one row per chat, stage events for analytics, numbered migrations.

The interface is deliberately narrow (load, save with version, erase, mark inactive, funnel counts) so a
PostgreSQL module can stand behind it for multi-worker deployments.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.migrations import MIGRATIONS
from flows.session import Session
from flows.stages import ANONYMOUS

CACHE_SIZE = 10_000  # chats kept in memory (a few KB each)


class StorageBusy(Exception):
    """Another process held the database locked for longer than we wait."""


class StorageError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class VersionConflict(Exception):
    """Another writer saved this chat since it was loaded (the row version moved on)."""


@dataclass(frozen=True)
class NewHandoff:
    """A consented hand-off to store with the step that produced it."""

    clinic: str
    contact: dict[str, str]
    summary: str  # the summary Document as JSON


@dataclass(frozen=True)
class Handoff:
    """A stored hand-off."""

    id: int
    chat_id: int
    clinic: str
    status: str
    contact: dict[str, str]
    summary: str | None
    language: str
    attempts: int
    patient_told: bool
    created_at: str


@dataclass
class ChatRecord:
    """A chat's stored row: the session plus bookkeeping the engine does not need."""

    chat_id: int
    session: Session
    row_version: int = 0  # 0 = not stored yet
    consent_at: str | None = None
    consent_version: str | None = None
    active: bool = True
    last_update_id: int | None = None  # the newest Telegram update applied to this chat
    recent_updates: tuple[int, ...] = ()  # ids of the last updates applied, to spot redeliveries


def utc_now() -> str:
    """The current time as ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteStore:
    """Sessions and events in one SQLite file (WAL mode); one connection, used from one event loop."""

    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()  # one connection: one transaction at a time
        # Recently active chats, as last written: a row is read from disk once, then served from here.
        # Every write still checks the row version, so a stale entry can never overwrite newer data.
        self._cache: OrderedDict[int, ChatRecord] = OrderedDict()

    async def open(self) -> None:
        """Create the folder and file if needed, set WAL and busy timeout, and run pending migrations."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
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

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if anything fails in between."""
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise
        await self.db.execute("COMMIT")

    async def _migrate(self) -> None:
        db = self.db
        await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
        done = {row[0] for row in rows}
        for version, script in MIGRATIONS:
            if version in done:
                continue
            statements = [s.strip() for s in script.split(";") if s.strip()]
            async with self._transaction():
                for statement in statements:
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now()))

    async def load(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None when the chat has no row (do not change it: save a new one)."""
        cached = self._cache.get(chat_id)
        if cached is not None:
            self._cache.move_to_end(chat_id)
            return cached
        rows = list(
            await self.db.execute_fetchall(
                "SELECT state, step, answers, progress, language, clinic, consent, content_version, row_version,"
                " consent_at, consent_version, active, last_update_id FROM sessions WHERE chat_id = ?",
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
            last_update_id,
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
            handoff_clinic=extra.get("handoff_clinic"),
            awaiting_contact=extra.get("awaiting_contact", False),
            has_username=extra.get("has_username", False),
        )
        recent = tuple(extra.get("recent_updates", ()))
        record = ChatRecord(
            chat_id, session, row_version, consent_at, consent_version, bool(active), last_update_id, recent
        )
        self._remember(record)
        return record

    def _remember(self, record: ChatRecord) -> None:
        self._cache[record.chat_id] = record
        self._cache.move_to_end(record.chat_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def save(
        self, record: ChatRecord, stages: Iterable[str] = (), handoff: NewHandoff | None = None
    ) -> int | None:
        """Write the record, its stage events and a new hand-off in one transaction (VersionConflict if the
        row moved on); returns the new hand-off's id."""
        session = record.session
        now = utc_now()
        answers = json.dumps(session.answers if session.consent else {}, ensure_ascii=False, sort_keys=True)
        progress = json.dumps(
            {
                "history": session.history,
                "draft": session.draft if session.consent else [],
                "handoff_clinic": session.handoff_clinic,
                "awaiting_contact": session.awaiting_contact,
                "has_username": session.has_username,
                "recent_updates": list(record.recent_updates),
            }
        )
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
            record.last_update_id,
            now,
        )
        try:
            async with self._write_lock:
                if record.row_version and not stages and handoff is None:
                    await self._update_row(record, values)  # one statement: its own transaction, one round trip
                    handoff_id = None
                else:
                    handoff_id = await self._save(record, values, stages, now, handoff)
        except BaseException:
            self._cache.pop(record.chat_id, None)  # reload from disk next time
            raise
        record.row_version += 1
        record.active = True
        self._remember(record)
        return handoff_id

    async def _update_row(self, record: ChatRecord, values: tuple[Any, ...]) -> None:
        cursor = await self.db.execute(
            "UPDATE sessions SET state = ?, step = ?, answers = ?, progress = ?, language = ?, clinic = ?,"
            " consent = ?, consent_at = ?, consent_version = ?, content_version = ?, last_update_id = ?,"
            " updated_at = ?, active = 1, row_version = row_version + 1 WHERE chat_id = ? AND row_version = ?",
            (*values, record.chat_id, record.row_version),
        )
        if cursor.rowcount != 1:
            raise VersionConflict(record.chat_id)

    async def _save(
        self, record: ChatRecord, values: tuple[Any, ...], stages: Iterable[str], now: str, handoff: NewHandoff | None
    ) -> int | None:
        db = self.db
        session = record.session
        async with self._transaction():
            if record.row_version == 0:
                try:
                    await db.execute(
                        "INSERT INTO sessions (state, step, answers, progress, language, clinic, consent, consent_at,"
                        " consent_version, content_version, last_update_id, updated_at, chat_id, created_at,"
                        " row_version, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)",
                        (*values, record.chat_id, now),
                    )
                except sqlite3.IntegrityError:
                    raise VersionConflict(record.chat_id) from None
            else:
                await self._update_row(record, values)
            if stages:  # stages that reveal the safety screen's outcome are kept without the chat id
                await db.executemany(
                    "INSERT INTO events (chat_id, clinic, stage, at) VALUES (?, ?, ?, ?)",
                    [(None if stage in ANONYMOUS else record.chat_id, session.clinic, stage, now) for stage in stages],
                )
            handoff_id = None
            if handoff is not None:
                cursor = await db.execute(
                    "INSERT INTO handoffs (chat_id, clinic, status, contact, summary, language, created_at, updated_at)"
                    " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (
                        record.chat_id,
                        handoff.clinic,
                        json.dumps(handoff.contact),
                        handoff.summary,
                        session.language,
                        now,
                        now,
                    ),
                )
                handoff_id = cursor.lastrowid
        return handoff_id

    async def erase(self, chat_id: int) -> bool:
        """Delete every row holding this chat's id; keep one anonymous 'deleted' event. True if it had data."""
        self._cache.pop(chat_id, None)
        async with self._write_lock:
            return await self._erase(chat_id)

    async def _erase(self, chat_id: int) -> bool:
        db = self.db
        async with self._transaction():
            rows = list(await db.execute_fetchall("SELECT clinic FROM sessions WHERE chat_id = ?", (chat_id,)))
            await db.execute("DELETE FROM sessions WHERE chat_id = ?", (chat_id,))
            await db.execute(  # funnel counts stay right, but nothing links them to this person any more
                "UPDATE events SET chat_id = NULL, at = substr(at, 1, 10) WHERE chat_id = ?", (chat_id,)
            )
            await db.execute("DELETE FROM handoffs WHERE chat_id = ?", (chat_id,))
            if rows:
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at) VALUES (NULL, ?, 'deleted', ?)",
                    (rows[0][0], utc_now()),
                )
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old page images leave the write-ahead log too
        return bool(rows)

    async def handoffs(self, chat_id: int | None = None, status: str | None = None) -> list[Handoff]:
        """Hand-offs of one chat and/or with one status, oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if chat_id is not None:
            where.append("chat_id = ?")
            params.append(chat_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = (
            "SELECT id, chat_id, clinic, status, contact, summary, language, attempts, patient_told, created_at"
            " FROM handoffs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        )
        rows = await self.db.execute_fetchall(sql, tuple(params))
        return [
            Handoff(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"), r[5], r[6], r[7], bool(r[8]), r[9]) for r in rows
        ]

    async def update_handoff(
        self, handoff_id: int, status: str, error: str | None = None, patient_told: bool | None = None
    ) -> None:
        """Record a delivery attempt; once sent, the copy of the summary and contact is dropped."""
        async with self._write_lock:
            db = self.db
            async with self._transaction():
                await db.execute(
                    "UPDATE handoffs SET status = ?, attempts = attempts + ?, last_error = ?, updated_at = ?,"
                    " patient_told = COALESCE(?, patient_told),"
                    " summary = CASE WHEN ? = 'sent' THEN NULL ELSE summary END,"
                    " contact = CASE WHEN ? = 'sent' THEN NULL ELSE contact END WHERE id = ?",
                    (
                        status,
                        1 if error else 0,
                        error,
                        utc_now(),
                        None if patient_told is None else int(patient_told),
                        status,
                        status,
                        handoff_id,
                    ),
                )
                if status == "sent":
                    await db.execute(
                        "INSERT INTO events (chat_id, clinic, stage, at)"
                        " SELECT chat_id, clinic, 'handed_off', ? FROM handoffs WHERE id = ?",
                        (utc_now(), handoff_id),
                    )

    async def funnel_rows(self, clinic: str | None = None, since: str | None = None) -> list[tuple[str, str, str, int]]:
        """(clinic, ISO week, stage, distinct chats) for the funnel; chats without a clinic show as ''."""
        where = ["1 = 1"]
        params: list[Any] = []
        if clinic is not None:
            where.append("clinic = ?")
            params.append(clinic)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        rows = await self.db.execute_fetchall(
            "SELECT COALESCE(clinic, ''), strftime('%Y-W%W', at), stage, COUNT(DISTINCT COALESCE(chat_id, -id))"
            " FROM events WHERE " + " AND ".join(where) + " GROUP BY 1, 2, 3 ORDER BY 1, 2",
            tuple(params),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def purge(self, idle_days: int) -> int:
        """Erase every chat idle for more than `idle_days` (as /delete would); returns how many."""
        cutoff = (datetime.now(UTC) - timedelta(days=idle_days)).isoformat(timespec="seconds")
        rows = await self.db.execute_fetchall("SELECT chat_id FROM sessions WHERE updated_at < ?", (cutoff,))
        for (chat_id,) in rows:
            await self.erase(chat_id)
        return len(list(rows))

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything stored about one chat, as plain data (the right of access)."""
        data: dict[str, Any] = {"chat_id": chat_id}
        for table in ("sessions", "events", "handoffs"):
            cursor = await self.db.execute(f"SELECT * FROM {table} WHERE chat_id = ?", (chat_id,))
            names = [column[0] for column in cursor.description]
            rows = await cursor.fetchall()
            data[table] = [dict(zip(names, row, strict=True)) for row in rows]
        for row in data["sessions"]:
            for column in ("answers", "progress"):
                row[column] = json.loads(row[column])
        return data

    async def mark_inactive(self, chat_id: int) -> None:
        """The user blocked the bot: stop sending until they write again."""
        self._cache.pop(chat_id, None)
        async with self._write_lock:
            await self.db.execute("UPDATE sessions SET active = 0 WHERE chat_id = ?", (chat_id,))

    async def execute_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A read-only query (tests and maintenance use it)."""
        return list(await self.db.execute_fetchall(sql, params))
