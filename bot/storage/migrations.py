"""Numbered schema migrations, shared by both stores: version N is the same schema in SQLite and PostgreSQL.
Each runs once, in order, inside one transaction; a store re-checks the version under its lock, so processes
that start together on a fresh database never run one twice."""

from __future__ import annotations

from dataclasses import dataclass

# The ISO week (e.g. 2026-W49) of an SQLite time: the year and day of the Thursday of the same week.
_SQLITE_WEEK = (
    "printf('%s-W%02d', strftime('%Y', date(at, '-3 days', 'weekday 4')),"
    " (strftime('%j', date(at, '-3 days', 'weekday 4')) - 1) / 7 + 1)"
)


@dataclass(frozen=True)
class Migration:
    """One step of the schema, written for each backend."""

    version: int
    sqlite: str
    postgres: str

    def statements(self, backend: str) -> list[str]:
        """The step's SQL statements for `backend` ('sqlite' or 'postgres')."""
        script = self.sqlite if backend == "sqlite" else self.postgres
        return [statement.strip() for statement in script.split(";") if statement.strip()]


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        sqlite="""
        CREATE TABLE sessions (
            chat_id         INTEGER PRIMARY KEY,
            state           TEXT    NOT NULL,
            step            INTEGER NOT NULL,
            answers         TEXT    NOT NULL DEFAULT '{}',
            progress        TEXT    NOT NULL DEFAULT '{}',
            language        TEXT    NOT NULL,
            clinic          TEXT,
            consent         INTEGER,
            consent_at      TEXT,
            consent_version TEXT,
            content_version TEXT    NOT NULL,
            active          INTEGER NOT NULL DEFAULT 1,
            created_at      TEXT    NOT NULL,
            updated_at      TEXT    NOT NULL,
            row_version     INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX sessions_updated_at ON sessions (updated_at);
        CREATE TABLE events (
            id      INTEGER PRIMARY KEY,
            chat_id INTEGER,
            clinic  TEXT,
            stage   TEXT NOT NULL,
            at      TEXT NOT NULL
        );
        CREATE INDEX events_chat ON events (chat_id);
        CREATE INDEX events_clinic_stage ON events (clinic, stage, at)
        """,
        postgres="""
        CREATE TABLE sessions (
            chat_id         BIGINT PRIMARY KEY,
            state           TEXT    NOT NULL,
            step            INTEGER NOT NULL,
            answers         TEXT    NOT NULL DEFAULT '{}',
            progress        TEXT    NOT NULL DEFAULT '{}',
            language        TEXT    NOT NULL,
            clinic          TEXT,
            consent         SMALLINT,
            consent_at      TIMESTAMPTZ,
            consent_version TEXT,
            content_version TEXT    NOT NULL,
            active          SMALLINT NOT NULL DEFAULT 1,
            created_at      TIMESTAMPTZ NOT NULL,
            updated_at      TIMESTAMPTZ NOT NULL,
            row_version     INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX sessions_updated_at ON sessions (updated_at);
        CREATE TABLE events (
            id      BIGSERIAL PRIMARY KEY,
            chat_id BIGINT,
            clinic  TEXT,
            stage   TEXT NOT NULL,
            at      TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX events_chat ON events (chat_id);
        CREATE INDEX events_clinic_stage ON events (clinic, stage, at)
        """,
    ),
    Migration(
        2,
        sqlite="""
        CREATE TABLE handoffs (
            id            INTEGER PRIMARY KEY,
            chat_id       INTEGER NOT NULL,
            clinic        TEXT    NOT NULL,
            status        TEXT    NOT NULL,
            contact       TEXT,
            summary       TEXT,
            language      TEXT    NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            last_error    TEXT,
            patient_told  INTEGER NOT NULL DEFAULT 0,
            created_at    TEXT    NOT NULL,
            updated_at    TEXT    NOT NULL
        );
        CREATE INDEX handoffs_chat ON handoffs (chat_id);
        CREATE INDEX handoffs_status ON handoffs (status)
        """,
        postgres="""
        CREATE TABLE handoffs (
            id            BIGSERIAL PRIMARY KEY,
            chat_id       BIGINT  NOT NULL,
            clinic        TEXT    NOT NULL,
            status        TEXT    NOT NULL,
            contact       TEXT,
            summary       TEXT,
            language      TEXT    NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            last_error    TEXT,
            patient_told  SMALLINT NOT NULL DEFAULT 0,
            created_at    TIMESTAMPTZ NOT NULL,
            updated_at    TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX handoffs_chat ON handoffs (chat_id);
        CREATE INDEX handoffs_status ON handoffs (status)
        """,
    ),
    Migration(
        3,
        sqlite="ALTER TABLE sessions ADD COLUMN last_update_id INTEGER",
        postgres="ALTER TABLE sessions ADD COLUMN last_update_id BIGINT",
    ),
    Migration(
        4,  # the ISO week of each event, written when it is stored, so both stores count weeks alike
        sqlite=f"""
        ALTER TABLE events ADD COLUMN week TEXT NOT NULL DEFAULT '';
        UPDATE events SET week = {_SQLITE_WEEK};
        ALTER TABLE sessions DROP COLUMN last_update_id
        """,
        postgres="""
        ALTER TABLE events ADD COLUMN week TEXT NOT NULL DEFAULT '';
        UPDATE events SET week = to_char(at, 'IYYY-"W"IW');
        ALTER TABLE sessions DROP COLUMN last_update_id
        """,
    ),
    Migration(
        5,  # scheduled work, claimed with a lease; the parts of a hand-off the clinic already has
        sqlite="""
        CREATE TABLE jobs (
            id           INTEGER PRIMARY KEY,
            kind         TEXT    NOT NULL,
            key          TEXT    NOT NULL UNIQUE,
            chat_id      INTEGER,
            payload      TEXT    NOT NULL DEFAULT '{}',
            due_at       TEXT    NOT NULL,
            lease_until  TEXT,
            attempts     INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX jobs_due ON jobs (due_at);
        CREATE INDEX jobs_chat ON jobs (chat_id);
        ALTER TABLE handoffs ADD COLUMN sent_parts TEXT NOT NULL DEFAULT '{}'
        """,
        postgres="""
        CREATE TABLE jobs (
            id           BIGSERIAL PRIMARY KEY,
            kind         TEXT    NOT NULL,
            key          TEXT    NOT NULL UNIQUE,
            chat_id      BIGINT,
            payload      TEXT    NOT NULL DEFAULT '{}',
            due_at       TIMESTAMPTZ NOT NULL,
            lease_until  TIMESTAMPTZ,
            attempts     INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX jobs_due ON jobs (due_at);
        CREATE INDEX jobs_chat ON jobs (chat_id);
        ALTER TABLE handoffs ADD COLUMN sent_parts TEXT NOT NULL DEFAULT '{}'
        """,
    ),
]
MIGRATIONS.append(
    Migration(
        6,  # updates fetched by long polling, kept until handled, so confirming them to Telegram loses nothing
        sqlite="""
        CREATE TABLE inbox (
            update_id   INTEGER PRIMARY KEY,
            chat_id     INTEGER,
            body        TEXT NOT NULL
        );
        CREATE INDEX inbox_chat ON inbox (chat_id)
        """,
        postgres="""
        CREATE TABLE inbox (
            update_id   BIGINT PRIMARY KEY,
            chat_id     BIGINT,
            body        TEXT NOT NULL
        );
        CREATE INDEX inbox_chat ON inbox (chat_id)
        """,
    )
)
MIGRATIONS.append(
    Migration(
        7,  # stage events keep their day only (the funnel counts weeks): what was stored to the second is cut;
        # the funnel's index is on what it filters by (clinic, day), not on the stage it only groups by
        sqlite="""
        UPDATE events SET at = substr(at, 1, 10);
        DROP INDEX events_clinic_stage;
        CREATE INDEX events_clinic_at ON events (clinic, at)
        """,
        postgres="""
        UPDATE events SET at = date_trunc('day', at, 'UTC');
        DROP INDEX events_clinic_stage;
        CREATE INDEX events_clinic_at ON events (clinic, at)
        """,
    )
)
LATEST = MIGRATIONS[-1].version
