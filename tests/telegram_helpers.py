"""Shared pieces for the Telegram tests: real Update builders, and a running Application around a core.

`ask_through_fake_server(core, text)` runs the whole Telegram path (polling,
handlers, queue, rendering, sending) against tests/fake_bot_api.py, so the same
end-to-end test can be run once with the real answer core.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import itertools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import Chat, Message, MessageEntity, PhotoSize, Update, User
from telegram.ext import Application

from bot.adapters.telegram import build_application
from bot.adapters.telegram.app import ALLOWED_UPDATES
from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.state import KEY, State
from bot.wiring.settings import Settings
from tests.fake_bot_api import FakeBotApi
from tests.fakes import FakeCore, FakeLibrary, make_article  # noqa: F401 (re-exported for the Telegram tests)

BOT_ID = 4242
BOT_USERNAME = "KutipBot"

# --- real telegram objects ---------------------------------------------------

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_NOW = dtm.datetime(2025, 1, 1, tzinfo=dtm.UTC)


def user(user_id: int = 111, language_code: str | None = "id", first_name: str = "Ani") -> User:
    return User(user_id, first_name, is_bot=False, language_code=language_code)


def bot_user() -> User:
    return User(BOT_ID, "Kutip", is_bot=True, username=BOT_USERNAME)


def private_chat(chat_id: int = 111) -> Chat:
    return Chat(chat_id, Chat.PRIVATE, first_name="Ani")


def group_chat(chat_id: int = -100111) -> Chat:
    return Chat(chat_id, Chat.SUPERGROUP, title="Ruang redaksi")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entities_of(text: str) -> list[MessageEntity]:
    """What Telegram's client would mark: a leading /command and every @mention (UTF-16 offsets)."""
    entities = []
    command = re.match(r"/\S+", text)
    if command:
        entities.append(MessageEntity(MessageEntity.BOT_COMMAND, 0, _utf16(command.group())))
    for mention in re.finditer(r"@\w+", text):
        entities.append(MessageEntity(MessageEntity.MENTION, _utf16(text[: mention.start()]), _utf16(mention.group())))
    return entities


def message(
    text: str | None,
    chat: Chat | None = None,
    sender: User | None = None,
    reply_to: Message | None = None,
    message_id: int | None = None,
    **extra: Any,
) -> Message:
    chat = chat or private_chat()
    return Message(
        message_id or next(_message_ids),
        _NOW,
        chat,
        from_user=sender or user(chat.id if chat.id > 0 else 111),
        text=text,
        entities=entities_of(text) if text else None,
        reply_to_message=reply_to,
        **extra,
    )


def update_of(msg: Message) -> Update:
    return Update(next(_update_ids), message=msg)


def text_update(
    text: str, chat: Chat | None = None, sender: User | None = None, reply_to: Message | None = None
) -> Update:
    return update_of(message(text, chat, sender, reply_to))


def photo_update(chat: Chat | None = None, sender: User | None = None) -> Update:
    photo = [PhotoSize("file-id", "unique-id", 90, 90)]
    return update_of(message(None, chat, sender, photo=photo))


def sent_message(params: dict[str, Any], chat: Chat) -> Message:
    """The bot's own message as recorded by the fake server, to reply to it."""
    return Message(params["result_message_id"], _NOW, chat, from_user=bot_user(), text=params["text"])


# --- the application ---------------------------------------------------------


# Every test application gets its own data directory (the job journal lives there), removed at exit.
_DATA_DIRS = tempfile.TemporaryDirectory(prefix="kutip-telegram-tests-")


def fresh_data_dir() -> Path:
    return Path(tempfile.mkdtemp(dir=_DATA_DIRS.name))


def settings_for(api: FakeBotApi, **overrides: Any) -> Settings:
    """Settings pointing at the fake server, generous limits unless a test says otherwise."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": api.token,
        "queue_size": 64,
        "user_rate_per_minute": 1000,
    }
    values.update(overrides)
    if "telegram_base_url" not in values:
        values["telegram_base_url"] = api.base_url
    if "data_dir" not in values:
        values["data_dir"] = fresh_data_dir()
    return Settings(_env_file=None, **values)


def state_of(app: Application) -> State:
    return app.bot_data[KEY]


def desk_of(app: Application) -> Desk:
    return state_of(app).desk


@asynccontextmanager
async def running(
    app: Application, polling: bool = False, webhook: dict[str, Any] | None = None
) -> AsyncIterator[Application]:
    """Start `app` as run_polling/run_webhook would (post_init included) and stop it the same way."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if polling:
            await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        if webhook:
            await app.updater.start_webhook(**webhook, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()


@asynccontextmanager
async def bot_session(
    core: Any = None, polling: bool = False, reload: Any = None, library: FakeLibrary | None = None, **overrides: Any
) -> AsyncIterator[tuple[FakeBotApi, Application, Any]]:
    """A fake Bot API server and a started Application pointed at it: yields (api, app, core), `core` being
    the library's default article's (a FakeLibrary around `core` unless `library` is given; `reload()` is what
    /reload finds)."""
    library = library if library is not None else FakeLibrary(core if core is not None else FakeCore(), reread=reload)
    with FakeBotApi() as api:
        app = build_application(settings_for(api, **overrides), library)
        async with running(app, polling=polling):
            yield api, app, library.core(library.default.id)


async def feed(app: Application, *updates: Update) -> None:
    """Process updates one by one as if they had arrived (via their JSON, like polling), each answered
    before the next, so a test reads the replies in a known order."""
    for update in updates:
        await app.process_update(Update.de_json(update.to_dict(), app.bot))
        await desk_of(app).join()


def run_async(coroutine: Awaitable[Any], timeout: float = 30.0) -> Any:
    """Run a test scenario on a fresh event loop; it fails rather than hangs past `timeout`."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def ask_through_fake_server(
    core: Any, text: str, settings: Settings | None = None, timeout: float = 120.0, language_code: str = "id"
) -> list[dict[str, Any]]:
    """Ask `text` in a private chat through the real Application (polling a local fake Bot API), `core`
    answering about the default article of a FakeLibrary.

    Returns the recorded sendMessage payloads (chat_id, text in HTML, parse_mode,
    reply_parameters...) in delivery order. `settings` supplies everything except
    the token, base URL, webhook and allowlists, which point at the fake server.
    """
    with FakeBotApi() as api:
        overrides = {
            "telegram_bot_token": SecretStr(api.token),
            "telegram_base_url": api.base_url,
            "webhook_url": "",
            "allowed_chats": frozenset(),
            "allowed_users": frozenset(),
        }
        chosen = settings_for(api) if settings is None else settings.model_copy(update=overrides)
        app = build_application(chosen, FakeLibrary(core))
        async with running(app, polling=True):
            api.push(text_update(text, private_chat(111), user(111, language_code)))
            await api.wait_for_messages(1, timeout=timeout)
            await asyncio.wait_for(desk_of(app).join(), timeout)  # every part of a split answer
        return api.sent()


REPO = Path(__file__).resolve().parent.parent


def kutip_run_environment(token: str, base_url: str, data_dir: Path, log_level: str = "WARNING", **extra: str) -> dict:
    """The environment of a `kutip run` subprocess against a local Bot API: this one's, without its Kutip settings
    and token. Run it with its cwd outside the repository, so that no developer .env is read."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KUTIP_") and k != "TELEGRAM_BOT_TOKEN"}
    environment.update(
        TELEGRAM_BOT_TOKEN=token,
        KUTIP_TELEGRAM_BASE_URL=base_url,
        KUTIP_DATA_DIR=str(data_dir),
        KUTIP_LOG_LEVEL=log_level,
        PYTHONPATH=str(REPO),
        **extra,
    )
    return environment


def spawn_kutip(program: str, environment: dict, data_dir: Path) -> subprocess.Popen[str]:
    """`program` (Python that ends in `kutip run`) in a subprocess, its output read as text; cwd outside the
    repository, so no developer .env is read."""
    return subprocess.Popen(
        [sys.executable, "-c", program],
        env=environment,
        cwd=data_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
