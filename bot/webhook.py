"""Webhook mode: a small ASGI app that checks Telegram's secret header, queues updates, answers health checks."""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000
RECENT_UPDATES = 10_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(settings: Settings) -> str:
    """The path part of WEBHOOK_URL (default /webhook)."""
    path = urlparse(settings.webhook_url or "").path
    return path if path and path != "/" else "/webhook"


def create_asgi_app(application: Application, secret: str, path: str) -> Starlette:  # type: ignore[type-arg]
    """POST `path` takes updates (403 without the right secret, 413 too large, 400 not JSON); GET /healthz."""
    recent: OrderedDict[int, None] = OrderedDict()

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
        if update.update_id in recent:
            return PlainTextResponse("ok")  # Telegram redelivered it: already queued once
        recent[update.update_id] = None
        if len(recent) > RECENT_UPDATES:
            recent.popitem(last=False)
        await application.update_queue.put(update)
        return PlainTextResponse("ok")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health, methods=["GET"])])


async def serve_webhook(settings: Settings, application: Application) -> None:  # type: ignore[type-arg]
    """Start the application, register the webhook with Telegram, and serve until stopped."""
    assert settings.webhook_secret is not None and settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value()
    asgi = create_asgi_app(application, secret, webhook_path(settings))
    server = uvicorn.Server(uvicorn.Config(asgi, host="0.0.0.0", port=settings.port, log_level="warning"))
    from bot.app import start_services, stop_services

    async with application:
        await start_services(application)
        await application.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        await application.start()
        log.info("serving webhooks on port %d", settings.port)
        try:
            await server.serve()
        finally:
            await application.stop()
            await stop_services(application)
