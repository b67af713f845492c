"""Articles from the chat: /read, a link sent alone in a private chat, a .txt/.html document, /read as a
reply to a message with a link; and /articles, /use.

Reading runs in the background (reading.py) behind a "reading the article…" message edited per stage;
the result is one line (the article, or why it could not be read) and then, through the desk like any
model job, a short cited summary. A failed read leaves the chat's article as it was (the library's rule).
"""

from __future__ import annotations

import logging
from functools import partial

from telegram import Document, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from base.errors import ArticleTooLarge, FetchFailed, KutipError
from bot.adapters.telegram import links, texts, triggers
from bot.adapters.telegram.handlers import Context, enqueue, language, pending_job, reply, source_of
from bot.adapters.telegram.progress import ProgressMessage
from bot.adapters.telegram.state import State, state_of
from bot.storage import ArticleEntry, JobKind

logger = logging.getLogger(__name__)

_NEW = filters.UpdateType.MESSAGE


# --- reading -----------------------------------------------------------------


async def read_command(update: Update, context: Context) -> None:
    """/read <url>, or /read in reply to a message with a link or a document: make it the chat's article."""
    message = update.effective_message
    argument = triggers.command_argument(message)
    replied = message.reply_to_message
    if argument:
        # Only a link: a chat must never name a path on the server.
        link = links.only_link(argument)
        if link is None:
            await reply(update, context, texts.t("read_usage", language(update)))
            return
        await start_reading(update, context, link)
    elif replied is not None and replied.document is not None:
        await start_reading(update, context, "", replied.document)
    elif replied is not None and links.link_in(replied):
        await start_reading(update, context, links.link_in(replied))
    else:
        await reply(update, context, texts.t("read_usage", language(update)))


async def link_message(update: Update, context: Context) -> None:
    """A private message that is just an http(s) link: read it."""
    await start_reading(update, context, links.only_link(update.effective_message.text))


async def document_message(update: Update, context: Context) -> None:
    """A document sent to Kutip (any in a private chat; in a group, with a caption mentioning it or as a
    reply to it): read it as an article."""
    message = update.effective_message
    if message.chat.type != "private" and not _addressed(message, context):
        return
    await start_reading(update, context, "", message.document)


def _addressed(message: Message, context: Context) -> bool:
    bot = context.bot
    mentioned = bool(bot.username) and f"@{bot.username}".lower() in (message.caption or "").lower()
    return mentioned or triggers.is_reply_to(message, bot.id)


async def start_reading(update: Update, context: Context, source: str, document: Document | None = None) -> None:
    """Check what can be checked at once, show "reading the article…", and read in the background."""
    state = state_of(context)
    lang = language(update)
    chat_id = update.effective_chat.id
    if state.reader.reading(chat_id):
        await reply(update, context, texts.t("read_running", lang))
        return
    if document is not None:
        name = links.document_name(document)
        if name is None:  # a photo sent as a file, a PDF, an archive…: refused before downloading it
            await reply(update, context, texts.t("not_an_article_file", lang))
            return
        limit = state.settings.fetch_max_bytes
        if document.file_size is not None and document.file_size > limit:
            too_large = ArticleTooLarge(name, document.file_size, limit, "bytes")
            await reply(update, context, texts.read_error_text(too_large, lang))
            return
        source = name
    [shown] = await reply(update, context, texts.t("reading", lang, stage=""))

    async def edit(html_text: str) -> None:
        await context.bot.edit_message_text(
            html_text, chat_id=chat_id, message_id=shown.message_id, parse_mode=ParseMode.HTML
        )

    def stage_text(stage: str) -> str:
        return texts.t("reading", lang, stage=texts.plain(f"stage_{stage}", lang) if stage else "")

    progress = ProgressMessage(edit, stage_text, shown.message_id if shown is not None else None)
    state.reader.start(chat_id, partial(_read, update, context, state, source, document, progress))


async def _read(
    update: Update,
    context: Context,
    state: State,
    source: str,
    document: Document | None,
    progress: ProgressMessage,
) -> None:
    """Download (a document), read off the loop, then say what came of it and queue the summary."""
    lang = language(update)
    chat_id = update.effective_chat.id
    library = state.library
    try:
        data = await _download(document, state.settings.fetch_max_bytes) if document is not None else None
        entry = await state.reader.off_loop(
            partial(library.read, source, chat_id=chat_id, document=data, progress=progress.report)
        )
    except KutipError as error:
        logger.info("chat %s could not read %r: %s", chat_id, source, error)
        state.stats.count("read_failures")
        await _conclude(update, context, progress, texts.read_error_text(error, lang))
        return
    except Exception:
        await progress.finish(texts.t("internal_error", lang))
        raise  # logged with its traceback by the reader
    state.stats.count("reads")
    logger.info("chat %s now reads article %s (%d sentences)", chat_id, entry.short_id, entry.sentences)
    await _conclude(update, context, progress, _card(entry, lang))
    await enqueue(update, context, pending_job(update, JobKind.DIGEST, lang, entry.id))


async def _download(document: Document, limit: int) -> bytes:
    """The document's bytes, at most `limit` of them (its announced size was checked already)."""
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        raise FetchFailed(f"could not download {document.file_name!r}: {error}") from None
    if len(data) > limit:
        raise ArticleTooLarge(document.file_name or "", len(data), limit, "bytes")
    return data


async def _conclude(update: Update, context: Context, progress: ProgressMessage, html_text: str) -> None:
    """Turn the progress message into `html_text`, or send it anew when that message cannot be edited."""
    if not await progress.finish(html_text):
        await reply(update, context, html_text, patient=True)


def _card(entry: ArticleEntry, lang: str) -> str:
    title = entry.title or texts.plain("untitled", lang)
    return texts.t("read_done", lang, title=title, url=source_of(entry.origin, lang), sentences=entry.sentences)


# --- choosing ----------------------------------------------------------------


async def articles_command(update: Update, context: Context) -> None:
    """/articles: the chat's recent articles, numbered, the current one marked."""
    state = state_of(context)
    lang = language(update)
    chat_id = update.effective_chat.id
    entries = state.library.recent(chat_id)
    current = state.library.current(chat_id).id
    lines = [texts.t("articles_title", lang)]
    for number, entry in enumerate(entries, 1):
        line = texts.t(
            "articles_line",
            lang,
            number=number,
            title=texts.echo(entry.title or texts.plain("untitled", lang), 80),
            sentences=entry.sentences,
            source=texts.echo(source_of(entry.origin, lang), 80),
        )
        lines.append(line + (texts.t("articles_current", lang) if entry.id == current else ""))
    lines.append(texts.t("articles_footer", lang))
    await reply(update, context, "\n".join(lines))


async def use_command(update: Update, context: Context) -> None:
    """/use N: make the N-th of /articles (or an id, or a link read before) the chat's article."""
    state = state_of(context)
    lang = language(update)
    choice = triggers.command_argument(update.effective_message)
    if not choice:
        await reply(update, context, texts.t("use_usage", lang))
        return
    try:
        entry = state.library.use(update.effective_chat.id, choice)
    except KutipError:  # UnknownArticle: not in this chat's list, or evicted
        await reply(update, context, texts.t("unknown_article", lang, choice=texts.echo(choice)))
        return
    title = entry.title or texts.plain("untitled", lang)
    await reply(update, context, texts.t("now_using", lang, title=title, sentences=entry.sentences))


def register(application: Application) -> None:
    """Attach the article handlers; registered before the question handlers, which would take a link for
    a question and a document for "not text"."""
    application.add_handler(CommandHandler("read", read_command, filters=_NEW))
    application.add_handler(CommandHandler("articles", articles_command, filters=_NEW))
    application.add_handler(CommandHandler("use", use_command, filters=_NEW))
    link_only = filters.Regex(r"^\s*https?://\S+\s*$")
    application.add_handler(
        MessageHandler(_NEW & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & link_only, link_message)
    )
    application.add_handler(MessageHandler(_NEW & filters.Document.ALL, document_message))
