"""Follow-up check-ins: the 'follow_up' job sends one when it falls due, under the chat's lock like any update.
A check-in more than a week late (the bot was down) is dropped and logged; a patient who blocked the bot
gets nothing more."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import RetryAfter

from bot.clock import Clock
from bot.conversations import FOLLOW_UP, Conversations
from bot.delivery import ChatUnreachable, retry_seconds
from bot.jobs import Done, Outcome, RetryAt
from bot.pictures import Pictures
from bot.render import Sender
from bot.storage import Job, Store
from flows.replies import Reply

log = logging.getLogger(__name__)
DROP_AFTER = timedelta(days=7)  # later than this, a check-in is not sent at all
SAY_LATE_AFTER = timedelta(hours=1)  # later than this, it says so


class CheckIns:
    """Sends due check-ins to the patients who agreed to them."""

    def __init__(self, conversations: Conversations, store: Store, clock: Clock, pictures: Pictures) -> None:
        self.conversations = conversations
        self.store = store
        self.clock = clock
        self.pictures = pictures

    async def run(self, bot: Bot, job: Job) -> Outcome:
        """The 'follow_up' job: make the check-in the chat's current step and send it."""
        late = self.clock.now() - job.due_at
        if job.chat_id is None or late > DROP_AFTER:
            log.info("check-in job %d dropped: %s late", job.id, late)
            return Done()
        number = int(job.payload.get("number", 0))
        async with self.store.chat_lock(job.chat_id):
            outcome = await self.conversations.check_in(job.chat_id, number)
            if outcome is None:  # erased, no consent, or the check-ins were stopped
                return Done()
            replies = outcome.step.replies
            if late > SAY_LATE_AFTER:
                language = outcome.record.session.language
                text = self.conversations.engine.content.texts.get(language, "reminders.late")
                replies = [Reply("reminders.late", text), *replies]
            try:
                await Sender(bot, job.chat_id, self.pictures).send(replies)
            except RetryAfter as error:  # Telegram's flood limit outlasted our waits: again when it says
                log.info("check-in job %d: flood limit, sent again later", job.id)
                return RetryAt(self.clock.now() + timedelta(seconds=retry_seconds(error)))
            except ChatUnreachable:  # blocked the bot: nothing more is sent
                await self.store.mark_inactive(job.chat_id)
                await self.store.cancel(job.chat_id, FOLLOW_UP)
                log.info("check-in job %d: the chat blocked the bot; its check-ins are cancelled", job.id)
        return Done()
