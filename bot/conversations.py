"""Apply one event to one chat: load its row, step the engine, save before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.clock import Clock
from bot.handoffs import contact_of, document_to_json
from bot.storage import ChatRecord, NewHandoff, NewJob, StorageBusy, Store, VersionConflict
from flows.engine import Engine, Step
from flows.events import CheckIn, Event, Resume
from flows.stages import Stage

FOLLOW_UP = "follow_up"  # the kind of a check-in's job
MAX_CONFLICT_RETRIES = 3
MAX_BUSY_RETRIES = 3
RECENT_UPDATES = 16  # per chat: more than can be in flight when the process dies
BUSY_BACKOFF_S = 0.2


def follow_up_key(chat_id: int, number: int) -> str:
    """The key of a chat's `number`th check-in job."""
    return f"{FOLLOW_UP}:{chat_id}:{number}"


@dataclass(frozen=True)
class Outcome:
    """The engine's step for this chat, after it was stored."""

    step: Step
    record: ChatRecord
    handoff_id: int | None = None  # a hand-off the step stored, to deliver now
    repeated: bool = False  # the update was applied before (Telegram sent it again): nothing was applied


class Conversations:
    """The engine and the store together; callers hold the chat's lock so updates apply in order."""

    def __init__(self, engine: Engine, store: Store, clock: Clock, follow_up_after: Sequence[timedelta] = ()) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.follow_up_after = tuple(follow_up_after)

    async def apply(
        self,
        chat_id: int,
        event: Event,
        language_code: str | None = None,
        username: str | None = None,
        update_id: int | None = None,
    ) -> Outcome:
        """Step the chat's session with `event` and store the result, once per Telegram update.

        A redelivered update (Telegram sends it again after a crash) is not applied twice: the patient
        gets their current question again instead. A busy database is waited for, then StorageBusy.
        """
        for attempt in range(MAX_BUSY_RETRIES):
            try:
                return await self._apply(chat_id, event, language_code, username, update_id)
            except StorageBusy:
                if attempt == MAX_BUSY_RETRIES - 1:
                    raise
                await asyncio.sleep(BUSY_BACKOFF_S * (attempt + 1))
        raise AssertionError("unreachable")

    async def _apply(
        self, chat_id: int, event: Event, language_code: str | None, username: str | None, update_id: int | None
    ) -> Outcome:
        for attempt in range(MAX_CONFLICT_RETRIES):
            record = await self.store.load(chat_id)
            if record is not None and update_id is not None and update_id in record.recent_updates:
                return Outcome(self.engine.step(record.session, Resume()), record, repeated=True)
            new = record is None
            if record is None:
                record = ChatRecord(chat_id, self.engine.new_session(language_code))
            if record.session.has_username != bool(username):
                record = replace(record, session=record.session.model_copy(update={"has_username": bool(username)}))
            step = self.engine.step(record.session, event)
            stages = ([Stage.STARTED] if new else []) + step.stages
            updated = self._with_consent(record, step)
            if update_id is not None:  # ids are compared for equality: Telegram may restart them after a quiet week
                updated = replace(updated, recent_updates=(*record.recent_updates, update_id)[-RECENT_UPDATES:])
            handoff = None
            if step.handoff is not None:
                contact = contact_of(step.handoff, username)
                handoff = NewHandoff(step.handoff.clinic, contact, document_to_json(step.handoff.summary))
            jobs = self._follow_ups(record, updated)
            try:
                saved = await self.store.save(updated, stages, handoff, self.clock.now(), jobs)
            except VersionConflict:
                if attempt == MAX_CONFLICT_RETRIES - 1:
                    raise
                continue
            if record.session.follow_ups and not saved.record.session.follow_ups:  # "no" after all, or a restart
                await self.store.cancel(chat_id, FOLLOW_UP)
            return Outcome(step, saved.record, saved.handoff_id)
        raise AssertionError("unreachable")

    def _follow_ups(self, before: ChatRecord, after: ChatRecord) -> list[NewJob]:
        """The check-in jobs to schedule when the patient has just agreed to them: one per FOLLOW_UP_AFTER
        delay, for as many check-ins as the flow has."""
        if not after.session.follow_ups or before.session.follow_ups:
            return []
        now = self.clock.now()
        count = min(len(self.follow_up_after), len(self.engine.content.flow.follow_ups))
        return [
            NewJob(FOLLOW_UP, follow_up_key(after.chat_id, number), now + delay, {"number": number})
            for number, delay in enumerate(self.follow_up_after[:count])
        ]

    async def check_in(self, chat_id: int, number: int) -> Outcome | None:
        """The `number`th follow-up check-in becomes the chat's current step (callers hold the chat's lock);
        None when the patient is gone, withdrew consent or stopped the check-ins."""
        record = await self.store.load(chat_id)
        if record is None:
            return None
        step = self.engine.step(record.session, CheckIn(number))
        if not step.changed:
            return None
        saved = await self.store.save(replace(record, session=step.session), step.stages, now=self.clock.now())
        return Outcome(step, saved.record)

    async def stop_follow_ups(self, chat_id: int) -> bool:
        """No more check-ins for this chat (/reminders): its jobs go, and it is noted with its session. True
        when any were planned."""
        cancelled = await self.store.cancel(chat_id, FOLLOW_UP)
        record = await self.store.load(chat_id)
        if record is not None and record.session.follow_ups:
            session = record.session.model_copy(update={"follow_ups": False})
            await self.store.save(replace(record, session=session), now=self.clock.now())
        return cancelled > 0

    async def set_language(self, chat_id: int, language: str) -> Outcome:
        """Switch the chat's language and show the current question again in it."""
        stored = await self.store.load(chat_id) or ChatRecord(chat_id, self.engine.new_session(language))
        record = replace(stored, session=stored.session.model_copy(update={"language": language}))
        step = self.engine.step(record.session, Resume())
        saved = await self.store.save(record, now=self.clock.now())
        return Outcome(step, saved.record)

    def _with_consent(self, record: ChatRecord, step: Step) -> ChatRecord:
        session = step.session
        consent_at, consent_version = record.consent_at, record.consent_version
        if session.consent is True and record.session.consent is not True:
            consent_at, consent_version = self.clock.now(), session.content_version
        elif session.consent is not True:
            consent_at, consent_version = None, None
        return replace(record, session=session, consent_at=consent_at, consent_version=consent_version, active=True)
