"""Send the engine's replies to Telegram: keyboards, long texts split, edits in place, pop-up notices."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, CallbackQuery, InputFile
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError

from bot.delivery import ChatUnreachable, call_api, deliver
from bot.pictures import Pictures
from bot.summary_pdf import render_pdf
from bot.taps import TapAnswers
from flows.limits import split_message, visible_length
from flows.replies import Reply

log = logging.getLogger(__name__)
TYPING_THRESHOLD_CHARS = 1200
NOTICE_MAX_CHARS = 200
NO_LINK_PREVIEW = {"is_disabled": True}
Markup = dict[str, Any]  # a reply_markup as the Bot API takes it


def inline_keyboard(reply: Reply) -> Markup | None:
    """The inline keyboard of a reply (the only kind an edited message can carry)."""
    return None if reply.contact_keyboard is not None else keyboard(reply)


def keyboard(reply: Reply) -> Markup | None:
    """The inline keyboard for a reply's buttons, or a one-time contact-sharing keyboard (None for neither)."""
    if reply.contact_keyboard is not None:
        share, cancel = reply.contact_keyboard
        return {
            "keyboard": [[{"text": share, "request_contact": True}], [{"text": cancel}]],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }
    if not reply.buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": button.label, "callback_data": button.data} for button in row] for row in reply.buttons
        ]
    }


class Sender:
    """Sends replies to one chat, in order, through `deliver` (retries, 403 -> ChatUnreachable); figures are
    drawn by `pictures` (without it, a picture is sent as its caption); a tapped button is answered through `taps`
    (once: it may have been answered already, when the turn was held up)."""

    def __init__(
        self, bot: Bot, chat_id: int, pictures: Pictures | None = None, taps: TapAnswers | None = None
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.pictures = pictures
        self.taps = taps or TapAnswers()

    async def send(self, replies: list[Reply], query: CallbackQuery | None = None, changed: bool = False) -> None:
        """Answer a tapped button (with the first notice as a pop-up) while the next question goes out, edit or
        clear its message, send the rest. Returns once every call is done."""
        if query is None:
            await self._send_all(list(replies))
            return
        to_send = list(replies)
        notice = next((r for r in to_send if r.kind == "notice"), None)
        answering = None
        if self.taps.claim(query.id):  # else it was answered, empty, while the turn waited: a notice is a message
            if notice is not None:
                to_send.remove(notice)
            popup = notice.text[:NOTICE_MAX_CHARS] if notice else None
            # The answer and the next question travel at the same time: one round trip until the patient sees it.
            answering = asyncio.ensure_future(self.taps.send(self.bot, query.id, popup))
        try:
            editable = next((r for r in to_send if r.edit), None)
            if editable is not None and await self._edit(query, editable):
                to_send.remove(editable)
                changed = False
            await self._send_all(to_send)
        except BaseException:
            if answering is not None:  # the reply's error is the one to report
                await asyncio.gather(answering, return_exceptions=True)
            raise
        if answering is not None:
            await answering
        if changed:  # after the new question is out: the patient sees it sooner
            await self._clear_keyboard(query)

    async def _send_all(self, replies: list[Reply]) -> None:
        if sum(visible_length(r.text) for r in replies) > TYPING_THRESHOLD_CHARS:
            await deliver(lambda: self.bot.send_chat_action(self.chat_id, ChatAction.TYPING), "sendChatAction")
        for reply in replies:
            await self.send_one(reply)

    async def send_one(self, reply: Reply) -> int:
        """Send one reply, split on paragraphs if it is too long; the keyboard goes with the last part.
        Returns Telegram's id of the last message sent."""
        if reply.document is not None:
            return await self._send_document(reply)
        if reply.picture is not None and self.pictures is not None:
            photo_id = await self._send_picture(reply, self.pictures)
            if photo_id is not None:
                return photo_id
        parts = split_message(reply.text)
        message_id = 0
        for index, part in enumerate(parts):
            markup = keyboard(reply) if index == len(parts) - 1 else None
            sent = await deliver(
                lambda part=part, markup=markup: call_api(  # type: ignore[misc]
                    self.bot,
                    "sendMessage",
                    chat_id=self.chat_id,
                    text=part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_LINK_PREVIEW,
                ),
                "sendMessage",
            )
            message_id = int(sent["message_id"])
        return message_id

    async def _send_picture(self, reply: Reply, pictures: Pictures) -> int | None:
        """The figure as a photo with its caption; None when Telegram refused it or it could not be drawn (the
        caller then sends the caption as text: the patient still gets the numbers)."""
        assert reply.picture is not None
        try:
            png = pictures.png(reply.picture.figure, reply.picture.language)
            sent = await deliver(
                lambda: self.bot.send_photo(
                    self.chat_id,
                    InputFile(png, filename=f"{reply.picture.figure}.png"),  # type: ignore[union-attr]
                    caption=reply.text,
                    parse_mode=ParseMode.HTML,
                    api_kwargs={"reply_markup": keyboard(reply)},
                ),
                "sendPhoto",
            )
        except ChatUnreachable:
            raise
        except (TelegramError, OSError, KeyError, ValueError) as error:
            log.warning("sendPhoto failed (%s); sending the caption as text", type(error).__name__)
            return None
        return sent.message_id

    async def _send_document(self, reply: Reply) -> int:
        assert reply.document is not None
        draw = self.pictures.png if self.pictures is not None else None
        data = render_pdf(reply.document, datetime.now(UTC).date(), draw)
        await deliver(lambda: self.bot.send_chat_action(self.chat_id, ChatAction.UPLOAD_DOCUMENT), "sendChatAction")
        sent = await deliver(
            lambda: self.bot.send_document(
                self.chat_id,
                InputFile(data, filename=reply.document.filename),  # type: ignore[union-attr]
                caption=reply.text,
                parse_mode=ParseMode.HTML,
                api_kwargs={"reply_markup": keyboard(reply)},
            ),
            "sendDocument",
        )
        return sent.message_id

    async def _edit(self, query: CallbackQuery, reply: Reply) -> bool:
        message = query.message
        if message is None or len(split_message(reply.text)) > 1:
            return False
        try:
            await deliver(
                lambda: call_api(
                    self.bot,
                    "editMessageText",
                    chat_id=self.chat_id,
                    message_id=message.message_id,
                    text=reply.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=inline_keyboard(reply),
                    link_preview_options=NO_LINK_PREVIEW,
                ),
                "editMessageText",
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            log.info("editMessageText failed, sending instead: %s", error.message)
            return False
        return True

    async def _clear_keyboard(self, query: CallbackQuery) -> None:
        message = query.message
        if message is None:
            return
        try:
            await deliver(
                lambda: call_api(
                    self.bot, "editMessageReplyMarkup", chat_id=self.chat_id, message_id=message.message_id
                ),
                "editMessageReplyMarkup",
            )
        except BadRequest as error:  # already cleared, or too old: nothing to do
            log.debug("editMessageReplyMarkup: %s", error.message)
