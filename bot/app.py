"""The composition root: build the python-telegram-bot Application with every handler registered, and the
services it uses (store, engine, clock, jobs) as one frozen `Services` object. Running it is bot/run.py's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.constants import FloodLimit
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.conversations import FOLLOW_UP, Conversations
from bot.followups import CheckIns
from bot.handlers import COMMAND_EVENTS, ChatHandlers
from bot.handoffs import HandoffDelivery
from bot.jobs import RETENTION_EVERY, RETENTION_KEY, Done, JobRunner, Outcome, RetryAt
from bot.pictures import Pictures
from bot.settings import ConfigError, Settings
from bot.storage import Job, Store, make_store
from bot.taps import TapAnswers
from flows.engine import Engine
from flows.loader import load_content

log = logging.getLogger(__name__)
FIRST_RETENTION_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Services:
    """What the handlers and runners share: one of each, built once."""

    settings: Settings
    engine: Engine
    store: Store
    clock: Clock
    conversations: Conversations
    handoffs: HandoffDelivery
    jobs: JobRunner
    handlers: ChatHandlers
    pictures: Pictures
    taps: TapAnswers


def services(application: Application) -> Services:  # type: ignore[type-arg]
    """The services of an Application built by `build_application`."""
    found = application.bot_data["services"]
    assert isinstance(found, Services)
    return found


def load_engine(settings: Settings) -> Engine:
    """Load and check the content; a ConfigError lists the problems."""
    result = load_content(settings.content_dir)
    if result.content is None:
        listing = "\n".join(str(problem) for problem in result.problems[:20])
        raise ConfigError(f"CONTENT_DIR={settings.content_dir} has problems (python -m bot validate):\n{listing}")
    return Engine(result.content)


def rate_limiter(processes: int) -> AIORateLimiter:
    """Telegram's limits for one bot (about 30 messages a second in all, 20 a minute to one group such as a
    clinic's), shared evenly by the `processes` that send for it."""
    return AIORateLimiter(
        overall_max_rate=FloodLimit.MESSAGES_PER_SECOND / processes,
        overall_time_period=1,
        group_max_rate=FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP / processes,
        group_time_period=60,
    )


def build_application(
    settings: Settings,
    engine: Engine | None = None,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
    store: Store | None = None,
    clock: Clock | None = None,
) -> Application:  # type: ignore[type-arg]
    """The Application with every handler registered; the store opens in post_init and closes in post_shutdown.
    Updates are fed by bot/run.py (long polling or webhooks), never by python-telegram-bot's own Updater."""
    engine = engine or load_engine(settings)
    store = store or make_store(settings, runner=True)
    clock = clock or SystemClock()
    api = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .updater(None)
        .job_queue(None)
        .post_init(start_services)
        .post_shutdown(stop_services)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limit:
        builder = builder.rate_limiter(rate_limiter(settings.bot_processes))  # type: ignore[arg-type]
    application = builder.build()
    conversations = Conversations(engine, store, clock, settings.follow_up_after)
    pictures = Pictures(engine.content)
    handoffs = HandoffDelivery(engine.content, store, clock, pictures)

    async def deliver_handoff(job: Job) -> Outcome:
        return await handoffs.run(application.bot, job)

    async def retention(job: Job) -> Outcome:
        cutoff = clock.now() - timedelta(days=settings.retention_days)
        erased = 0
        for chat_id in await store.idle_chats(cutoff):
            erased += await store.erase(chat_id)
        log.info("retention: erased %d idle chat(s)", erased)
        return RetryAt(clock.now() + RETENTION_EVERY)

    check_ins = CheckIns(conversations, store, clock, pictures)

    async def check_in(job: Job) -> Outcome:
        return await check_ins.run(application.bot, job)

    jobs = JobRunner(store, clock, {"handoff": deliver_handoff, "retention": retention, FOLLOW_UP: check_in})
    taps = TapAnswers()
    handlers = ChatHandlers(conversations, handoffs, jobs, pictures, taps, settings.admin_ids)
    application.bot_data["services"] = Services(
        settings, engine, store, clock, conversations, handoffs, jobs, handlers, pictures, taps
    )
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            MessageHandler(filters.UpdateType.CHANNEL_POSTS, _ignore_channel),
            MessageHandler(~private & ~filters.UpdateType.CHANNEL_POSTS, handlers.on_not_private),
            CallbackQueryHandler(handlers.on_callback),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, handlers.on_edited),
            CommandHandler("start", handlers.on_start, filters=private),
            CommandHandler("language", handlers.on_language, filters=private),
            CommandHandler("delete", handlers.on_delete, filters=private),
            CommandHandler("stats", handlers.on_stats, filters=private),
            CommandHandler("reminders", handlers.on_reminders, filters=private),
            CommandHandler(list(COMMAND_EVENTS), handlers.on_command, filters=private),
            MessageHandler(filters.COMMAND & private, handlers.on_command),
            MessageHandler(filters.CONTACT & private, handlers.on_contact),
            MessageHandler(filters.TEXT & private, handlers.on_text),
            MessageHandler(private, handlers.on_other_message),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


async def _ignore_channel(update: Update, context: object) -> None:
    """Channel posts are deliberately ignored: the bot is for private chats."""


async def start_services(application: Application) -> None:  # type: ignore[type-arg]
    """Open the store and schedule the daily retention job (post_init)."""
    found = services(application)
    await found.store.open()
    first = found.clock.now() + FIRST_RETENTION_AFTER
    await found.store.schedule("retention", RETENTION_KEY, first, keep=True)


async def stop_services(application: Application) -> None:  # type: ignore[type-arg]
    """Close the store (post_shutdown)."""
    await services(application).store.close()


__all__ = ["Done", "Services", "build_application", "load_engine", "services"]
