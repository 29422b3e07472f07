"""Deliver consented hand-offs to clinics' Telegram chats, retry those that failed, and report withdrawals."""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.delivery import ChatUnreachable
from bot.render import Sender
from bot.storage import Handoff, SqliteStore
from flows.content import Content
from flows.handoff import HandoffRequest
from flows.limits import plain_text
from flows.replies import Blocks, Document, Reply
from flows.texts import fill

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)


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


def contact_of(request: HandoffRequest, username: str | None) -> dict[str, str]:
    """How the clinic may reach the patient, as they chose."""
    if request.contact == "phone" and request.phone:
        return {"phone": request.phone}
    return {"username": username or ""}


class HandoffDelivery:
    """Sends hand-offs to clinics and tells the patient honestly what happened."""

    def __init__(self, content: Content, store: SqliteStore) -> None:
        self.content = content
        self.store = store

    async def deliver(self, bot: Bot, handoff: Handoff) -> bool:
        """Try to deliver one pending hand-off; True when the clinic has it."""
        clinic = self.content.clinic_by_code.get(handoff.clinic)
        texts = self.content.texts
        if clinic is None or clinic.handoff_chat_id is None or handoff.summary is None:
            await self._give_up(bot, handoff, "no clinic chat")
            return False
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
        clinic_chat = Sender(bot, clinic.handoff_chat_id)
        try:
            await clinic_chat.send_one(Reply("clinic_message.new", "\n\n".join([text, *lines])))
            await clinic_chat.send_one(Reply("clinic_message.pdf", text, document=document))
        except (ChatUnreachable, TelegramError) as error:
            await self._failed(bot, handoff, type(error).__name__)
            return False
        await self.store.update_handoff(handoff.id, "sent")
        log.info("hand-off %d delivered", handoff.id)
        await self._tell_patient(bot, handoff, "bot.handoff_delivered")
        return True

    async def retry_pending(self, bot: Bot) -> int:
        """Try every pending hand-off again; returns how many were delivered."""
        delivered = 0
        for handoff in await self.store.handoffs(status="pending"):
            delivered += await self.deliver(bot, handoff)
        return delivered

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

    async def _failed(self, bot: Bot, handoff: Handoff, error: str) -> None:
        log.warning("hand-off %d not delivered (%s)", handoff.id, error)
        created = datetime.fromisoformat(handoff.created_at)
        if datetime.now(UTC) - created > GIVE_UP_AFTER:
            await self._give_up(bot, handoff, error)
            return
        await self.store.update_handoff(handoff.id, "pending", error=error, patient_told=True)
        if not handoff.patient_told:
            await self._tell_patient(bot, handoff, "bot.handoff_delayed")

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
