"""The storage contract: the records the bot keeps, the errors a store raises, and the `Store` protocol that the
SQLite and PostgreSQL stores both implement (and one contract test suite checks).

Records are frozen; times are aware `datetime`s in UTC. Driver errors never leave a store: they become
`StorageBusy` (wait and try again), `VersionConflict` (someone else saved first) or `StorageError`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from flows.session import Session
from flows.stages import Stage

HandoffStatus = Literal["pending", "sent", "failed"]
TABLES = ("sessions", "events", "handoffs", "jobs", "inbox")  # what a store holds, in the order a copy restores it


class StorageBusy(Exception):
    """The database stayed locked or unreachable for longer than we wait."""


class StorageError(Exception):
    """The database cannot be used; the message names the setting and what to do (never a password)."""


class VersionConflict(Exception):
    """Another writer saved this chat since it was loaded (the row version moved on)."""


@dataclass(frozen=True)
class ChatRecord:
    """A chat's stored row: the session plus bookkeeping the engine does not need."""

    chat_id: int
    session: Session
    row_version: int = 0  # 0 = not stored yet
    consent_at: datetime | None = None
    consent_version: str | None = None
    active: bool = True
    recent_updates: tuple[int, ...] = ()  # ids of the last Telegram updates applied, to spot redeliveries

    def stored(self) -> ChatRecord:
        """The record as it is once saved: the next row version, active."""
        return replace(self, row_version=self.row_version + 1, active=True)


@dataclass(frozen=True)
class NewHandoff:
    """A consented hand-off to store with the step that produced it."""

    clinic: str
    contact: dict[str, str]
    summary: str  # the summary Document as JSON


@dataclass(frozen=True)
class Handoff:
    """A stored hand-off; `sent_parts` names the parts the clinic already has, with Telegram's message ids."""

    id: int
    chat_id: int
    clinic: str
    status: HandoffStatus
    contact: dict[str, str]
    summary: str | None
    language: str
    attempts: int
    patient_told: bool
    created_at: datetime
    sent_parts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """Scheduled work, claimed by one worker at a time until its lease ends."""

    id: int
    kind: str
    key: str  # unique: scheduling the same key twice keeps one job
    due_at: datetime
    chat_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


@dataclass(frozen=True)
class InboxUpdate:
    """A Telegram update as received (its JSON), kept until it is handled."""

    update_id: int
    chat_id: int | None
    body: str


@dataclass(frozen=True)
class NewJob:
    """A job to schedule with a save (e.g. the follow-up check-ins a patient just agreed to)."""

    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    """What `save` wrote: the record as stored now, and the id of a hand-off stored with it."""

    record: ChatRecord
    handoff_id: int | None = None


@dataclass(frozen=True)
class FunnelRow:
    """Distinct chats that reached a stage, per clinic ('' for none) and ISO week."""

    clinic: str
    week: str
    stage: str
    count: int


@dataclass(frozen=True)
class DropoffRow:
    """Chats idle at a state of the flow (in one language, from one clinic, '' for none)."""

    state: str
    language: str
    clinic: str
    count: int


class Store(Protocol):
    """What the bot needs from a database. Implementations: SqliteStore, PostgresStore (and CachedStore)."""

    async def open(self) -> None:
        """Connect and bring the schema up to date (safe when several processes start together)."""

    async def close(self) -> None:
        """Disconnect (safe to call twice)."""

    def chat_lock(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold this chat for one update, from loading its row to its last reply, across every worker."""

    async def load(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None when it has no row."""

    async def save(
        self,
        record: ChatRecord,
        stages: Iterable[Stage] = (),
        handoff: NewHandoff | None = None,
        now: datetime | None = None,
        jobs: Sequence[NewJob] = (),
    ) -> Saved:
        """Write the record, its stage events, a new hand-off (with its delivery job) and new jobs of the chat in
        one transaction; VersionConflict if the row moved on since it was loaded."""

    async def erase(self, chat_id: int) -> bool:
        """Delete everything tied to the chat (row, hand-offs, jobs); its events lose the chat id. True if it had
        a row."""

    async def mark_inactive(self, chat_id: int) -> None:
        """The user blocked the bot: stop sending until they write again."""

    async def funnel_rows(self, clinic: str | None = None, since: datetime | None = None) -> list[FunnelRow]:
        """Distinct chats per clinic, ISO week and stage."""

    async def idle_chats(self, before: datetime) -> list[int]:
        """Chats whose row was last written before `before` and that have no job scheduled (a check-in or a
        hand-off still to come): retention counts from the last of them."""

    async def dropoff(self, before: datetime) -> list[DropoffRow]:
        """How many chats last written before `before` wait at each state, per language and clinic."""

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything stored about one chat, as plain data (the right of access)."""

    async def handoffs(self, chat_id: int | None = None, status: HandoffStatus | None = None) -> list[Handoff]:
        """Hand-offs of one chat and/or with one status, oldest first."""

    async def update_handoff(
        self,
        handoff_id: int,
        status: HandoffStatus,
        error: str | None = None,
        patient_told: bool | None = None,
        sent_part: tuple[str, int] | None = None,
    ) -> None:
        """Record a delivery attempt or a part delivered (with Telegram's message id). Once sent, the copy of the
        summary and the contact are dropped, and the 'handed_off' stage is counted once."""

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        chat_id: int | None = None,
        payload: dict[str, Any] | None = None,
        keep: bool = False,
    ) -> None:
        """Add a job, or move an existing job with this key to `due_at` (with `keep`, leave it as it is)."""

    async def claim(self, now: datetime, lease: timedelta, key: str | None = None) -> Job | None:
        """Take the most overdue job (or the one with `key`) whose lease is free; None when there is none."""

    async def finish(self, job_id: int) -> None:
        """The job is done: remove it."""

    async def cancel(self, chat_id: int, kind: str) -> int:
        """Remove a chat's jobs of one kind; returns how many."""

    async def retry(self, job_id: int, due_at: datetime) -> None:
        """Release the job to run again at `due_at`."""

    async def jobs(self, chat_id: int | None = None) -> list[Job]:
        """Scheduled jobs, of one chat or all, soonest first."""

    async def inbox_add(self, updates: Sequence[InboxUpdate]) -> None:
        """Keep fetched updates until they are handled (ones already kept are left alone)."""

    async def inbox_pending(self) -> list[InboxUpdate]:
        """Updates kept but not yet handled, oldest first (after a restart: handled before anything new)."""

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Forget handled updates."""

    def dump(self, table: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row of a table, in batches, as plain values (for moving to another store)."""

    async def restore(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dumped rows, keeping ids; rows already there are left alone (so a copy can run twice)."""

    async def count(self, table: str) -> int:
        """How many rows a table holds."""


# --- what both stores share: the session row's columns, and time ---------------------------------------


def utc_now() -> datetime:
    """The current time, aware, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def progress_defaults() -> dict[str, Any]:
    """The progress column's values when nothing is stored for them (new lists each time)."""
    return {
        "history": [],
        "draft": [],
        "handoff_clinic": None,
        "awaiting_contact": False,
        "has_username": False,
        "follow_ups": False,
        "recent_updates": [],
    }


def encode_progress(progress: dict[str, Any]) -> str:
    """The progress column, short: values at their default are left out, and the recent update ids are kept as
    the first id and then each one's difference from the one before ("updates")."""
    defaults = progress_defaults()
    kept = {key: value for key, value in progress.items() if value != defaults[key]}
    ids = kept.pop("recent_updates", None)
    if ids:
        kept["updates"] = [ids[0], *(later - earlier for earlier, later in itertools.pairwise(ids))]
    return compact_json(kept)


def decode_progress(text: str) -> dict[str, Any]:
    """The progress column as every value (defaults filled in, update ids whole); reads the older long form too."""
    stored = json.loads(text)
    differences = stored.pop("updates", None)
    if differences is not None:
        stored["recent_updates"] = list(itertools.accumulate(differences))
    return {**progress_defaults(), **stored}


def compact_json(value: Any) -> str:
    """JSON without spaces, keys sorted, non-ASCII kept as it is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def session_columns(record: ChatRecord) -> dict[str, Any]:
    """The session as the columns of its row. Health answers (and ticks in progress) only with consent."""
    session = record.session
    consented = session.consent is True
    progress = {
        "history": session.history,
        "draft": session.draft if consented else [],
        "handoff_clinic": session.handoff_clinic,
        "awaiting_contact": session.awaiting_contact,
        "has_username": session.has_username,
        "follow_ups": session.follow_ups if consented else False,
        "recent_updates": list(record.recent_updates),
    }
    return {
        "state": session.state,
        "step": session.step,
        "answers": compact_json(session.answers if consented else {}),
        "progress": encode_progress(progress),
        "language": session.language,
        "clinic": session.clinic,
        "consent": None if session.consent is None else int(session.consent),
        "consent_at": record.consent_at,
        "consent_version": record.consent_version,
        "content_version": session.content_version,
    }


def record_from_row(row: dict[str, Any]) -> ChatRecord:
    """A stored row as a record (the columns named as in `session_columns`, plus chat_id, row_version, active)."""
    progress = decode_progress(row["progress"])
    session = Session(
        state=row["state"],
        step=row["step"],
        answers=json.loads(row["answers"]),
        consent=None if row["consent"] is None else bool(row["consent"]),
        language=row["language"],
        clinic=row["clinic"],
        content_version=row["content_version"],
        history=progress["history"],
        draft=progress["draft"],
        handoff_clinic=progress["handoff_clinic"],
        awaiting_contact=progress["awaiting_contact"],
        has_username=progress["has_username"],
        follow_ups=progress["follow_ups"],
    )
    return ChatRecord(
        chat_id=row["chat_id"],
        session=session,
        row_version=row["row_version"],
        consent_at=as_utc(row["consent_at"]),
        consent_version=row["consent_version"],
        active=bool(row["active"]),
        recent_updates=tuple(progress["recent_updates"]),
    )


def event_day(now: datetime) -> datetime:
    """When a stage event happened, as it is kept: its day (midnight UTC). The funnel counts weeks; nobody needs
    the time of day a patient took a step."""
    moment = now.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def as_utc(value: datetime | str | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite stores ISO text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso_week(moment: datetime) -> str:
    """The ISO week of a time, e.g. 2026-W49."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
