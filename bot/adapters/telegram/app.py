"""Builds the Telegram Application and runs it by long polling or behind a webhook."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, Update
from telegram.constants import ChatAction
from telegram.ext import Application, ApplicationBuilder

from base.errors import KutipError
from bot.adapters.telegram import handlers, texts
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.followups import Followups
from bot.adapters.telegram.limits import FloodLimiter
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.adapters.telegram.state import KEY, State
from bot.core.ports import AnswerCore
from bot.wiring.settings import Settings

logger = logging.getLogger(__name__)

# Kutip only reads new messages; asking for nothing else saves traffic.
ALLOWED_UPDATES = [Update.MESSAGE]

# Loggers whose records can carry the token (PTB logs the API URL at DEBUG).
_SECRET_BEARING_LOGGERS = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Updater")


class RedactSecrets(logging.Filter):
    """Replaces the bot token (and webhook secret) in a log record before any handler sees it."""

    def __init__(self, *secrets_: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets_ if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[REDACTED]")
            record.msg, record.args = message, ()
        return True


def protect_logs(*secrets_: str) -> None:
    """Keep the token out of logs: httpx logs every URL, and Telegram URLs contain the token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    redact = RedactSecrets(*secrets_)
    for name in _SECRET_BEARING_LOGGERS:
        target = logging.getLogger(name)
        for old in [f for f in target.filters if isinstance(f, RedactSecrets)]:
            target.removeFilter(old)
        target.addFilter(redact)


def file_url(base_url: str) -> str:
    """The file-download URL matching a Bot API base URL: ".../bot" becomes ".../file/bot"."""
    head, found, tail = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot{tail}" if found else base_url.rstrip("/") + "/file/bot"


def webhook_path(token: str) -> str:
    """A stable, unguessable URL path derived from the token, never the token itself."""
    return "kutip-" + hashlib.sha256(f"kutip-webhook:{token}".encode()).hexdigest()[:32]


def webhook_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments for `Updater.start_webhook` / `Application.run_webhook`.

    The local path repeats the public URL's path ("https://host/tg" -> "/tg/kutip-<hash>"),
    so a reverse proxy forwards requests unchanged, without rewriting paths.
    """
    token = _token(settings)
    prefix = urlsplit(settings.webhook_url).path.strip("/")
    path = f"{prefix}/{webhook_path(token)}" if prefix else webhook_path(token)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if not secret:
        # Telegram echoes whatever secret setWebhook registered; a fresh one per start is enough.
        secret = secrets.token_urlsafe(32)
        logger.warning("KUTIP_WEBHOOK_SECRET is not set; using a random secret for this run")
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": path,
        "webhook_url": f"{settings.webhook_url.rstrip('/')}/{webhook_path(token)}",
        "secret_token": secret,
    }


def _token(settings: Settings) -> str:
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token:
        raise KutipError("TELEGRAM_BOT_TOKEN is not set")
    return token


async def _send_typing(bot: Bot, chat_id: int, thread_id: int | None) -> None:
    await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)


async def _post_init(application: Application) -> None:
    """Register the command menu, in English by default and in Indonesian for Indonesian clients."""
    for language, language_code in (("en", None), ("id", "id")):
        commands = [BotCommand(name, description) for name, description in texts.COMMANDS[language]]
        await application.bot.set_my_commands(commands, language_code=language_code)
    logger.info("Kutip is up as @%s", application.bot.username)


async def _post_stop(application: Application) -> None:
    """Let answers already on their way finish, then stop the model worker."""
    await application.bot_data[KEY].desk.stop()


def build_application(
    settings: Settings, core: AnswerCore, reload: Callable[[], AnswerCore] | None = None
) -> Application:
    """The Application with every handler attached; `core` answers, `reload()` returns a fresh core."""
    token = _token(settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    protect_logs(token, secret)
    builder = ApplicationBuilder().token(token).rate_limiter(FloodLimiter()).post_init(_post_init).post_stop(_post_stop)
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(file_url(settings.telegram_base_url))
    application = builder.build()
    desk = Desk(
        core,
        settings.queue_size,
        typing=Typing(partial(_send_typing, application.bot)),
        on_error=application.process_error,
        rate=SlidingWindow(settings.user_rate_per_minute),
    )
    application.bot_data[KEY] = State(
        settings=settings,
        desk=desk,
        followups=Followups(),
        reload=reload,
    )
    handlers.register(application)
    return application


def run(settings: Settings, core: AnswerCore, reload: Callable[[], AnswerCore] | None = None) -> None:
    """Serve until interrupted: a webhook when settings.webhook_url is set, else long polling."""
    application = build_application(settings, core, reload)
    if settings.webhook_url:
        options = webhook_options(settings)
        protect_logs(_token(settings), options["secret_token"])  # the secret may have just been generated
        logger.info(
            "webhook on %s:%s, public URL %s/…", options["listen"], options["port"], settings.webhook_url.rstrip("/")
        )
        application.run_webhook(**options, allowed_updates=ALLOWED_UPDATES)
    else:
        logger.info("long polling for updates")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
