"""Telegram updates -> engine events -> stored session -> replies. One place turns updates into events."""

from __future__ import annotations

import html
import logging

from telegram import InputFile, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.conversations import FOLLOW_UP, Conversations
from bot.delivery import ChatUnreachable, deliver
from bot.handoffs import HandoffDelivery, handoff_job_key
from bot.jobs import JobRunner
from bot.pictures import Pictures, draw_funnel_chart
from bot.render import Sender
from bot.stats import SMALL_CELL, chart_groups, funnel_table, render
from bot.storage import StorageBusy
from bot.taps import TapAnswers
from flows.events import Back, Event, Restart, Resume, SharedContact, ShowInfo, ShowMenu, Start, Typed, decode
from flows.replies import Button, Reply
from flows.texts import fill
from flows.turn import Reason, Rejected

log = logging.getLogger(__name__)

COMMAND_EVENTS: dict[str, Event] = {
    "menu": ShowMenu(),
    "back": Back(),
    "restart": Restart(),
    "help": ShowInfo("help"),
    "privacy": ShowInfo("privacy"),
}
LANGUAGE_PREFIX = "l:"
DELETE_YES, DELETE_NO = "x:yes", "x:no"
REMINDERS_CANCEL = "x:reminders"


class ChatHandlers:
    """The bot's update handlers; every one answers the chat (or deliberately ignores channels)."""

    def __init__(
        self,
        conversations: Conversations,
        handoffs: HandoffDelivery,
        jobs: JobRunner,
        pictures: Pictures,
        taps: TapAnswers,
        admin_ids: frozenset[int] = frozenset(),
    ) -> None:
        self.conversations = conversations
        self.store = conversations.store
        self.handoffs = handoffs
        self.jobs = jobs
        self.pictures = pictures
        self.taps = taps
        self.admin_ids = admin_ids
        self.content = conversations.engine.content
        self.texts = self.content.texts
        self._unknown_codes: set[str] = set()
        self._content_bugs: set[tuple[str, Reason]] = set()

    # --- entry points registered in bot.app ---------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, with an optional deep-link payload (kept for clinic referrals)."""
        payload = context.args[0] if context.args else None
        if payload is not None and payload not in self.content.clinic_by_code:
            self._log_unknown_referral(payload)
            payload = None
        await self._apply(update, Start(payload))

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/menu, /back, /restart, /help, /privacy; unknown commands get the help text."""
        message = update.effective_message
        name = (message.text or "").split()[0].lstrip("/").split("@")[0].lower() if message else ""
        await self._apply(update, COMMAND_EVENTS.get(name, ShowInfo("help")))

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/language: buttons for every language we have."""
        language = await self._language(update)
        buttons = tuple(
            (Button(self.texts.get(code, f"language.{code}"), f"{LANGUAGE_PREFIX}{code}"),)
            for code in self.texts.languages
        )
        await self._send(update, [Reply("bot.language_choose", self._text(language, "bot.language_choose"), buttons)])

    async def on_delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/delete: ask to confirm before erasing."""
        language = await self._language(update)
        buttons = (
            (Button(self._text(language, "bot.delete_yes"), DELETE_YES),),
            (Button(self._text(language, "bot.delete_no"), DELETE_NO),),
        )
        await self._send(update, [Reply("bot.delete_confirm", self._text(language, "bot.delete_confirm"), buttons)])

    async def on_reminders(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reminders: the check-ins planned for this chat, with a button to cancel them."""
        language = await self._language(update)
        planned = [job for job in await self.store.jobs(self._chat_id(update)) if job.kind == FOLLOW_UP]
        if not planned:
            await self._send(update, [Reply("reminders.none", self._text(language, "reminders.none"))])
            return
        lines = [self._text(language, "reminders.planned")]
        lines += [
            fill(self._text(language, "reminders.item"), {"date": job.due_at.date().isoformat()}) for job in planned
        ]
        buttons = ((Button(self._text(language, "reminders.cancel"), REMINDERS_CANCEL),),)
        await self._send(update, [Reply("reminders.planned", "\n".join(lines), buttons)])

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: all clinics for admins, their own clinics for clinic staff, nothing for anyone else."""
        user = update.effective_user
        language = await self._language(update)
        user_id = user.id if user else 0
        own = {c.code for c in self.content.clinics if user_id in c.staff_ids}
        if user_id not in self.admin_ids and not own:
            await self._send(update, [Reply("bot.stats_denied", self._text(language, "bot.stats_denied"))])
            return
        rows = await self.store.funnel_rows()
        clinics = None if user_id in self.admin_ids else own
        table = render(funnel_table(rows, clinics))
        chart = draw_funnel_chart(chart_groups(rows, clinics), SMALL_CELL, "<5")
        heading = self._text(language, "bot.stats_heading")
        chat_id = self._chat_id(update)
        try:
            await deliver(
                lambda: update.get_bot().send_photo(
                    chat_id, InputFile(chart.png, filename="funnel.png"), caption=heading, parse_mode=ParseMode.HTML
                ),
                "sendPhoto",
            )
        except TelegramError as error:  # the table below says the same
            log.info("stats chart not sent: %s", type(error).__name__)
        await self._send(update, [Reply("bot.stats", f"{heading}\n<pre>{html.escape(table)}</pre>")])

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any tapped button: delete and language confirmations here, everything else to the engine."""
        query = update.callback_query
        assert query is not None
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:  # a button on a message in a group or channel
            await self.on_not_private(update, context)
            return
        data = query.data or ""
        if data in (DELETE_YES, DELETE_NO):
            await self._confirm_delete(update, data == DELETE_YES)
        elif data == REMINDERS_CANCEL:
            language = await self._language(update)
            await self.conversations.stop_follow_ups(self._chat_id(update))
            await self._send(update, [Reply("reminders.cancelled", self._text(language, "reminders.cancelled"))])
        elif data.startswith(LANGUAGE_PREFIX) and data[len(LANGUAGE_PREFIX) :] in self.texts.languages:
            chat_id = self._chat_id(update)
            outcome = await self.conversations.set_language(chat_id, data[len(LANGUAGE_PREFIX) :])
            await self._send(update, outcome.step.replies)  # the choice stays on screen: a second tap is harmless
        else:
            await self._apply(update, decode(data))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Typed text: an answer where a question expects it, otherwise a friendly pointer to the buttons."""
        message = update.effective_message
        await self._apply(update, Typed(message.text if message and message.text else ""))

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: only the patient's own number, and only when the hand-off asked for it."""
        message = update.effective_message
        contact = message.contact if message else None
        user = update.effective_user
        if contact is not None and user is not None and contact.user_id == user.id:
            await self._apply(update, SharedContact(contact.phone_number))
        else:
            await self._apply(update, Resume(), notice="bot.unsupported")

    async def on_other_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice, files, locations...: say what works, show the question again."""
        await self._apply(update, Resume(), notice="bot.unsupported")

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: edits are not read; the question is shown again."""
        await self._apply(update, Resume(), notice="bot.edited")

    async def on_not_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Groups: the bot works in private chats only, so no health talk happens in front of others."""
        user = update.effective_user
        language = self.texts.language_for(user.language_code if user else None)
        query = update.callback_query
        if query is not None and self.taps.claim(query.id):
            await self.taps.send(update.get_bot(), query.id, None)
        chat = update.effective_chat
        if chat is not None:
            text = self._text(language, "bot.private_only")
            await deliver(lambda: chat.send_message(text), "sendMessage")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error (no token, no answers) and tell the user what to do."""
        error = context.error
        log.error("error while handling an update: %s", type(error).__name__, exc_info=error)
        if not isinstance(update, Update) or update.effective_chat is None or isinstance(error, ChatUnreachable):
            return
        chat_id = update.effective_chat.id
        language = self.texts.language_for(update.effective_user.language_code if update.effective_user else None)
        try:
            query = update.callback_query
            if query is not None and self.taps.claim(query.id):
                await self.taps.send(context.bot, query.id, None)
            key = "bot.busy" if isinstance(error, StorageBusy) else "bot.error"
            await context.bot.send_message(chat_id, self._text(language, key))
        except Exception as send_error:
            log.warning("could not tell the user about the error: %s", type(send_error).__name__)

    # --- helpers ------------------------------------------------------------------------------------

    async def _apply(self, update: Update, event: Event, notice: str | None = None) -> None:
        chat_id = self._chat_id(update)
        user = update.effective_user
        language_code, username = (user.language_code, user.username) if user else (None, None)
        outcome = await self.conversations.apply(chat_id, event, language_code, username, update.update_id)
        if outcome.step.rejected is not None and outcome.step.rejected.reason.content_bug:
            self._log_content_bug(outcome.step.rejected)
        replies = outcome.step.replies
        if notice is not None:
            language = outcome.record.session.language
            replies = [Reply(notice, self._text(language, notice), kind="notice"), *replies]
        await self._send(update, replies, changed=outcome.step.changed)
        if outcome.handoff_id is not None:  # deliver now, outside the chat's lock; else the job retries
            self.jobs.run_soon(handoff_job_key(outcome.handoff_id))

    async def _confirm_delete(self, update: Update, confirmed: bool) -> None:
        if not confirmed:  # a pop-up says nothing was erased; the current question follows
            await self._apply(update, Resume(), notice="bot.delete_cancelled")
            return
        chat_id = self._chat_id(update)
        language = await self._language(update)
        await self.handoffs.withdraw(update.get_bot(), chat_id)
        erased = await self.store.erase(chat_id)
        await self._send(update, [Reply("bot.deleted", self._text(language, "bot.deleted"))], changed=erased)

    async def _send(self, update: Update, replies: list[Reply], changed: bool = False) -> None:
        chat_id = self._chat_id(update)
        try:
            sender = Sender(update.get_bot(), chat_id, self.pictures, self.taps)
            await sender.send(replies, update.callback_query, changed)
        except ChatUnreachable:
            log.info("chat blocked the bot; marked inactive")
            await self.store.mark_inactive(chat_id)

    async def _language(self, update: Update) -> str:
        record = await self.store.load(self._chat_id(update))
        if record is not None:
            return record.session.language
        user = update.effective_user
        return self.texts.language_for(user.language_code if user else None)

    def _log_content_bug(self, rejected: Rejected) -> None:
        """Log a content bug once per process, state and reason: the state and the content version, never the
        chat or the answers (the patient was shown their question again)."""
        key = (rejected.state, rejected.reason)
        if key not in self._content_bugs:
            self._content_bugs.add(key)
            log.error(
                "content bug: %s at state %s (content %s); run python -m bot validate",
                rejected.reason,
                rejected.state,
                self.content.version,
            )

    def _log_unknown_referral(self, payload: str) -> None:
        """Log an unknown deep-link code once (a malformed one only by its length); never shown to the user."""
        shaped = len(payload) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)
        key = payload if shaped else f"<malformed:{len(payload)}>"
        if key not in self._unknown_codes and len(self._unknown_codes) < 1000:
            self._unknown_codes.add(key)
            log.info("unknown referral code %s", key if shaped else f"(malformed, {len(payload)} characters)")

    def _text(self, language: str, key: str) -> str:
        return self.texts.get(language, key)

    @staticmethod
    def _chat_id(update: Update) -> int:
        chat = update.effective_chat
        if chat is None:
            raise ValueError("update without a chat")
        return chat.id
