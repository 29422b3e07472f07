"""An opt-in cache of recently active chats in front of a store, for one process alone on its database (SQLite).

A row is read once, then served from memory; every write still goes through the row version, so a stale
entry can never overwrite newer data (it fails with VersionConflict and is dropped). Not for PostgreSQL
with several workers: another worker may have written since.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

from bot.storage.base import (
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
    Store,
)
from flows.stages import Stage

CACHE_SIZE = 10_000  # chats kept in memory (a few KB each)


class CachedStore:
    """Wraps a store; the chat rows it last read or wrote stay in memory, least recently used dropped first."""

    def __init__(self, inner: Store, size: int = CACHE_SIZE) -> None:
        self.inner = inner
        self.size = size
        self._records: OrderedDict[int, ChatRecord] = OrderedDict()

    @property
    def backend(self) -> str:
        """The wrapped store's backend."""
        return str(getattr(self.inner, "backend", "unknown"))

    def _remember(self, record: ChatRecord) -> None:
        self._records[record.chat_id] = record
        self._records.move_to_end(record.chat_id)
        while len(self._records) > self.size:
            self._records.popitem(last=False)

    async def load(self, chat_id: int) -> ChatRecord | None:
        """From memory when there, else from the store."""
        cached = self._records.get(chat_id)
        if cached is not None:
            self._records.move_to_end(chat_id)
            return cached
        record = await self.inner.load(chat_id)
        if record is not None:
            self._remember(record)
        return record

    async def save(
        self,
        record: ChatRecord,
        stages: Iterable[Stage] = (),
        handoff: NewHandoff | None = None,
        now: datetime | None = None,
        jobs: Sequence[NewJob] = (),
    ) -> Saved:
        """Write through; the stored record is kept. On any failure the entry is dropped (read again next time)."""
        try:
            saved = await self.inner.save(record, stages, handoff, now, jobs)
        except BaseException:
            self._records.pop(record.chat_id, None)
            raise
        self._remember(saved.record)
        return saved

    async def erase(self, chat_id: int) -> bool:
        """Forget the chat here and in the store."""
        self._records.pop(chat_id, None)
        return await self.inner.erase(chat_id)

    async def mark_inactive(self, chat_id: int) -> None:
        """Forget the chat here (its row changes) and mark it in the store."""
        self._records.pop(chat_id, None)
        await self.inner.mark_inactive(chat_id)

    # --- everything else goes straight to the store ---------------------------------------------------

    async def open(self) -> None:
        """Open the store."""
        await self.inner.open()

    async def close(self) -> None:
        """Close the store and forget everything."""
        self._records.clear()
        await self.inner.close()

    def chat_lock(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """The store's chat lock."""
        return self.inner.chat_lock(chat_id)

    async def funnel_rows(self, clinic: str | None = None, since: datetime | None = None) -> list[FunnelRow]:
        """The store's funnel."""
        return await self.inner.funnel_rows(clinic, since)

    async def dropoff(self, before: datetime) -> list[DropoffRow]:
        """The store's drop-off."""
        return await self.inner.dropoff(before)

    async def idle_chats(self, before: datetime) -> list[int]:
        """The store's idle chats."""
        return await self.inner.idle_chats(before)

    async def export(self, chat_id: int) -> dict[str, Any]:
        """The store's export."""
        return await self.inner.export(chat_id)

    async def handoffs(self, chat_id: int | None = None, status: HandoffStatus | None = None) -> list[Handoff]:
        """The store's hand-offs."""
        return await self.inner.handoffs(chat_id, status)

    async def update_handoff(
        self,
        handoff_id: int,
        status: HandoffStatus,
        error: str | None = None,
        patient_told: bool | None = None,
        sent_part: tuple[str, int] | None = None,
    ) -> None:
        """The store's hand-off update."""
        await self.inner.update_handoff(handoff_id, status, error, patient_told, sent_part)

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        chat_id: int | None = None,
        payload: dict[str, Any] | None = None,
        keep: bool = False,
    ) -> None:
        """The store's scheduling."""
        await self.inner.schedule(kind, key, due_at, chat_id, payload, keep)

    async def claim(self, now: datetime, lease: timedelta, key: str | None = None) -> Job | None:
        """The store's claim."""
        return await self.inner.claim(now, lease, key)

    async def finish(self, job_id: int) -> None:
        """The store's finish."""
        await self.inner.finish(job_id)

    async def cancel(self, chat_id: int, kind: str) -> int:
        """The store's cancel."""
        return await self.inner.cancel(chat_id, kind)

    async def retry(self, job_id: int, due_at: datetime) -> None:
        """The store's retry."""
        await self.inner.retry(job_id, due_at)

    async def jobs(self, chat_id: int | None = None) -> list[Job]:
        """The store's jobs."""
        return await self.inner.jobs(chat_id)

    async def inbox_add(self, updates: Sequence[InboxUpdate]) -> None:
        """The store's inbox."""
        await self.inner.inbox_add(updates)

    async def inbox_pending(self) -> list[InboxUpdate]:
        """The store's inbox."""
        return await self.inner.inbox_pending()

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """The store's inbox."""
        await self.inner.inbox_done(update_ids)

    def dump(self, table: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The store's rows."""
        return self.inner.dump(table)

    async def restore(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Rows into the store; the cache is dropped (rows may have changed under it)."""
        self._records.clear()
        await self.inner.restore(table, rows)

    async def count(self, table: str) -> int:
        """The store's count."""
        return await self.inner.count(table)
