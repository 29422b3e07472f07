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
]
