"""The database the bot runs on: an SQLite file, or PostgreSQL (a throwaway server from tests/pg_server.py, or
an empty database named by --postgres-url). At the end it is read directly, as plain rows, for the verdict."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot.storage.base import decode_progress
from tests.pg_server import PostgresServer, start_postgres

DATABASE_NAME = "load_kill"


@dataclass
class Stored:
    """What the database holds at the end, as plain values."""

    sessions: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[int | None, str]] = field(default_factory=list)  # (chat id, stage)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


def _session(row: dict[str, Any]) -> dict[str, Any]:
    progress = decode_progress(row["progress"] or "{}")
    return {
        "state": row["state"],
        "step": row["step"],
        "answers": json.loads(row["answers"] or "{}"),
        "draft": progress["draft"],
        "history": progress["history"],
        "handoff_clinic": progress["handoff_clinic"],
        "awaiting_contact": progress["awaiting_contact"],
        "recent_updates": progress["recent_updates"],
        "consent": row["consent"],
    }


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _stored(sessions: list[Any], events: list[Any], handoffs: list[Any], jobs: list[Any]) -> Stored:
    return Stored(
        sessions={row["chat_id"]: _session(dict(row)) for row in sessions},
        events=[(row["chat_id"], row["stage"]) for row in events],
        handoffs=[
            {
                "id": row["id"],
                "chat_id": row["chat_id"],
                "status": row["status"],
                "sent_parts": json.loads(row["sent_parts"] or "{}"),
                "created_at": _moment(row["created_at"]),
            }
            for row in handoffs
        ],
        jobs=[{"key": row["key"], "kind": row["kind"], "lease_until": _moment(row["lease_until"])} for row in jobs],
    )


SESSIONS = "SELECT chat_id, state, step, answers, progress, consent FROM sessions"
EVENTS = "SELECT chat_id, stage FROM events ORDER BY id"
HANDOFFS = "SELECT id, chat_id, status, sent_parts, created_at FROM handoffs ORDER BY id"
JOBS = "SELECT key, kind, lease_until FROM jobs ORDER BY id"
PROGRESS = "SELECT chat_id, progress FROM sessions"
INBOX = "SELECT update_id FROM inbox"


def _handled(progress: list[Any], inbox: list[Any]) -> tuple[dict[int, set[int]], set[int]]:
    recent = {row["chat_id"]: set(decode_progress(row["progress"] or "{}")["recent_updates"]) for row in progress}
    return recent, {row["update_id"] for row in inbox}


class Database:
    """Where the bot keeps its data in this run."""

    kind: str

    def start(self) -> None:
        """Make it ready (start a server, create a database)."""

    def stop(self) -> None:
        """Clean up what `start` made."""

    def env(self) -> dict[str, str]:
        """The bot's settings for it."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def read(self) -> Stored:
        """Everything the verdict looks at."""
        raise NotImplementedError

    def handled(self) -> tuple[dict[int, set[int]], set[int]]:
        """The ids of the updates each chat applied last, then those kept in the inbox (long polling): an update
        applied and no longer kept was handled, its replies sent. Read in this order, so that holds."""
        raise NotImplementedError


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def env(self) -> dict[str, str]:
        return {"DATABASE_PATH": str(self.path)}

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def read(self) -> Stored:
        if not self.path.exists():
            return Stored()
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            tables = [connection.execute(sql).fetchall() for sql in (SESSIONS, EVENTS, HANDOFFS, JOBS)]
        finally:
            connection.close()
        return _stored(*tables)

    def handled(self) -> tuple[dict[int, set[int]], set[int]]:
        if not self.path.exists():
            return {}, set()
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            progress = connection.execute(PROGRESS).fetchall()
            inbox = connection.execute(INBOX).fetchall()
        except sqlite3.OperationalError:  # the bot has not made its tables yet
            return {}, set()
        finally:
            connection.close()
        return _handled(progress, inbox)


class PostgresDatabase(Database):
    kind = "postgres"

    def __init__(self, url: str | None) -> None:
        self.given_url = url
        self.url = url or ""
        self.server: PostgresServer | None = None

    def start(self) -> None:
        if self.given_url is None:
            self.server = start_postgres()
            self.url = self.server.create_database(DATABASE_NAME)
            return
        rows = self._query("SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema()")
        if rows and rows[0]["n"]:
            raise SystemExit(
                "--postgres-url: the database has tables already; give an empty one (the run checks every row)"
            )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}

    def describe(self) -> str:
        where = "throwaway server" if self.given_url is None else "--postgres-url"
        return f"PostgreSQL ({where})"

    def read(self) -> Stored:
        tables = [self._query(sql) for sql in (SESSIONS, EVENTS, HANDOFFS, JOBS)]
        return _stored(*tables)

    def handled(self) -> tuple[dict[int, set[int]], set[int]]:
        try:
            progress = self._query(PROGRESS)
            return _handled(progress, self._query(INBOX))
        except asyncpg.UndefinedTableError:  # the bot has not made its tables yet
            return {}, set()

    def _query(self, sql: str) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            connection = await asyncpg.connect(self.url, timeout=10)
            try:
                return [dict(row) for row in await connection.fetch(sql)]
            finally:
                await connection.close()

        return asyncio.run(run())
