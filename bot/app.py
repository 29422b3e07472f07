"""Build the python-telegram-bot Application (the one place handlers are registered) and run it."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand, Update
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

from bot.chat_lock import ChatOrderedProcessor
from bot.conversations import Conversations
from bot.handlers import COMMAND_EVENTS, ChatHandlers
from bot.logging_setup import setup_logging
from bot.settings import ConfigError, Settings
from bot.storage import SqliteStore, StorageError
from flows.content import Content
from flows.engine import Engine
from flows.keys import COMMANDS
from flows.loader import load_content

log = logging.getLogger(__name__)
CONCURRENT_UPDATES = 64
HANDOFF_RETRY_S = 600  # pending hand-offs are tried again every 10 minutes
DAY_S = 24 * 3600
PURGE_FIRST_S = 60


def load_engine(settings: Settings) -> Engine:
    """Load and check the content; a ConfigError lists the problems."""
    result = load_content(settings.content_dir)
    if result.content is None:
        listing = "\n".join(str(problem) for problem in result.problems[:20])
        raise ConfigError(f"CONTENT_DIR={settings.content_dir} has problems (python -m bot validate):\n{listing}")
    return Engine(result.content)


def build_application(
    settings: Settings,
    engine: Engine | None = None,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The Application with every handler registered; the store opens in post_init and closes at shutdown."""
    engine = engine or load_engine(settings)
    store = SqliteStore(settings.database_path)
    handlers = ChatHandlers(Conversations(engine, store), settings.admin_ids, settings.retention_days)
    api = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(ChatOrderedProcessor(CONCURRENT_UPDATES))
        .post_init(start_services)
        .post_shutdown(stop_services)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter())  # type: ignore[arg-type]
    application = builder.build()
    application.bot_data["store"] = store
    application.bot_data["engine"] = engine
    application.bot_data["handlers"] = handlers
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
            CommandHandler(list(COMMAND_EVENTS), handlers.on_command, filters=private),
            MessageHandler(filters.COMMAND & private, handlers.on_command),
            MessageHandler(filters.CONTACT & private, handlers.on_contact),
            MessageHandler(filters.TEXT & private, handlers.on_text),
            MessageHandler(private, handlers.on_other_message),
        ]
    )
    application.add_error_handler(handlers.on_error)
    if application.job_queue is not None:
        jobs = application.job_queue
        jobs.run_repeating(handlers.retry_handoffs, interval=HANDOFF_RETRY_S, first=HANDOFF_RETRY_S)
        jobs.run_repeating(handlers.purge_idle_chats, interval=DAY_S, first=PURGE_FIRST_S)
    return application


async def _ignore_channel(update: Update, context: object) -> None:
    """Channel posts are deliberately ignored: the bot is for private chats."""


async def start_services(application: Application) -> None:  # type: ignore[type-arg]
    """Open the database and register the command menus; run after `Application.initialize`."""
    store: SqliteStore = application.bot_data["store"]
    content: Content = application.bot_data["engine"].content
    await store.open()
    texts = content.texts
    for language in texts.languages:
        commands = [BotCommand(name, texts.get(language, f"command.{name}")) for name in COMMANDS]
        code = None if language == texts.default_language else language
        await application.bot.set_my_commands(commands, language_code=code)


async def stop_services(application: Application) -> None:  # type: ignore[type-arg]
    """Close the database."""
    await application.bot_data["store"].close()


def run_polling(settings: Settings) -> int:
    """Run the bot with long polling until interrupted."""
    setup_logging(settings.log_level, [settings.token()])
    try:
        application = build_application(settings)
        log.info("starting long polling (content %s)", application.bot_data["engine"].content.version)
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    except StorageError as error:
        log.error("%s", error)
        return 1
    return 0


def run_webhook(settings: Settings) -> int:
    """Serve Telegram webhooks on PORT until interrupted."""
    from bot.webhook import serve_webhook

    setup_logging(settings.log_level, [settings.token(), *_secret(settings)])
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ConfigError("WEBHOOK_URL and WEBHOOK_SECRET must both be set for webhook mode")
    try:
        asyncio.run(serve_webhook(settings, build_application(settings)))
    except StorageError as error:
        log.error("%s", error)
        return 1
    return 0


def _secret(settings: Settings) -> list[str]:
    return [settings.webhook_secret.get_secret_value()] if settings.webhook_secret else []
