"""Webhook mode: an ASGI app per worker. A request with Telegram's update is answered 200 only once the
update is handled (committed, replies sent); until then Telegram sends it again, to any worker. A wrong
secret gets 403 and changes nothing; health checks get `GET /healthz`."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, services
from bot.jobs import SETTLE_S
from bot.logging_setup import setup_logging
from bot.run import UpdateGate, _call
from bot.settings import Settings, load_settings
from bot.storage import StorageBusy, StorageError

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(settings: Settings) -> str:
    """The path part of WEBHOOK_URL (default /webhook)."""
    path = urlparse(settings.webhook_url or "").path
    return path if path and path != "/" else "/webhook"


def create_asgi_app(application: Application, secret: str, path: str, gate: UpdateGate) -> Starlette:  # type: ignore[type-arg]
    """POST `path` takes updates (403 without the right secret, 413 too large, 400 not an update, 503 when the
    database is unavailable: Telegram tries again); GET /healthz answers 'ok'."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, application.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return PlainTextResponse("bad request", status_code=400)
        try:
            await gate.handle(update)
        except (StorageBusy, StorageError) as error:
            log.warning("update not handled (%s); Telegram will send it again", type(error).__name__)
            return PlainTextResponse("busy", status_code=503)
        return PlainTextResponse("ok")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health, methods=["GET"])])


def create_worker_app() -> Starlette:
    """One webhook worker (uvicorn's factory): reads the settings, builds and starts the bot around serving."""
    settings = load_settings()
    setup_logging(settings.log_level, settings.secrets())
    application = build_application(settings)
    assert settings.webhook_secret is not None
    store = services(application).store
    gate = UpdateGate(application, store)
    app = create_asgi_app(application, settings.webhook_secret.get_secret_value(), webhook_path(settings), gate)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with application:
            await _call(application.post_init, application)
            await application.start()
            jobs = asyncio.create_task(services(application).jobs.loop())
            try:
                yield
            finally:
                await services(application).jobs.settle(SETTLE_S)
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs
                await application.stop()
                await _call(application.post_shutdown, application)

    app.router.lifespan_context = lifespan
    return app
