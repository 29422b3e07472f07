"""Calls to the Bot API that survive flood limits and network trouble, and stop for blocked chats."""

from __future__ import annotations

import logging
import warnings
from asyncio import sleep
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.warnings import PTBUserWarning

log = logging.getLogger(__name__)
T = TypeVar("T")

# call_api uses do_api_request for methods the Bot also has, on purpose (to skip parsing the result), and
# python-telegram-bot warns about that each time.
RAW_CALL_WARNING = r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request"
warnings.filterwarnings("ignore", message=RAW_CALL_WARNING, category=PTBUserWarning)

MAX_ATTEMPTS = 4
MAX_FLOOD_WAIT_S = 60.0
FIRST_BACKOFF_S = 0.5


class ChatUnreachable(Exception):
    """The user blocked the bot (403) or the chat is gone: stop sending to it."""


async def call_api(bot: Bot, method: str, **params: Any) -> Any:
    """One Bot API call whose result is used as plain JSON (a dict, or True): python-telegram-bot does not build
    its objects for it, where most of the CPU of a reply went. Errors are the usual TelegramError subclasses,
    and the rate limiter, if any, still applies. None values are left out of the call."""
    return await bot.do_api_request(method, api_kwargs=params)


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait, in seconds, whatever type PTB reports it as."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def deliver(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Run a Bot API call: wait out 429s, retry timeouts and network errors with backoff, a few times.

    Raises ChatUnreachable on 403; re-raises BadRequest at once (retrying would not help).
    """
    backoff = FIRST_BACKOFF_S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as error:
            if attempt == MAX_ATTEMPTS:
                raise
            wait = min(retry_seconds(error), MAX_FLOOD_WAIT_S)
            log.warning("%s: flood limit, waiting %.1f s (attempt %d)", what, wait, attempt)
            await sleep(wait)
        except Forbidden as error:
            raise ChatUnreachable(what) from error
        except BadRequest:
            raise
        except NetworkError as error:  # includes TimedOut
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning("%s: %s, retry in %.1f s (attempt %d)", what, type(error).__name__, backoff, attempt)
            await sleep(backoff)
            backoff *= 2
    raise AssertionError("unreachable")
