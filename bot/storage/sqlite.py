"""The embedded default store: one SQLite file (WAL), one connection, one process.

A second process on the same file is refused (a lock file beside the database), because per-chat order and
job claims are kept in this process. Several workers need PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.base import (
    TABLES,
    ChatRecord,
    DropoffRow,
    FunnelRow,
    Handoff,
    HandoffStatus,
    InboxUpdate,
    Job,
    NewHandoff,
    NewJob,
    Saved,
    StorageBusy,
    StorageError,
    VersionConflict,
    as_utc,
    decode_progress,
    event_day,
    iso_week,
    record_from_row,
    session_columns,
    utc_now,
)
from bot.storage.locks import ChatLocks
from bot.storage.migrations import MIGRATIONS
from flows.stages import ANONYMOUS, Stage

BATCH = 1000
TIME_COLUMNS = {
    "sessions": ("consent_at", "created_at", "updated_at"),
    "events": ("at",),
    "handoffs": ("created_at", "updated_at"),
    "jobs": ("due_at", "lease_until"),
}
KEYS = {"sessions": "chat_id", "inbox": "update_id", "events": "id", "handoffs": "id", "jobs": "id"}
SESSION_COLUMNS = (
    "state, step, answers, progress, language, clinic, consent, consent_at, consent_version, content_version"
)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _day(moment: datetime) -> str:
    """An event's time as kept: its day, YYYY-MM-DD (see `event_day`)."""
    return event_day(moment).date().isoformat()


class SqliteStore:
    """Sessions, events, hand-offs and jobs in one SQLite file."""

    backend = "sqlite"

    def __init__(
        self, path: Path, busy_timeout_ms: int = 5000, single_process: bool = False, synchronous: str = "NORMAL"
    ) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.single_process = single_process  # a bot runner: refuse a second process on the same file
        # NORMAL: a commit survives the process being killed; a power cut may lose the last ones (never the
        # file's consistency). FULL syncs the log at every commit, so commits survive a power cut too.
        self.synchronous = "FULL" if synchronous == "FULL" else "NORMAL"
        self._db: aiosqlite.Connection | None = None
        self._lock_file: int | None = None
        self._write = asyncio.Lock()  # one connection: one transaction at a time
        self._chats = ChatLocks()

    # --- opening --------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the folder and file if needed, set WAL and the busy timeout, run pending migrations."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.single_process:
                self._claim_file()
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            await self._wal()
            await self._db.execute(f"PRAGMA synchronous={self.synchronous}")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA secure_delete=ON")  # erased answers are overwritten, not just unlinked
            await self._migrate()
        except sqlite3.OperationalError as error:
            await self.close()
            raise StorageError(
                f"cannot use the database {self.path} (DATABASE_PATH): {error}. If another program holds it "
                "locked, stop it and start again; check that the folder is writable and the disk is not full."
            ) from None
        except (sqlite3.DatabaseError, OSError) as error:
            await self.close()
            raise StorageError(
                f"cannot use the database {self.path} (DATABASE_PATH): {error}. Check that the folder is writable "
                "and the disk is not full; if the file is damaged, restore it from a backup or move it aside to "
                "start empty."
            ) from None

    async def _wal(self) -> None:
        """Switch to write-ahead logging. On a new file another process may be switching it at the same moment,
        which SQLite reports as busy without waiting: try again for up to the busy timeout."""
        for _ in range(max(1, self.busy_timeout_ms // 50)):
            try:
                await self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                await asyncio.sleep(0.05)
        await self.db.execute("PRAGMA journal_mode=WAL")

    def _claim_file(self) -> None:
        handle = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise StorageError(
                f"another bot process is already using {self.path} (DATABASE_PATH). SQLite serves one process; "
                "to run several workers, use PostgreSQL: set DATABASE_URL=postgresql://user@host:5432/db "
                "(see docs/deploy.md)."
            ) from None
        self._lock_file = handle

    async def close(self) -> None:
        """Close the connection and let go of the file (safe to call twice)."""
        if self._db is not None:
            await self._db.close()
            self._db = None
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError(f"the database {self.path} is not open")
        return self._db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK if anything fails), one at a time; a lock held by another
        program for longer than the busy timeout becomes StorageBusy. A task cancelled half-way (its process is
        stopping) leaves no transaction open behind it."""
        async with self._write:
            await self._end_leftover_transaction()
            try:
                await self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StorageBusy(str(error)) from None
            except asyncio.CancelledError:
                await asyncio.shield(self._settle())
                raise
            try:
                yield self.db
            except BaseException:
                await asyncio.shield(self._settle())
                raise
            await self.db.execute("COMMIT")

    async def _end_leftover_transaction(self) -> None:
        """Roll back a transaction left open by a task cancelled at the wrong moment (nothing of it committed);
        callers hold the write lock."""
        if self.db.in_transaction:
            await self.db.execute("ROLLBACK")

    async def _settle(self) -> None:
        """Roll back the open transaction, if any. The connection runs statements in order on its own thread: a
        cancelled BEGIN may still be queued there, so wait for it (a statement after it) before looking."""
        await self.db.execute("SELECT 1")
        if self.db.in_transaction:
            await self.db.execute("ROLLBACK")

    async def _migrate(self) -> None:
        db = self.db
        await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        for migration in MIGRATIONS:
            async with self._transaction():  # checked again under the write lock: another process may be first
                done = await db.execute_fetchall(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                )
                if list(done):
                    continue
                for statement in migration.statements("sqlite"):
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (migration.version, _text(utc_now())))

    # --- chats ----------------------------------------------------------------------------------------

    def chat_lock(self, chat_id: int) -> Any:
        """One update of a chat at a time (this process is the only one on the file)."""
        return self._chats.hold(chat_id)

    async def load(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None."""
        rows = await self._read(
            f"SELECT chat_id, {SESSION_COLUMNS}, row_version, active FROM sessions WHERE chat_id = ?", (chat_id,)
        )
        return record_from_row(rows[0]) if rows else None

    async def save(
        self,
        record: ChatRecord,
        stages: Iterable[Stage] = (),
        handoff: NewHandoff | None = None,
        now: datetime | None = None,
        jobs: Sequence[NewJob] = (),
    ) -> Saved:
        """Write the record, its events and a new hand-off with its delivery job, in one transaction."""
        now = now or utc_now()
        columns = session_columns(record)
        columns["consent_at"] = _text(columns["consent_at"])
        names = list(columns)
        values = [columns[name] for name in names]
        stages = list(stages)
        handoff_id = None
        if record.row_version and not stages and handoff is None and not jobs:
            # Most answers change the row alone: one statement, atomic by itself, one trip to the database thread.
            async with self._write:
                await self._end_leftover_transaction()
                try:
                    cursor = await self.db.execute(
                        f"UPDATE sessions SET {', '.join(f'{name} = ?' for name in names)}, updated_at = ?,"
                        " active = 1, row_version = row_version + 1 WHERE chat_id = ? AND row_version = ?",
                        (*values, _text(now), record.chat_id, record.row_version),
                    )
                except sqlite3.OperationalError as error:  # locked by another program past the busy timeout
                    raise StorageBusy(str(error)) from None
            if cursor.rowcount != 1:
                raise VersionConflict(record.chat_id)
            return Saved(record.stored(), None)
        async with self._transaction() as db:
            if record.row_version == 0:
                try:
                    await db.execute(
                        f"INSERT INTO sessions ({', '.join(names)}, chat_id, created_at, updated_at, row_version,"
                        " active)"
                        f" VALUES ({', '.join('?' for _ in names)}, ?, ?, ?, 1, 1)",
                        (*values, record.chat_id, _text(now), _text(now)),
                    )
                except sqlite3.IntegrityError:
                    raise VersionConflict(record.chat_id) from None
            else:
                cursor = await db.execute(
                    f"UPDATE sessions SET {', '.join(f'{name} = ?' for name in names)}, updated_at = ?, active = 1,"
                    " row_version = row_version + 1 WHERE chat_id = ? AND row_version = ?",
                    (*values, _text(now), record.chat_id, record.row_version),
                )
                if cursor.rowcount != 1:
                    raise VersionConflict(record.chat_id)
            if stages:  # stages that reveal the safety screen's outcome are kept without the chat id
                await db.executemany(
                    "INSERT INTO events (chat_id, clinic, stage, at, week) VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            None if stage in ANONYMOUS else record.chat_id,
                            record.session.clinic,
                            str(stage),
                            _day(now),
                            iso_week(now),
                        )
                        for stage in stages
                    ],
                )
            if handoff is not None:
                cursor = await db.execute(
                    "INSERT INTO handoffs (chat_id, clinic, status, contact, summary, language, created_at, updated_at)"
                    " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (
                        record.chat_id,
                        handoff.clinic,
                        json.dumps(handoff.contact),
                        handoff.summary,
                        record.session.language,
                        _text(now),
                        _text(now),
                    ),
                )
                handoff_id = cursor.lastrowid
                await self._schedule(
                    db, "handoff", f"handoff:{handoff_id}", now, record.chat_id, {"handoff": handoff_id}
                )
            for job in jobs:
                await self._schedule(db, job.kind, job.key, job.due_at, record.chat_id, job.payload)
        return Saved(record.stored(), handoff_id)

    async def erase(self, chat_id: int) -> bool:
        """Delete the chat's row, hand-offs and jobs; its events (kept by the day) lose the chat id."""
        async with self._transaction() as db:
            rows = list(await db.execute_fetchall("SELECT clinic FROM sessions WHERE chat_id = ?", (chat_id,)))
            await db.execute("DELETE FROM sessions WHERE chat_id = ?", (chat_id,))
            await db.execute("UPDATE events SET chat_id = NULL WHERE chat_id = ?", (chat_id,))
            await db.execute("DELETE FROM handoffs WHERE chat_id = ?", (chat_id,))
            await db.execute("DELETE FROM jobs WHERE chat_id = ?", (chat_id,))
            await db.execute("DELETE FROM inbox WHERE chat_id = ?", (chat_id,))
            if rows:
                now = utc_now()
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at, week) VALUES (NULL, ?, ?, ?, ?)",
                    (rows[0][0], str(Stage.DELETED), _day(now), iso_week(now)),
                )
        async with self._write:
            await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old page images leave the log too
        return bool(rows)

    async def mark_inactive(self, chat_id: int) -> None:
        """The user blocked the bot."""
        async with self._transaction() as db:
            await db.execute("UPDATE sessions SET active = 0 WHERE chat_id = ?", (chat_id,))

    async def idle_chats(self, before: datetime) -> list[int]:
        """Chats last written before `before` with nothing scheduled for them."""
        rows = await self._read(
            "SELECT chat_id FROM sessions WHERE updated_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.chat_id = sessions.chat_id)",
            (_text(before),),
        )
        return [row["chat_id"] for row in rows]

    async def dropoff(self, before: datetime) -> list[DropoffRow]:
        """Chats idle since before `before`, per state, language and clinic."""
        rows = await self._read(
            "SELECT state, language, COALESCE(clinic, '') AS clinic, COUNT(*) AS n FROM sessions"
            " WHERE updated_at < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            (_text(before),),
        )
        return [DropoffRow(r["state"], r["language"], r["clinic"], r["n"]) for r in rows]

    async def funnel_rows(self, clinic: str | None = None, since: datetime | None = None) -> list[FunnelRow]:
        """Distinct chats per clinic, week and stage (an erased chat's events count once each)."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if clinic is not None:
            where.append("clinic = ?")
            params.append(clinic)
        if since is not None:
            where.append("at >= ?")
            params.append(since.date().isoformat())
        rows = await self._read(
            "SELECT COALESCE(clinic, '') AS clinic, week, stage, COUNT(DISTINCT COALESCE(chat_id, -id)) AS n"
            f" FROM events WHERE {' AND '.join(where)} GROUP BY 1, 2, 3 ORDER BY 1, 2",
            tuple(params),
        )
        return [FunnelRow(r["clinic"], r["week"], r["stage"], r["n"]) for r in rows]

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything stored about one chat."""
        data: dict[str, Any] = {"chat_id": chat_id}
        for table in TABLES:
            rows = await self._read(f"SELECT * FROM {table} WHERE chat_id = ?", (chat_id,))
            data[table] = [self._plain(table, row) for row in rows]
        for row in data["sessions"]:
            row["answers"], row["progress"] = json.loads(row["answers"]), decode_progress(row["progress"])
        return data

    # --- hand-offs ------------------------------------------------------------------------------------

    async def handoffs(self, chat_id: int | None = None, status: HandoffStatus | None = None) -> list[Handoff]:
        """Hand-offs of a chat and/or with a status, oldest first."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if chat_id is not None:
            where.append("chat_id = ?")
            params.append(chat_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        rows = await self._read(f"SELECT * FROM handoffs WHERE {' AND '.join(where)} ORDER BY id", tuple(params))
        return [_handoff(row) for row in rows]

    async def update_handoff(
        self,
        handoff_id: int,
        status: HandoffStatus,
        error: str | None = None,
        patient_told: bool | None = None,
        sent_part: tuple[str, int] | None = None,
    ) -> None:
        """Record an attempt or a delivered part; 'sent' drops the copy and counts 'handed_off' once."""
        now = utc_now()
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall("SELECT status, sent_parts FROM handoffs WHERE id = ?", (handoff_id,))
            )
            if not rows:
                return
            was, parts = rows[0][0], json.loads(rows[0][1])
            if sent_part is not None:
                parts[sent_part[0]] = sent_part[1]
            sent = status == "sent"
            await db.execute(
                "UPDATE handoffs SET status = ?, attempts = attempts + ?, last_error = ?, updated_at = ?,"
                " patient_told = COALESCE(?, patient_told), sent_parts = ?,"
                " summary = CASE WHEN ? THEN NULL ELSE summary END, contact = CASE WHEN ? THEN NULL ELSE contact END"
                " WHERE id = ?",
                (
                    status,
                    1 if error else 0,
                    error,
                    _text(now),
                    None if patient_told is None else int(patient_told),
                    json.dumps(parts),
                    sent,
                    sent,
                    handoff_id,
                ),
            )
            if sent and was != "sent":
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at, week)"
                    " SELECT chat_id, clinic, ?, ?, ? FROM handoffs WHERE id = ?",
                    (str(Stage.HANDED_OFF), _day(now), iso_week(now), handoff_id),
                )

    # --- jobs -----------------------------------------------------------------------------------------

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        chat_id: int | None = None,
        payload: dict[str, Any] | None = None,
        keep: bool = False,
    ) -> None:
        """Add a job, or move the job with this key to `due_at` (with `keep`, leave it as it is)."""
        async with self._transaction() as db:
            await self._schedule(db, kind, key, due_at, chat_id, payload or {}, keep)

    @staticmethod
    async def _schedule(
        db: aiosqlite.Connection,
        kind: str,
        key: str,
        due_at: datetime,
        chat_id: int | None,
        payload: dict[str, Any],
        keep: bool = False,
    ) -> None:
        on_conflict = "NOTHING" if keep else "UPDATE SET due_at = excluded.due_at, payload = excluded.payload"
        await db.execute(
            "INSERT INTO jobs (kind, key, chat_id, payload, due_at) VALUES (?, ?, ?, ?, ?)"
            f" ON CONFLICT (key) DO {on_conflict}",
            (kind, key, chat_id, json.dumps(payload), _text(due_at)),
        )

    async def claim(self, now: datetime, lease: timedelta, key: str | None = None) -> Job | None:
        """Take the most overdue free job (or the one with `key`) until now + lease."""
        where = "due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
        params: list[Any] = [_text(now), _text(now)]
        if key is not None:
            where += " AND key = ?"
            params.append(key)
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(f"SELECT * FROM jobs WHERE {where} ORDER BY due_at, id LIMIT 1", params)
            )
            if not rows:
                return None
            job_id = rows[0][0]
            await db.execute(
                "UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE id = ?", (_text(now + lease), job_id)
            )
        claimed = await self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(claimed[0])

    async def finish(self, job_id: int) -> None:
        """Remove a done job."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    async def cancel(self, chat_id: int, kind: str) -> int:
        """Remove the chat's jobs of `kind`."""
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM jobs WHERE chat_id = ? AND kind = ?", (chat_id, kind))
            return int(cursor.rowcount)

    async def retry(self, job_id: int, due_at: datetime) -> None:
        """Free the job to run again at `due_at`."""
        async with self._transaction() as db:
            await db.execute("UPDATE jobs SET due_at = ?, lease_until = NULL WHERE id = ?", (_text(due_at), job_id))

    async def jobs(self, chat_id: int | None = None) -> list[Job]:
        """Scheduled jobs, soonest first."""
        if chat_id is None:
            rows = await self._read("SELECT * FROM jobs ORDER BY due_at, id")
        else:
            rows = await self._read("SELECT * FROM jobs WHERE chat_id = ? ORDER BY due_at, id", (chat_id,))
        return [_job(row) for row in rows]

    # --- the inbox of long polling ---------------------------------------------------------------------

    async def inbox_add(self, updates: Sequence[InboxUpdate]) -> None:
        """Keep fetched updates until handled."""
        if updates:
            async with self._transaction() as db:
                await db.executemany(
                    "INSERT OR IGNORE INTO inbox (update_id, chat_id, body) VALUES (?, ?, ?)",
                    [(u.update_id, u.chat_id, u.body) for u in updates],
                )

    async def inbox_pending(self) -> list[InboxUpdate]:
        """Kept updates, oldest first."""
        rows = await self._read("SELECT update_id, chat_id, body FROM inbox ORDER BY update_id")
        return [InboxUpdate(r["update_id"], r["chat_id"], r["body"]) for r in rows]

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Forget handled updates."""
        if update_ids:
            async with self._transaction() as db:
                await db.executemany("DELETE FROM inbox WHERE update_id = ?", [(u,) for u in update_ids])

    # --- copying --------------------------------------------------------------------------------------

    async def dump(self, table: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row of `table`, in batches."""
        key = KEYS[table]
        last: int | None = None
        while True:
            where = f"WHERE {key} > ?" if last is not None else ""
            rows = await self._read(
                f"SELECT * FROM {table} {where} ORDER BY {key} LIMIT {BATCH}", (last,) if last is not None else ()
            )
            if not rows:
                return
            yield [self._plain(table, row) for row in rows]
            last = rows[-1][key]

    async def restore(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dumped rows with their ids; rows already there stay as they are."""
        if not rows:
            return
        names = list(rows[0])
        times = set(TIME_COLUMNS.get(table, ()))
        values = [[_text(row[n]) if n in times else row[n] for n in names] for row in rows]
        async with self._transaction() as db:
            await db.executemany(
                f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", values
            )

    async def count(self, table: str) -> int:
        """Rows in `table`."""
        rows = await self._read(f"SELECT COUNT(*) AS n FROM {table}")
        return int(rows[0]["n"])

    async def backup(self, target: Path) -> None:
        """A consistent copy of the live database (SQLite's backup API), safe while the bot writes."""
        if target.resolve() == self.path.resolve():
            raise StorageError("the backup file must not be the database itself")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        except sqlite3.DatabaseError as error:
            raise StorageError(f"cannot back up {self.path} to {target}: {error}") from None
        finally:
            copy.close()
            source.close()

    # --- helpers --------------------------------------------------------------------------------------

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            cursor = await self.db.execute(sql, params)
            names = [column[0] for column in cursor.description]
            rows = await cursor.fetchall()
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StorageBusy(str(error)) from None
            raise StorageError(f"reading {self.path} failed: {error}") from None
        return [dict(zip(names, row, strict=True)) for row in rows]

    @staticmethod
    def _plain(table: str, row: dict[str, Any]) -> dict[str, Any]:
        for column in TIME_COLUMNS.get(table, ()):
            if column in row:
                row[column] = as_utc(row[column])
        return row


def _handoff(row: dict[str, Any]) -> Handoff:
    created = as_utc(row["created_at"])
    assert created is not None
    return Handoff(
        id=row["id"],
        chat_id=row["chat_id"],
        clinic=row["clinic"],
        status=row["status"],
        contact=json.loads(row["contact"] or "{}"),
        summary=row["summary"],
        language=row["language"],
        attempts=row["attempts"],
        patient_told=bool(row["patient_told"]),
        created_at=created,
        sent_parts=json.loads(row["sent_parts"] or "{}"),
    )


def _job(row: dict[str, Any]) -> Job:
    due = as_utc(row["due_at"])
    assert due is not None
    return Job(
        id=row["id"],
        kind=row["kind"],
        key=row["key"],
        due_at=due,
        chat_id=row["chat_id"],
        payload=json.loads(row["payload"] or "{}"),
        attempts=row["attempts"],
    )
