"""Builds the Telegram Application and runs it by long polling or behind a webhook."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder

from base.errors import KutipError
from bot.adapters.telegram import article_handlers, handlers, texts
from bot.adapters.telegram.backoff import Backoff, retry_after_s
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.jobs import restore
from bot.adapters.telegram.limits import FloodLimiter
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.adapters.telegram.reading import Reader
from bot.adapters.telegram.state import KEY, State
from bot.library.ports import ArticleLibrary
from bot.storage import DATABASE_NAME, FollowupStore, JobJournal, StatsStore, open_database
from bot.wiring.settings import Settings

logger = logging.getLogger(__name__)

# Kutip only reads new messages; asking for nothing else saves traffic.
ALLOWED_UPDATES = [Update.MESSAGE]

# Retries of PTB's own bootstrap (deleteWebhook / setWebhook), which runs right after getMe succeeded.
BOOTSTRAP_RETRIES = 5

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


# Loggers where PTB reports, with a traceback at ERROR, faults that it or Kutip then handles: a Bot API
# reply that is not JSON (send.py takes the message as delivered), a 429 past the rate limiter's retries
# (send.py retries within KUTIP_DELIVERY_RETRY_S) and a failed poll (PTB polls again).
_HANDLED_FAULT_LOGGERS = ("telegram.request.BaseRequest", "telegram.ext.AIORateLimiter", "telegram.ext.Updater")
_FAULT_LINE_CHARS = 300


class OneLineFaults(logging.Filter):
    """A handled Bot API fault as one WARNING line naming the error, rather than an ERROR and a traceback,
    which a reader takes for a crash. Anything else (an unexpected exception, CRITICAL) is left alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, TelegramError | ValueError) and record.levelno <= logging.ERROR:
            line = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.msg, record.args = line[:_FAULT_LINE_CHARS], ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def quiet_handled_faults() -> None:
    """Install OneLineFaults on PTB's fault loggers (idempotent); before protect_logs, whose redaction then
    sees the line this filter writes."""
    for name in _HANDLED_FAULT_LOGGERS:
        target = logging.getLogger(name)
        for old in [f for f in target.filters if isinstance(f, OneLineFaults)]:
            target.removeFilter(old)
        target.filters.insert(0, OneLineFaults())


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
    state = application.bot_data[KEY]
    try:
        for language, language_code in (("en", None), ("id", "id")):
            commands = [BotCommand(name, description) for name, description in texts.COMMANDS[language]]
            await application.bot.set_my_commands(commands, language_code=language_code)
    except TelegramError as error:  # the menu is a convenience; answering matters more
        logger.warning("could not register the command menu: %s", error)
    logger.info("Kutip is up as @%s", application.bot.username)
    # Questions accepted before a stop: queued again in the background, so polling starts at once.
    pending = state.journal.pending()
    state.restoring = asyncio.create_task(restore(application.bot, state, pending), name="kutip-restore")


async def _post_stop(application: Application) -> None:
    """Abandon reads (and a reload) in flight, let answers already on their way finish, then stop the model worker."""
    state = application.bot_data[KEY]
    if state.interrupt is not None:
        state.interrupt()  # the model call in progress ends now; its job stays in the journal
    if state.restoring is not None:
        state.restoring.cancel()  # what it did not queue yet is still in the journal
        await asyncio.gather(state.restoring, return_exceptions=True)
    await state.reader.stop()
    await state.desk.stop()
    state.database.close()


def build_application(
    settings: Settings, library: ArticleLibrary, interrupt: Callable[[], None] | None = None
) -> Application:
    """The Application with every handler attached; `library` is its one door to a core: chats read articles
    into it, each job asks it for its article's core, and /reload reads its default article again.
    `interrupt()`, called at a stop, ends the model call in progress (it raises GenerationCancelled in the
    worker)."""
    token = _token(settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    quiet_handled_faults()
    protect_logs(token, secret)
    builder = ApplicationBuilder().token(token).rate_limiter(FloodLimiter()).post_init(_post_init).post_stop(_post_stop)
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(file_url(settings.telegram_base_url))
    application = builder.build()
    # One database for the journal, follow-ups and /stats (the same file the article library uses).
    database = open_database(settings.data_dir / DATABASE_NAME, busy_timeout_s=settings.db_busy_timeout_s)
    stats = StatsStore(database)
    desk = Desk(
        settings.queue_size,
        typing=Typing(partial(_send_typing, application.bot)),
        on_error=application.process_error,
        rate=SlidingWindow(settings.user_rate_per_minute),
        workers=settings.answer_slots,
        stats=stats,
    )
    application.bot_data[KEY] = State(
        settings=settings,
        desk=desk,
        database=database,
        followups=FollowupStore(database),
        journal=JobJournal(database),
        stats=stats,
        library=library,
        reader=Reader(),
        interrupt=interrupt,
    )
    article_handlers.register(application)  # before the question handlers: a link-only message is read
    handlers.register(application)
    return application


def redact(text: str, *secrets_: str) -> str:
    """`text` with every secret replaced, for messages built from errors that may quote the token."""
    for secret in secrets_:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


async def connect(application: Application, budget_s: float) -> None:
    """Initialise the application (its first call is getMe), retrying with backoff while the Bot API is unreachable.

    A rejected token is not retried. Every failure becomes a KutipError whose message never holds the token
    (PTB's InvalidToken quotes it in full).
    """
    token = application.bot.token
    backoff = Backoff(budget_s)
    while True:
        try:
            await application.initialize()
            return
        except InvalidToken:
            raise KutipError("Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN") from None
        except (BadRequest, Forbidden) as error:  # answers, not outages: retrying cannot help
            raise KutipError(f"the Telegram Bot API refused to start the bot: {redact(str(error), token)}") from None
        except TelegramError as error:  # network errors, 5xx, timeouts, 429
            reason = redact(f"{type(error).__name__}: {error}", token)
            pause = backoff.pause(retry_after_s(error))
            if pause is None:
                raise KutipError(
                    f"the Telegram Bot API was not reachable for {budget_s:g} s "
                    f"({backoff.attempts} attempts; last: {reason})"
                ) from None
            logger.warning(
                "the Telegram Bot API is not reachable (%s); retrying in %.1f s (attempt %d)",
                reason,
                pause,
                backoff.attempts,
            )
            await asyncio.sleep(pause)


def _event_loop() -> asyncio.AbstractEventLoop:
    """The loop run_polling / run_webhook will use: the current one, or a new one set as current (as PTB does)."""
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


def run(settings: Settings, library: ArticleLibrary, interrupt: Callable[[], None] | None = None) -> None:
    """Serve until interrupted: a webhook when settings.webhook_url is set, else long polling.

    Start-up failures (a rejected token, a Bot API still unreachable after KUTIP_STARTUP_RETRY_S, a webhook
    port in use) raise KutipError with a redacted one-line message, never a traceback.
    """
    application = build_application(settings, library, interrupt)
    token = _token(settings)
    loop = _event_loop()
    try:
        loop.run_until_complete(connect(application, settings.startup_retry_s))
    except BaseException:
        loop.close()
        raise
    # run_polling / run_webhook find the application initialised and go on with the same loop.
    try:
        if settings.webhook_url:
            options = webhook_options(settings)
            protect_logs(token, options["secret_token"])  # the secret may have just been generated
            logger.info(
                "webhook on %s:%s, public URL %s/…",
                options["listen"],
                options["port"],
                settings.webhook_url.rstrip("/"),
            )
            application.run_webhook(**options, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=BOOTSTRAP_RETRIES)
        else:
            logger.info("long polling for updates")
            application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=BOOTSTRAP_RETRIES)
    except (TelegramError, OSError) as error:
        raise KutipError(
            f"the Telegram bot could not start: {redact(f'{type(error).__name__}: {error}', token)}"
        ) from None
