"""Adapters around the engine: Telegram, SQLite storage, command line and terminal preview."""

import os

# Opt in to python-telegram-bot's time periods as timedelta (e.g. RetryAfter.retry_after); without it,
# every 429 answer raises a deprecation warning from inside the library.
os.environ.setdefault("PTB_TIMEDELTA", "true")
