"""Apply one event to one chat: load its row, step the engine, save before anything is sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from bot.clock import Clock
from bot.handoffs import contact_of, document_to_json
from bot.storage import ChatRecord, NewHandoff, StorageBusy, Store, VersionConflict
from flows.engine import Engine, Step
from flows.events import Event, Resume
from flows.stages import Stage

MAX_CONFLICT_RETRIES = 3
MAX_BUSY_RETRIES = 3
RECENT_UPDATES = 16  # per chat: more than can be in flight when the process dies
BUSY_BACKOFF_S = 0.2


@dataclass(frozen=True)
class Outcome:
    """The engine's step for this chat, after it was stored."""

    step: Step
    record: ChatRecord
    handoff_id: int | None = None  # a hand-off the step stored, to deliver now
    repeated: bool = False  # the update was applied before (Telegram sent it again): nothing was applied


class Conversations:
    """The engine and the store together; callers hold the chat's lock so updates apply in order."""

    def __init__(self, engine: Engine, store: Store, clock: Clock) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock

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
            try:
                saved = await self.store.save(updated, stages, handoff, self.clock.now())
            except VersionConflict:
                if attempt == MAX_CONFLICT_RETRIES - 1:
                    raise
                continue
            return Outcome(step, saved.record, saved.handoff_id)
        raise AssertionError("unreachable")

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
