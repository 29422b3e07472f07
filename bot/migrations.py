"""Numbered schema migrations, applied in order at start; each runs once."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
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
        CREATE INDEX events_clinic_stage ON events (clinic, stage, at);
        """,
    ),
    (
        2,
        """
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
        CREATE INDEX handoffs_status ON handoffs (status);
        """,
    ),
    (
        3,
        """
        ALTER TABLE sessions ADD COLUMN last_update_id INTEGER
        """,
    ),
]
