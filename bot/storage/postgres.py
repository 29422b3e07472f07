"""The store for several workers: PostgreSQL through an asyncpg pool.

Per-chat order across workers is a session-level advisory lock on the chat id, held on a pooled connection
from loading the row until the last reply is sent. Everything the update does in the database runs on that
same connection, so an update needs one connection, never two (two would let a full pool of lock holders wait
on each other). A chat whose Bot API calls are slow holds its connection for that long, and nothing else
(other chats go on). Migrations run under a transaction-level advisory lock, so workers starting together
apply each one once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg

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
    decode_progress,
    event_day,
    iso_week,
    record_from_row,
    session_columns,
    utc_now,
)
from bot.storage.migrations import MIGRATIONS
from flows.stages import ANONYMOUS, Stage

MIGRATION_LOCK = (7357, 1)  # the two-key advisory lock space; chat locks use the one-key space
BATCH = 1000
KEYS = {"sessions": "chat_id", "inbox": "update_id", "events": "id", "handoffs": "id", "jobs": "id"}
SESSION_COLUMNS = (
    "state, step, answers, progress, language, clinic, consent, consent_at, consent_version, content_version"
)


def describe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresStore:
    """Sessions, events, hand-offs and jobs in PostgreSQL, shared by any number of workers."""

    backend = "postgres"

    def __init__(self, url: str, min_size: int = 2, max_size: int = 20, timeout_s: float = 10.0) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None
        self._held: dict[asyncio.Task[Any] | None, asyncpg.Connection] = {}  # a chat lock's connection, by task

    async def open(self) -> None:
        """Connect (a pool) and bring the schema up to date; a bad URL or server stops here, named."""
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.timeout_s,
                command_timeout=60,
            )
            await self._migrate()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TimeoutError) as error:
            await self.close()
            reason = str(error).replace(self.url, describe_url(self.url)) or type(error).__name__
            raise StorageError(
                f"cannot use the database at {describe_url(self.url)} (DATABASE_URL): {reason}. Check that the "
                "server is running and reachable, and that the user, password and database name are right."
            ) from None

    async def close(self) -> None:
        """Close the pool (safe to call twice)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StorageError(f"the database at {describe_url(self.url)} is not open")
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection of the chat lock this task holds, else one from the pool."""
        held = self._held.get(asyncio.current_task())
        try:
            if held is not None:
                yield held
            else:
                async with self.pool.acquire(timeout=self.timeout_s) as connection:
                    yield connection
        except (
            OSError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.CannotConnectNowError,
            TimeoutError,
        ) as error:
            raise StorageBusy(f"the database is unreachable: {type(error).__name__}") from None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._connection() as connection, connection.transaction():
            yield connection

    async def _migrate(self) -> None:
        async with self._transaction() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1, $2)", *MIGRATION_LOCK)
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
            )
            done = {row["version"] for row in await db.fetch("SELECT version FROM schema_migrations")}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration.statements("postgres"):
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations VALUES ($1, $2)", migration.version, utc_now())

    # --- chats ----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def chat_lock(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat across every worker: an advisory lock on its id; this task's queries inside the block
        run on the lock's connection."""
        task = asyncio.current_task()
        async with self._connection() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", chat_id)
            outer = self._held.get(task)
            self._held[task] = connection
            try:
                yield
            finally:
                if outer is None:
                    del self._held[task]
                await connection.execute("SELECT pg_advisory_unlock($1)", chat_id)

    async def load(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None."""
        async with self._connection() as db:
            row = await db.fetchrow(
                f"SELECT chat_id, {SESSION_COLUMNS}, row_version, active FROM sessions WHERE chat_id = $1", chat_id
            )
        return record_from_row(dict(row)) if row is not None else None

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
        names = list(columns)
        values = [columns[name] for name in names]
        count = len(names)
        handoff_id = None
        async with self._transaction() as db:
            if record.row_version == 0:
                status = await db.execute(
                    f"INSERT INTO sessions ({', '.join(names)}, chat_id, created_at, updated_at, row_version, active)"
                    f" VALUES ({', '.join(f'${i + 1}' for i in range(count))}, ${count + 1}, ${count + 2},"
                    f" ${count + 2}, 1, 1) ON CONFLICT (chat_id) DO NOTHING",
                    *values,
                    record.chat_id,
                    now,
                )
            else:
                status = await db.execute(
                    f"UPDATE sessions SET {', '.join(f'{n} = ${i + 1}' for i, n in enumerate(names))},"
                    f" updated_at = ${count + 1}, active = 1, row_version = row_version + 1"
                    f" WHERE chat_id = ${count + 2} AND row_version = ${count + 3}",
                    *values,
                    now,
                    record.chat_id,
                    record.row_version,
                )
            if not status.endswith(" 1"):
                raise VersionConflict(record.chat_id)
            stages = list(stages)
            if stages:  # stages that reveal the safety screen's outcome are kept without the chat id
                await db.executemany(
                    "INSERT INTO events (chat_id, clinic, stage, at, week) VALUES ($1, $2, $3, $4, $5)",
                    [
                        (
                            None if stage in ANONYMOUS else record.chat_id,
                            record.session.clinic,
                            str(stage),
                            event_day(now),
                            iso_week(now),
                        )
                        for stage in stages
                    ],
                )
            if handoff is not None:
                handoff_id = await db.fetchval(
                    "INSERT INTO handoffs (chat_id, clinic, status, contact, summary, language, created_at, updated_at)"
                    " VALUES ($1, $2, 'pending', $3, $4, $5, $6, $6) RETURNING id",
                    record.chat_id,
                    handoff.clinic,
                    json.dumps(handoff.contact),
                    handoff.summary,
                    record.session.language,
                    now,
                )
                await self._schedule(
                    db, "handoff", f"handoff:{handoff_id}", now, record.chat_id, {"handoff": handoff_id}
                )
            for job in jobs:
                await self._schedule(db, job.kind, job.key, job.due_at, record.chat_id, job.payload)
        return Saved(record.stored(), handoff_id)

    async def erase(self, chat_id: int) -> bool:
        """Delete the chat's row, hand-offs and jobs; its events (kept by the day) lose the chat id."""
        async with self._transaction() as db:
            clinic_row = await db.fetchrow("DELETE FROM sessions WHERE chat_id = $1 RETURNING clinic", chat_id)
            await db.execute("UPDATE events SET chat_id = NULL WHERE chat_id = $1", chat_id)
            await db.execute("DELETE FROM handoffs WHERE chat_id = $1", chat_id)
            await db.execute("DELETE FROM jobs WHERE chat_id = $1", chat_id)
            await db.execute("DELETE FROM inbox WHERE chat_id = $1", chat_id)
            if clinic_row is not None:
                now = utc_now()
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at, week) VALUES (NULL, $1, $2, $3, $4)",
                    clinic_row["clinic"],
                    str(Stage.DELETED),
                    event_day(now),
                    iso_week(now),
                )
        return clinic_row is not None

    async def mark_inactive(self, chat_id: int) -> None:
        """The user blocked the bot."""
        async with self._connection() as db:
            await db.execute("UPDATE sessions SET active = 0 WHERE chat_id = $1", chat_id)

    async def idle_chats(self, before: datetime) -> list[int]:
        """Chats last written before `before` with nothing scheduled for them."""
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT chat_id FROM sessions WHERE updated_at < $1"
                " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.chat_id = sessions.chat_id)",
                before,
            )
        return [row["chat_id"] for row in rows]

    async def dropoff(self, before: datetime) -> list[DropoffRow]:
        """Chats idle since before `before`, per state, language and clinic."""
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT state, language, COALESCE(clinic, '') AS clinic, COUNT(*) AS n FROM sessions"
                " WHERE updated_at < $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                before,
            )
        return [DropoffRow(r["state"], r["language"], r["clinic"], r["n"]) for r in rows]

    async def funnel_rows(self, clinic: str | None = None, since: datetime | None = None) -> list[FunnelRow]:
        """Distinct chats per clinic, week and stage (an erased chat's events count once each)."""
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if clinic is not None:
            params.append(clinic)
            where.append(f"clinic = ${len(params)}")
        if since is not None:
            params.append(since)
            where.append(f"at >= date_trunc('day', ${len(params)}::timestamptz, 'UTC')")
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT COALESCE(clinic, '') AS clinic, week, stage, COUNT(DISTINCT COALESCE(chat_id, -id)) AS n"
                f" FROM events WHERE {' AND '.join(where)} GROUP BY 1, 2, 3 ORDER BY 1, 2",
                *params,
            )
        return [FunnelRow(r["clinic"], r["week"], r["stage"], r["n"]) for r in rows]

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything stored about one chat."""
        data: dict[str, Any] = {"chat_id": chat_id}
        async with self._connection() as db:
            for table in TABLES:
                rows = await db.fetch(f"SELECT * FROM {table} WHERE chat_id = $1", chat_id)
                data[table] = [dict(row) for row in rows]
        for row in data["sessions"]:
            row["answers"], row["progress"] = json.loads(row["answers"]), decode_progress(row["progress"])
        return data

    # --- hand-offs ------------------------------------------------------------------------------------

    async def handoffs(self, chat_id: int | None = None, status: HandoffStatus | None = None) -> list[Handoff]:
        """Hand-offs of a chat and/or with a status, oldest first."""
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if chat_id is not None:
            params.append(chat_id)
            where.append(f"chat_id = ${len(params)}")
        if status is not None:
            params.append(status)
            where.append(f"status = ${len(params)}")
        async with self._connection() as db:
            rows = await db.fetch(f"SELECT * FROM handoffs WHERE {' AND '.join(where)} ORDER BY id", *params)
        return [_handoff(dict(row)) for row in rows]

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
            row = await db.fetchrow("SELECT status, sent_parts FROM handoffs WHERE id = $1 FOR UPDATE", handoff_id)
            if row is None:
                return
            parts = json.loads(row["sent_parts"])
            if sent_part is not None:
                parts[sent_part[0]] = sent_part[1]
            sent = status == "sent"
            await db.execute(
                "UPDATE handoffs SET status = $1, attempts = attempts + $2, last_error = $3, updated_at = $4,"
                " patient_told = COALESCE($5, patient_told), sent_parts = $6,"
                " summary = CASE WHEN $7 THEN NULL ELSE summary END, contact = CASE WHEN $7 THEN NULL ELSE contact END"
                " WHERE id = $8",
                status,
                1 if error else 0,
                error,
                now,
                None if patient_told is None else int(patient_told),
                json.dumps(parts),
                sent,
                handoff_id,
            )
            if sent and row["status"] != "sent":
                await db.execute(
                    "INSERT INTO events (chat_id, clinic, stage, at, week)"
                    " SELECT chat_id, clinic, $1, $2, $3 FROM handoffs WHERE id = $4",
                    str(Stage.HANDED_OFF),
                    event_day(now),
                    iso_week(now),
                    handoff_id,
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
        async with self._connection() as db:
            await self._schedule(db, kind, key, due_at, chat_id, payload or {}, keep)

    @staticmethod
    async def _schedule(
        db: asyncpg.Connection,
        kind: str,
        key: str,
        due_at: datetime,
        chat_id: int | None,
        payload: dict[str, Any],
        keep: bool = False,
    ) -> None:
        on_conflict = "NOTHING" if keep else "UPDATE SET due_at = excluded.due_at, payload = excluded.payload"
        await db.execute(
            "INSERT INTO jobs (kind, key, chat_id, payload, due_at) VALUES ($1, $2, $3, $4, $5)"
            f" ON CONFLICT (key) DO {on_conflict}",
            kind,
            key,
            chat_id,
            json.dumps(payload),
            due_at,
        )

    async def claim(self, now: datetime, lease: timedelta, key: str | None = None) -> Job | None:
        """Take the most overdue free job (or the one with `key`); SKIP LOCKED keeps workers off each other."""
        extra = " AND key = $2" if key is not None else ""
        params: list[Any] = [now] + ([key] if key is not None else [])
        async with self._transaction() as db:
            row = await db.fetchrow(
                "SELECT id FROM jobs WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)"
                f"{extra} ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                *params,
            )
            if row is None:
                return None
            claimed = await db.fetchrow(
                "UPDATE jobs SET lease_until = $1, attempts = attempts + 1 WHERE id = $2 RETURNING *",
                now + lease,
                row["id"],
            )
        return _job(dict(claimed))

    async def finish(self, job_id: int) -> None:
        """Remove a done job."""
        async with self._connection() as db:
            await db.execute("DELETE FROM jobs WHERE id = $1", job_id)

    async def cancel(self, chat_id: int, kind: str) -> int:
        """Remove the chat's jobs of `kind`."""
        async with self._connection() as db:
            status = await db.execute("DELETE FROM jobs WHERE chat_id = $1 AND kind = $2", chat_id, kind)
        return int(status.split()[-1])

    async def retry(self, job_id: int, due_at: datetime) -> None:
        """Free the job to run again at `due_at`."""
        async with self._connection() as db:
            await db.execute("UPDATE jobs SET due_at = $1, lease_until = NULL WHERE id = $2", due_at, job_id)

    async def jobs(self, chat_id: int | None = None) -> list[Job]:
        """Scheduled jobs, soonest first."""
        async with self._connection() as db:
            if chat_id is None:
                rows = await db.fetch("SELECT * FROM jobs ORDER BY due_at, id")
            else:
                rows = await db.fetch("SELECT * FROM jobs WHERE chat_id = $1 ORDER BY due_at, id", chat_id)
        return [_job(dict(row)) for row in rows]

    # --- the inbox of long polling ---------------------------------------------------------------------

    async def inbox_add(self, updates: Sequence[InboxUpdate]) -> None:
        """Keep fetched updates until handled."""
        if updates:
            async with self._connection() as db:
                await db.executemany(
                    "INSERT INTO inbox (update_id, chat_id, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    [(u.update_id, u.chat_id, u.body) for u in updates],
                )

    async def inbox_pending(self) -> list[InboxUpdate]:
        """Kept updates, oldest first."""
        async with self._connection() as db:
            rows = await db.fetch("SELECT update_id, chat_id, body FROM inbox ORDER BY update_id")
        return [InboxUpdate(r["update_id"], r["chat_id"], r["body"]) for r in rows]

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Forget handled updates."""
        if update_ids:
            async with self._connection() as db:
                await db.execute("DELETE FROM inbox WHERE update_id = ANY($1::bigint[])", list(update_ids))

    # --- copying --------------------------------------------------------------------------------------

    async def dump(self, table: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row of `table`, in batches."""
        key = KEYS[table]
        last: int | None = None
        while True:
            async with self._connection() as db:
                if last is None:
                    rows = await db.fetch(f"SELECT * FROM {table} ORDER BY {key} LIMIT {BATCH}")
                else:
                    rows = await db.fetch(f"SELECT * FROM {table} WHERE {key} > $1 ORDER BY {key} LIMIT {BATCH}", last)
            if not rows:
                return
            yield [dict(row) for row in rows]
            last = rows[-1][key]

    async def restore(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dumped rows with their ids; rows already there stay as they are. Id sequences move past them."""
        if not rows:
            return
        names = list(rows[0])
        placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
        async with self._transaction() as db:
            await db.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING",
                [tuple(row[name] for name in names) for row in rows],
            )
            if KEYS[table] == "id":
                await db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" GREATEST((SELECT MAX(id) FROM {table}), 1))"
                )

    async def count(self, table: str) -> int:
        """Rows in `table`."""
        async with self._connection() as db:
            return int(await db.fetchval(f"SELECT COUNT(*) FROM {table}"))

    async def backup(self, target: object) -> None:
        """Not done here: PostgreSQL has its own tools."""
        raise StorageError(
            f"backup copies an SQLite file; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom "
            f"--file=bot.dump '{describe_url(self.url)}' (see docs/deploy.md)"
        )


def _handoff(row: dict[str, Any]) -> Handoff:
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
        created_at=row["created_at"],
        sent_parts=json.loads(row["sent_parts"] or "{}"),
    )


def _job(row: dict[str, Any]) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        key=row["key"],
        due_at=row["due_at"],
        chat_id=row["chat_id"],
        payload=json.loads(row["payload"] or "{}"),
        attempts=row["attempts"],
    )
