"""Running the bot: long polling or webhooks. Either way an update is confirmed to Telegram only once losing
this process can no longer lose it:

- long polling keeps fetched updates in the store's inbox before the next getUpdates confirms them, and
  removes each one once it is handled; after a crash the inbox is handled first;
- a webhook request is answered 200 only after its update is handled (committed, replies sent); until then
  Telegram sends it again, to any worker.

Each update runs under its chat's lock (the store's: across every worker), so one chat's updates apply one at a
time, in order, while other chats go on. A redelivered update is recognised by its id and shows the current
question (bot/conversations.py): an answer is never applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Awaitable
from typing import Any

from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut
from telegram.ext import Application

from bot.app import build_application, services
from bot.jobs import SETTLE_S
from bot.logging_setup import setup_logging
from bot.settings import ConfigError, Settings
from bot.storage import StorageBusy, StorageError, Store, make_store
from bot.storage.base import InboxUpdate
from bot.storage.locks import ChatLocks
from flows.keys import COMMANDS

log = logging.getLogger(__name__)
CONCURRENT_UPDATES = 64
POLL_TIMEOUT_S = 30
POLL_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
TelegramErrors = (TimedOut, NetworkError, Conflict)


def chat_key(update: Update) -> int | None:
    """The chat an update belongs to (its user for updates without a chat; None for neither)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class UpdateGate:
    """Handles updates: per chat one at a time and in the order they came (here and, through the store's chat
    lock, across workers), at most `limit` at once."""

    def __init__(self, application: Application, store: Store, limit: int = CONCURRENT_UPDATES) -> None:  # type: ignore[type-arg]
        self.application = application
        self.store = store
        self.taps = services(application).taps
        self._slots = asyncio.Semaphore(limit)
        self._local = ChatLocks()

    async def handle(self, update: Update) -> None:
        """Process one update; returns once it is handled (effects committed, replies sent or given up). A tapped
        button is answered within a fraction of a second even when the turn has to wait (bot/taps.py)."""
        if update.callback_query is None:
            await self._handle(update)
            return
        async with self.taps.guard(self.application.bot, update.callback_query.id):
            await self._handle(update)

    async def _handle(self, update: Update) -> None:
        key = chat_key(update)
        if key is None:
            async with self._slots:
                await self.application.process_update(update)
            return
        async with self._local.hold(key), self._slots, self.store.chat_lock(key):
            await self.application.process_update(update)


class Poller:
    """Long polling with a durable inbox: fetch, keep, confirm, handle, forget."""

    def __init__(self, application: Application, store: Store, gate: UpdateGate) -> None:  # type: ignore[type-arg]
        self.application = application
        self.store = store
        self.gate = gate
        self._handling: dict[int, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Handle what a crash left in the inbox, then poll until `stop` is set; in-flight updates finish."""
        for kept in await self.store.inbox_pending():
            self._start(self._parse(kept.body))
        try:
            await self._poll(stop)
        except asyncio.CancelledError:  # the process is going down hard: in-flight updates stay in the inbox
            for task in self._handling.values():
                task.cancel()
            raise

    async def _poll(self, stop: asyncio.Event) -> None:
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            try:
                updates = await self._fetch(offset, stop)
            except (TimedOut, NetworkError, Conflict, StorageBusy, StorageError) as error:
                wait = POLL_BACKOFF_S[min(failures, len(POLL_BACKOFF_S) - 1)]
                failures += 1
                log.warning("getUpdates failed (%s); trying again in %.0f s", type(error).__name__, wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                continue
            failures = 0
            if not updates:
                continue
            await self.store.inbox_add(
                [InboxUpdate(u.update_id, chat_key(u), json.dumps(u.to_dict(), ensure_ascii=False)) for u in updates]
            )
            offset = updates[-1].update_id + 1  # the next getUpdates confirms these: they are in the inbox now
            for update in updates:
                self._start(update)
        if self._handling:
            await asyncio.gather(*self._handling.values(), return_exceptions=True)
        if offset is not None:  # confirm what was fetched last, so a restart does not fetch it again
            with contextlib.suppress(*TelegramErrors):
                await self.application.bot.get_updates(offset=offset, timeout=0, limit=1)

    async def _fetch(self, offset: int | None, stop: asyncio.Event) -> list[Update]:
        fetch = asyncio.ensure_future(
            self.application.bot.get_updates(
                offset=offset,
                timeout=POLL_TIMEOUT_S,
                read_timeout=POLL_TIMEOUT_S + 10,
                allowed_updates=Update.ALL_TYPES,
            )
        )
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:  # stopping: what this call would have fetched stays with Telegram, unconfirmed
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, *TelegramErrors):
                await fetch
            return []
        stopped.cancel()
        return list(fetch.result())

    def _parse(self, body: str) -> Update:
        update = Update.de_json(json.loads(body), self.application.bot)
        assert update is not None
        return update

    def _start(self, update: Update) -> None:
        if update.update_id in self._handling:
            return
        task = asyncio.create_task(self._handle(update))
        self._handling[update.update_id] = task

    async def _handle(self, update: Update) -> None:
        try:
            for wait in (*POLL_BACKOFF_S, None):
                try:
                    await self.gate.handle(update)
                    await self.store.inbox_done([update.update_id])
                    return
                except StorageBusy:  # the chat's lock could not be had: the database is busy or away for now
                    if wait is None:
                        raise
                    log.warning("database busy; the update is tried again in %.0f s", wait)
                    await asyncio.sleep(wait)
        except Exception:  # the error handler already told the user; the update stays kept for a restart
            log.exception("update not handled; it stays in the inbox")
        finally:
            self._handling.pop(update.update_id, None)


async def serve_polling(application: Application) -> None:  # type: ignore[type-arg]
    """Start the application and its jobs, then poll until SIGINT or SIGTERM."""
    found = services(application)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        await _call(application.post_init, application)
        await set_commands(application)
        await application.bot.delete_webhook(drop_pending_updates=False)
        await application.start()
        jobs = asyncio.create_task(found.jobs.loop())
        log.info("long polling (content %s, %s store)", found.engine.content.version, _backend(found.store))
        try:
            await Poller(application, found.store, UpdateGate(application, found.store)).run(stop)
        finally:
            await found.jobs.settle(SETTLE_S)
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
            await application.stop()
            await _call(application.post_shutdown, application)


async def set_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Register the command menu with Telegram, in every language the content has."""
    texts = services(application).engine.content.texts
    for language in texts.languages:
        commands = [BotCommand(name, texts.get(language, f"command.{name}")) for name in COMMANDS]
        code = None if language == texts.default_language else language
        await application.bot.set_my_commands(commands, language_code=code)


async def _call(hook: Any, application: Application) -> None:  # type: ignore[type-arg]
    if hook is not None:
        result: Awaitable[None] = hook(application)
        await result


def _backend(store: Store) -> str:
    return str(getattr(store, "backend", type(store).__name__))


def run_polling(settings: Settings) -> int:
    """Run the bot with long polling until interrupted; returns the exit code."""
    settings.token()  # first: without a token nothing else matters (ConfigError says how to get one)
    setup_logging(settings.log_level, settings.secrets())
    try:
        asyncio.run(serve_polling(build_application(settings)))
    except StorageError as error:
        log.error("%s", error)
        return 1
    except (InvalidToken, NetworkError) as error:
        log.error("%s", telegram_unusable(settings, error))
        return 1
    return 0


def telegram_unusable(settings: Settings, error: Exception) -> str:
    """What to tell the operator when Telegram refuses the token or cannot be reached at start."""
    if isinstance(error, InvalidToken):
        return "Telegram refused the token (TELEGRAM_BOT_TOKEN): check it with @BotFather, then start again."
    return (
        f"cannot reach the Telegram Bot API at {settings.telegram_api_url} (TELEGRAM_API_URL): "
        f"{type(error).__name__}. Check the network and that setting, then start again."
    )


def run_webhook(settings: Settings, workers: int = 1) -> int:
    """Register the webhook, then serve it with `workers` processes until interrupted; returns the exit code."""
    import uvicorn

    settings.token()
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ConfigError("WEBHOOK_URL and WEBHOOK_SECRET must both be set for webhook mode")
    if workers > 1 and settings.database_url is None:
        raise ConfigError(
            f"--workers {workers}: SQLite (DATABASE_PATH) serves one process. Several webhook workers share one "
            "PostgreSQL database: set DATABASE_URL=postgresql://user:password@host:5432/db (see docs/deploy.md)."
        )
    setup_logging(settings.log_level, settings.secrets())
    try:
        asyncio.run(_register_webhook(settings))
    except StorageError as error:
        log.error("%s", error)
        return 1
    except (InvalidToken, NetworkError) as error:
        log.error("%s", telegram_unusable(settings, error))
        return 1
    log.info("serving webhooks on port %d with %d worker(s)", settings.port, workers)
    os.environ["BOT_PROCESSES"] = str(workers)  # the workers read it: each keeps to its share of the rate limits
    uvicorn.run(
        "bot.webhook:create_worker_app",
        factory=True,
        host="0.0.0.0",
        port=settings.port,
        workers=workers,
        log_level="warning",
    )
    return 0


async def _register_webhook(settings: Settings) -> None:
    """Before the workers start: bring the schema up to date once, and tell Telegram where to send updates."""
    store = make_store(settings)
    await store.open()
    await store.close()
    application = build_application(settings, store=store)
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    async with application:
        await set_commands(application)
        await application.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
