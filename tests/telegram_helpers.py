"""Shared pieces for the Telegram tests: a FakeCore, real Update builders, and a running Application.

`ask_through_fake_server(core, text)` runs the whole Telegram path (polling,
handlers, queue, rendering, sending) against tests/fake_bot_api.py, so the same
end-to-end test can be run once with the real answer core.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import itertools
import re
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Awaitable, Iterator

from pydantic import SecretStr
from telegram import Chat, Message, MessageEntity, PhotoSize, Update, User
from telegram.ext import Application

from bot.results import Answer, Bullet, Citation, Summary, Turn
from bot.settings import Settings
from bot.telegram import build_application
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.desk import Desk
from bot.telegram.state import KEY, State
from tests.fake_bot_api import FakeBotApi
from index.article import Article, Sentence
from index.errors import KutipError, QuestionError

BOT_ID = 4242
BOT_USERNAME = "KutipBot"

PARAGRAPHS = (
    (
        "OpenAI ingin melonggarkan kendali Microsoft atas produk AI-nya.",
        "Tujuan terbesarnya adalah menjadi perusahaan yang menguntungkan dan melakukan IPO.",
    ),
    (
        "Negosiasi antara kedua pihak berjalan sulit.",
        "Para eksekutif OpenAI membahas tuduhan praktik persaingan tidak sehat.",
        "Microsoft menolak berkomentar.",
    ),
    ("Kemitraan itu pernah dipuji sebagai salah satu kolaborasi paling sukses.",),
)


# --- the answer core ---------------------------------------------------------


def make_article(
    paragraphs: tuple[tuple[str, ...], ...] = PARAGRAPHS,
    title: str = "OpenAI dan Microsoft di ambang perpecahan",
    source_url: str = "https://example.com/openai-microsoft",
) -> Article:
    """An Article whose sentence offsets really point into its text."""
    text, sentences = "", []
    for p, paragraph in enumerate(paragraphs, 1):
        if p > 1:
            text += "\n\n"
        for s, sentence in enumerate(paragraph, 1):
            if s > 1:
                text += " "
            start = len(text)
            text += sentence
            sentences.append(Sentence(p, s, sentence, start, len(text)))
    return Article(text=text, sentences=tuple(sentences), title=title, source_url=source_url, language="id", origin=source_url)


_INDONESIAN = {"apa", "siapa", "kapan", "mengapa", "kenapa", "bagaimana", "berapa", "yang", "apakah", "dan"}


class FakeCore:
    """The core's shape (article, model_name, ask, summary, source) with canned, recorded behaviour.

    Records each call in `.calls`, and how many calls were inside at once in
    `.max_active`, so tests can prove the model is never entered concurrently.
    """

    def __init__(self, article: Article | None = None, delay_s: float = 0.0, model_name: str = "fake-0.5b") -> None:
        self.article = article or make_article()
        self.model_name = model_name
        self.delay_s = delay_s
        self.calls: list[tuple[str, Any, ...]] = []
        self.replies: dict[str, str] = {}  # question -> answer text, overriding the echo
        self.cite: tuple[str, ...] = ("1.1",)
        self.refuse_words: tuple[str, ...] = ("CEO",)
        self.fail_next: Exception | None = None
        self.gate: threading.Event | None = None  # when given, ask() waits for it
        self.entered = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    @contextmanager
    def _inside(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(10), "the test never opened FakeCore.gate"
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            yield
        finally:
            with self._lock:
                self.active -= 1

    @staticmethod
    def language_of(text: str) -> str:
        return "id" if _INDONESIAN & set(re.findall(r"\w+", text.lower())) else "en"

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        with self._inside():
            self.calls.append(("ask", question, history))
            if not question.strip() or len(question) > 2000:
                raise QuestionError("empty or too long")
            lang = language or self.language_of(question)
            if any(word in question for word in self.refuse_words):
                text = "Artikel ini tidak membahas hal itu." if lang == "id" else "The article doesn't cover that."
                return Answer(question, text, refused=True, language=lang, model=self.model_name)
            text = self.replies.get(question, f"Jawaban: {question}")
            citations = tuple(Citation.of(self.article.sentence(i)) for i in self.cite)
            return Answer(question, text, refused=False, language=lang, citations=citations, model=self.model_name)

    def summary(self, language: str) -> Summary:
        with self._inside():
            self.calls.append(("summary", language))
            first, second = self.article.sentences[0], self.article.sentences[2]
            return Summary(
                language,
                (Bullet("OpenAI ingin lepas dari Microsoft.", (Citation.of(first),)), Bullet("Negosiasi sulit.", (Citation.of(second),))),
                self.model_name,
            )

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        self.calls.append(("source", sentence_id))
        sentence = self.article.sentence(sentence_id)
        if sentence is None:
            raise KutipError(f"no sentence {sentence_id}")
        return sentence, self.article.paragraph(sentence.paragraph)


# --- real telegram objects ---------------------------------------------------

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_NOW = dtm.datetime(2025, 1, 1, tzinfo=dtm.timezone.utc)


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


def text_update(text: str, chat: Chat | None = None, sender: User | None = None, reply_to: Message | None = None) -> Update:
    return update_of(message(text, chat, sender, reply_to))


def photo_update(chat: Chat | None = None, sender: User | None = None) -> Update:
    photo = [PhotoSize("file-id", "unique-id", 90, 90)]
    return update_of(message(None, chat, sender, photo=photo))


def sent_message(params: dict[str, Any], chat: Chat) -> Message:
    """The bot's own message as recorded by the fake server, to reply to it."""
    return Message(params["result_message_id"], _NOW, chat, from_user=bot_user(), text=params["text"])


# --- the application ---------------------------------------------------------


def settings_for(api: FakeBotApi, **overrides: Any) -> Settings:
    """Settings pointing at the fake server, generous limits unless a test says otherwise."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": api.token,
        "telegram_base_url": api.base_url,
        "queue_size": 64,
        "user_rate_per_minute": 1000,
    }
    values.update(overrides)
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
    core: Any = None, polling: bool = False, reload: Any = None, **overrides: Any
) -> AsyncIterator[tuple[FakeBotApi, Application, Any]]:
    """A fake Bot API server and a started Application pointed at it: yields (api, app, core)."""
    core = core if core is not None else FakeCore()
    with FakeBotApi() as api:
        app = build_application(settings_for(api, **overrides), core, reload)
        async with running(app, polling=polling):
            yield api, app, core


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
    """Ask `text` in a private chat through the real Application (polling a local fake Bot API).

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
        app = build_application(chosen, core)
        async with running(app, polling=True):
            api.push(text_update(text, private_chat(111), user(111, language_code)))
            await api.wait_for_messages(1, timeout=timeout)
            await asyncio.wait_for(desk_of(app).join(), timeout)  # every part of a split answer
        return api.sent()
