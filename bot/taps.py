"""A tapped button shows a spinner until its callback query is answered, and Telegram gives up on it after about
15 seconds. Each query is answered once: by the turn, with its pop-up notice, when the turn gets that far within
`ANSWER_WITHIN_S`; otherwise (the chat's lock, the database pool or a flood wait holds the turn up) with an empty
answer at that time, and the turn then shows its notice as a message instead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot
from telegram.error import BadRequest

from bot.delivery import call_api, deliver

log = logging.getLogger(__name__)
ANSWER_WITHIN_S = 0.5


class TapAnswers:
    """Answers callback queries exactly once each, and never later than `within_s` after the update arrived (for
    the updates that come through `guard`)."""

    def __init__(self, within_s: float = ANSWER_WITHIN_S) -> None:
        self.within_s = within_s
        self._answered: dict[str, bool] = {}  # the queries being handled: whether they have been answered
        self._late: dict[str, asyncio.Task[None]] = {}  # empty answers on their way

    @asynccontextmanager
    async def guard(self, bot: Bot, query_id: str) -> AsyncIterator[None]:
        """Around the handling of one tap: answer it empty if nothing did within `within_s`, or by the end."""
        self._answered[query_id] = False
        timer = asyncio.get_running_loop().call_later(self.within_s, self._answer_late, bot, query_id)
        try:
            yield
        finally:
            timer.cancel()
            if self.claim(query_id):  # the turn ended without answering (an error, say): the spinner must stop
                await self.send(bot, query_id, None)
            late = self._late.pop(query_id, None)
            if late is not None:
                await late
            del self._answered[query_id]

    def claim(self, query_id: str) -> bool:
        """True when the caller is the one to answer this query now (it was not answered yet)."""
        if self._answered.get(query_id, False):
            return False
        if query_id in self._answered:
            self._answered[query_id] = True
        return True

    async def send(self, bot: Bot, query_id: str, text: str | None) -> None:
        """Answer the query (a pop-up with `text`); a query too old to answer is logged and left."""
        try:
            await deliver(
                lambda: call_api(bot, "answerCallbackQuery", callback_query_id=query_id, text=text),
                "answerCallbackQuery",
            )
        except BadRequest as error:
            log.info("answerCallbackQuery failed: %s", error.message)

    def _answer_late(self, bot: Bot, query_id: str) -> None:
        if self.claim(query_id):
            self._late[query_id] = asyncio.ensure_future(self._send_late(bot, query_id))

    async def _send_late(self, bot: Bot, query_id: str) -> None:
        try:
            await self.send(bot, query_id, None)
        except Exception as error:  # a network error after the retries: the turn goes on regardless
            log.warning("answerCallbackQuery failed: %s", type(error).__name__)
