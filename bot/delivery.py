"""Calls to the Bot API that survive flood limits and network trouble, and stop for blocked chats."""

from __future__ import annotations

import logging
import warnings
from asyncio import sleep
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 4
MAX_FLOOD_WAIT_S = 60.0
FIRST_BACKOFF_S = 0.5


class ChatUnreachable(Exception):
    """The user blocked the bot (403) or the chat is gone: stop sending to it."""


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
