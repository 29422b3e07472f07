"""Deliver consented hand-offs to clinics' Telegram chats, retry those that failed, and report withdrawals."""

from __future__ import annotations

import html
import json
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.clock import Clock
from bot.delivery import ChatUnreachable
from bot.jobs import Done, Outcome, RetryAt
from bot.pictures import Pictures
from bot.render import Sender
from bot.storage import Handoff, Job, Store
from flows.content import Content
from flows.handoff import HandoffRequest
from flows.limits import plain_text
from flows.replies import Blocks, Document, Reply
from flows.texts import fill

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)
RETRY_EVERY = timedelta(minutes=10)
TEXT_PART, PDF_PART = "text", "pdf"


def document_to_json(document: Document) -> str:
    """The summary document as JSON, to store until it is delivered."""
    return json.dumps(
        {
            "filename": document.filename,
            "title": document.title,
            "blocks": document.blocks,
            "clinician_title": document.clinician_title,
            "clinician": document.clinician,
        }
    )


def document_from_json(data: str) -> Document:
    """The stored summary document."""
    raw = json.loads(data)

    def blocks(value: list[tuple[str, list[str]]]) -> Blocks:
        return tuple((heading, tuple(lines)) for heading, lines in value)

    clinician = blocks(raw.get("clinician", []))
    return Document(raw["filename"], raw["title"], blocks(raw["blocks"]), raw.get("clinician_title", ""), clinician)


def handoff_job_key(handoff_id: int) -> str:
    """The key of the job that delivers a hand-off (the store schedules it with the hand-off)."""
    return f"handoff:{handoff_id}"


def contact_of(request: HandoffRequest, username: str | None) -> dict[str, str]:
    """How the clinic may reach the patient, as they chose."""
    if request.contact == "phone" and request.phone:
        return {"phone": request.phone}
    return {"username": username or ""}


class HandoffDelivery:
    """Sends hand-offs to clinics (as the 'handoff' job) and tells the patient honestly what happened.

    A send cannot be made exactly once: each part the clinic gets (the text, then the PDF) is recorded with
    Telegram's message id as soon as it is sent, so a retry after a crash repeats at most the one part that was
    in flight when the process died.
    """

    def __init__(self, content: Content, store: Store, clock: Clock, pictures: Pictures | None = None) -> None:
        self.content = content
        self.store = store
        self.clock = clock
        self.pictures = pictures

    async def run(self, bot: Bot, job: Job) -> Outcome:
        """The 'handoff' job: deliver the hand-off it names, or retry it later."""
        found = [h for h in await self.store.handoffs(chat_id=job.chat_id) if h.id == job.payload.get("handoff")]
        if not found or found[0].status != "pending":
            return Done()  # erased, withdrawn, or already delivered by an earlier run
        return await self.deliver(bot, found[0])

    async def deliver(self, bot: Bot, handoff: Handoff) -> Outcome:
        """Send the parts the clinic does not have yet; Done when it has them all (or we gave up)."""
        clinic = self.content.clinic_by_code.get(handoff.clinic)
        texts = self.content.texts
        if clinic is None or clinic.handoff_chat_id is None or handoff.summary is None:
            await self._give_up(bot, handoff, "no clinic chat")
            return Done()
        language = clinic.languages[0]
        contact = handoff.contact.get("phone") or f"@{handoff.contact.get('username', '')}"
        text = fill(texts.get(language, "clinic_message.new"), {"id": str(handoff.id), "contact": html.escape(contact)})
        document = document_from_json(handoff.summary)
        sources = plain_text(texts.get(handoff.language, "summary.sources"))  # listed in the PDF only
        lines = [
            f"<b>{html.escape(heading)}</b>\n" + "\n".join(f"• {html.escape(line)}" for line in block)
            for heading, block in document.blocks
            if heading and heading != sources
        ]
        parts = {
            TEXT_PART: Reply("clinic_message.new", "\n\n".join([text, *lines])),
            PDF_PART: Reply("clinic_message.pdf", text, document=document),
        }
        clinic_chat = Sender(bot, clinic.handoff_chat_id, self.pictures)
        try:
            for name, reply in parts.items():
                if name not in handoff.sent_parts:
                    message_id = await clinic_chat.send_one(reply)
                    await self.store.update_handoff(handoff.id, "pending", sent_part=(name, message_id))
        except (ChatUnreachable, TelegramError) as error:
            return await self._failed(bot, handoff, type(error).__name__)
        await self.store.update_handoff(handoff.id, "sent")
        log.info("hand-off %d delivered", handoff.id)
        await self._tell_patient(bot, handoff, "bot.handoff_delivered")
        return Done()

    async def withdraw(self, bot: Bot, chat_id: int) -> None:
        """Before a patient's data is erased: tell each clinic that received their summary."""
        for handoff in await self.store.handoffs(chat_id=chat_id, status="sent"):
            clinic = self.content.clinic_by_code.get(handoff.clinic)
            if clinic is None or clinic.handoff_chat_id is None:
                continue
            text = fill(
                self.content.texts.get(clinic.languages[0], "clinic_message.withdrawn"), {"id": str(handoff.id)}
            )
            try:
                await Sender(bot, clinic.handoff_chat_id).send_one(Reply("clinic_message.withdrawn", text))
            except (ChatUnreachable, TelegramError) as error:
                log.warning("could not tell clinic about withdrawn hand-off %d: %s", handoff.id, type(error).__name__)

    async def _failed(self, bot: Bot, handoff: Handoff, error: str) -> Outcome:
        log.warning("hand-off %d not delivered (%s)", handoff.id, error)
        now = self.clock.now()
        if now - handoff.created_at > GIVE_UP_AFTER:
            await self._give_up(bot, handoff, error)
            return Done()
        await self.store.update_handoff(handoff.id, "pending", error=error, patient_told=True)
        if not handoff.patient_told:
            await self._tell_patient(bot, handoff, "bot.handoff_delayed")
        return RetryAt(now + RETRY_EVERY)

    async def _give_up(self, bot: Bot, handoff: Handoff, error: str) -> None:
        await self.store.update_handoff(handoff.id, "failed", error=error, patient_told=True)
        await self._tell_patient(bot, handoff, "bot.handoff_failed")

    async def _tell_patient(self, bot: Bot, handoff: Handoff, key: str) -> None:
        clinic = self.content.clinic_by_code.get(handoff.clinic)
        name = clinic.name if clinic else handoff.clinic
        contact = (
            ", ".join(v for v in (clinic.contact.phone, clinic.contact.email, clinic.contact.website) if v)
            if clinic
            else ""
        )
        text = fill(
            self.content.texts.get(handoff.language, key),
            {"clinic": html.escape(name), "contact": html.escape(contact)},
        )
        try:
            await Sender(bot, handoff.chat_id).send_one(Reply(key, text))
        except (ChatUnreachable, TelegramError) as error:
            log.info("could not tell the patient about hand-off %d: %s", handoff.id, type(error).__name__)
