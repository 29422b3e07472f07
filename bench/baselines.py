"""The reference bots: a bare echo bot and a hand-written three-state ConversationHandler."""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BasePersistence,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bench.driver import Action, Say, Tap
from bench.fake_api import FastBotApi

TOKEN = "123456:bench-token"
ASK_A, ASK_B, ASK_C = range(3)
CONVERSATION = "intake"


def _builder(api: FastBotApi) -> Any:
    return ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api).updater(None)


# --- Baseline A: echo ---------------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the same text."""
    message = update.message
    assert message is not None and message.text is not None
    await message.reply_text(message.text)


def echo_app(api: FastBotApi) -> Application[Any, Any, Any, Any, Any, Any]:
    """The framework floor: one MessageHandler that echoes text."""
    app: Application[Any, Any, Any, Any, Any, Any] = _builder(api).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


def echo_script(steps: int) -> list[Action]:
    """`steps` typed messages."""
    return [Say(f"hello {i}") for i in range(steps)]


# --- Baseline B: a three-state ConversationHandler with inline buttons ----------------------------------


def _keyboard(prefix: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"Option {i}", callback_data=f"{prefix}:{i}")] for i in range(4)]
        + [[InlineKeyboardButton("Back", callback_data="back")]]
    )


KEYBOARDS = {ASK_A: _keyboard("a"), ASK_B: _keyboard("b"), ASK_C: _keyboard("c")}
QUESTIONS = {
    ASK_A: "<b>Question A</b>: where are your symptoms?",
    ASK_B: "<b>Question B</b>: how long have you had them?",
    ASK_C: "<b>Question C</b>: how bad is the pain?",
}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/start: ask question A with its buttons."""
    assert update.message is not None and context.user_data is not None
    context.user_data.clear()
    await update.message.reply_html(QUESTIONS[ASK_A], reply_markup=KEYBOARDS[ASK_A])
    return ASK_A


def _answer(current: int, following: int) -> Any:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None and query.data is not None and context.user_data is not None
        await query.answer()
        context.user_data[f"q{current}"] = query.data.split(":", 1)[1]
        await query.edit_message_text(QUESTIONS[following], parse_mode="HTML", reply_markup=KEYBOARDS[following])
        return following

    return handle


def conversation_handler(persistent: bool = False) -> ConversationHandler[Any]:
    """A -> B -> C -> A ..., answers in user_data; what a developer would write by hand."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)  # per_message=False with CallbackQueryHandlers
        return ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                ASK_A: [CallbackQueryHandler(_answer(ASK_A, ASK_B), pattern=r"^a:")],
                ASK_B: [CallbackQueryHandler(_answer(ASK_B, ASK_C), pattern=r"^b:")],
                ASK_C: [CallbackQueryHandler(_answer(ASK_C, ASK_A), pattern=r"^c:")],
            },
            fallbacks=[CommandHandler("start", start)],
            name=CONVERSATION,
            persistent=persistent,
        )


def conversation_app(
    api: FastBotApi, persistence: BasePersistence[Any, Any, Any] | None = None
) -> tuple[Application[Any, Any, Any, Any, Any, Any], ConversationHandler[Any]]:
    """The Application with the conversation (persistent when `persistence` is given)."""
    builder = _builder(api)
    if persistence is not None:
        builder = builder.persistence(persistence)
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    handler = conversation_handler(persistent=persistence is not None)
    app.add_handler(handler)
    return app, handler


def conversation_script(steps: int) -> list[Action]:
    """/start, then taps going round A, B, C."""
    prefixes = "abc"
    return [Say("/start")] + [Tap(f"{prefixes[i % 3]}:1") for i in range(steps - 1)]


def expected_state(steps: int) -> int:
    """The state a chat is in after `conversation_script(steps)`."""
    return (steps - 1) % 3
