"""Telegram handlers: decide whether a message is for Kutip, queue slow work, send the rendered reply.

No answering logic lives here: the core answers, render.py formats, desk.py schedules.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import PurePath

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from base.errors import KutipError
from bot.adapters.telegram import render, texts, triggers
from bot.adapters.telegram.access import is_admin, is_allowed
from bot.adapters.telegram.jobs import job_for
from bot.adapters.telegram.reading import RELOAD
from bot.adapters.telegram.send import is_delivery_failure, send_html, thread_of
from bot.adapters.telegram.state import State, state_of
from bot.core.ports import AnswerCore
from bot.core.questions import check_question
from bot.core.turn import Turn
from bot.storage import ArticleEntry, Followup, JobKind, PendingJob

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

# Only new messages: an edited question must not be answered twice.
_NEW = filters.UpdateType.MESSAGE

# How long a direct reply (help, "busy"...) is retried through Bot API faults. Short: handlers run one
# update at a time, so a long retry here would hold up every chat. Answers get KUTIP_DELIVERY_RETRY_S.
REPLY_RETRY_S = 10.0


def language(update: Update) -> str:
    """The asker's interface language, from their Telegram client setting."""
    user = update.effective_user
    return texts.language_of(user.language_code if user else None)


def _retry_s(context: Context, patient: bool) -> float:
    return state_of(context).settings.delivery_retry_s if patient else REPLY_RETRY_S


async def reply(update: Update, context: Context, html_text: str, patient: bool = False) -> list[Message | None]:
    """Reply to the update's message with short, trusted HTML; `patient` for the result of queued work."""
    return await reply_blocks(update, context, [render.Block(raw=html_text)], patient)


async def reply_blocks(
    update: Update, context: Context, blocks: list[render.Block], patient: bool = False
) -> list[Message | None]:
    """Reply with rendered blocks, split into as many messages as needed (None: sent, outcome unknown)."""
    message = update.effective_message
    return await send_html(
        context.bot,
        message.chat_id,
        render.to_messages(blocks),
        message.message_id,
        thread_of(message),
        retry_s=_retry_s(context, patient),
    )


# --- access ------------------------------------------------------------------


async def gate(update: Update, context: Context) -> None:
    """Stop updates from chats or users outside the allowlists before any handler sees them."""
    settings = state_of(context).settings
    chat, user = update.effective_chat, update.effective_user
    if is_allowed(settings, chat.id if chat else None, user.id if user else None):
        return
    logger.info(
        "ignoring update %s: chat %s / user %s not allowed", update.update_id, chat and chat.id, user and user.id
    )
    message = update.effective_message
    # Say why only to someone who starts a private chat; silence everywhere else.
    if chat and chat.type == ChatType.PRIVATE and message and (message.text or "").startswith("/start"):
        await reply(update, context, texts.t("not_allowed", language(update)))
    raise ApplicationHandlerStop


# --- questions ----------------------------------------------------------------


def _followup(state: State, message: Message, bot_id: int) -> Followup | None:
    """The earlier question and answer (and their article) when `message` replies to one of our answers."""
    if not triggers.is_reply_to(message, bot_id):
        return None
    replied = message.reply_to_message
    return state.followups.get(message.chat_id, replied.message_id, replied.text)


def pending_job(update: Update, kind: JobKind, text: str, article_id: str, history: Turn | None = None) -> PendingJob:
    """The job asked for by `update`, as plain data: what the journal keeps and a restart restores.

    `article_id` is the article to answer about, fixed now: a chat that switches articles while the job
    waits does not change what it was asked about."""
    message = update.effective_message
    user = update.effective_user
    return PendingJob(
        kind=kind,
        chat_id=message.chat_id,
        message_id=message.message_id,
        language=language(update),
        text=text,
        thread_id=thread_of(message),
        user_id=user.id if user else None,
        history_question=history.question if history else None,
        history_answer=history.answer if history else None,
        article_id=article_id,
    )


async def enqueue(update: Update, context: Context, pending: PendingJob) -> None:
    """The one way to model work: admit (busy, rate limit), write it down, queue it, or say why not.

    Written to the journal before it is queued, so a stop with jobs still queued loses none of them.
    """
    state = state_of(context)
    desk = state.desk
    if state.journal.accepted(pending):
        # Telegram delivered the update again (a crash kept its offset from being confirmed): it was
        # answered, or waits in the journal, already. Checked before admission, so it costs no rate.
        logger.info("message %s in chat %s was accepted before; not queued again", pending.message_id, pending.chat_id)
        return
    refusal = desk.admit(pending.user_id if pending.user_id is not None else pending.chat_id)
    if refusal is not None:
        await reply(update, context, texts.t(refusal, pending.language))
        return
    journaled = state.journal.add(pending)
    if journaled is None:
        return
    pending = journaled
    if not desk.submit(job_for(context.bot, state, pending)):
        state.journal.done(pending.id)
        await reply(update, context, texts.t("busy", pending.language))


async def submit_question(update: Update, context: Context, question: str) -> None:
    """Queue `question` for the model; the answer is sent, cited, when its turn comes."""
    state = state_of(context)
    message = update.effective_message
    lang = language(update)
    if not question.strip():
        await reply(update, context, texts.t("ask_usage", lang))
        return
    try:
        # Refused here rather than after waiting in the queue for the core to refuse it.
        question = check_question(question, state.settings.max_question_chars)
    except KutipError as error:
        await reply(update, context, texts.error_text(error, lang))
        return
    followup = _followup(state, message, context.bot.id)
    if followup is not None:  # a follow-up is about the article its earlier answer came from
        article_id = followup.article_id or state.library.default.id  # None: a turn kept before ids were
        job = pending_job(update, JobKind.ASK, question, article_id, followup.turn)
    else:
        job = pending_job(update, JobKind.ASK, question, state.library.current(message.chat_id).id)
    await enqueue(update, context, job)


async def ask_command(update: Update, context: Context) -> None:
    """/ask <question>: answer with the quoted source sentence."""
    await submit_question(update, context, triggers.command_argument(update.effective_message))


async def private_text(update: Update, context: Context) -> None:
    """In a private chat any text is a question."""
    bot = context.bot
    await submit_question(update, context, triggers.private_question(update.effective_message, bot.username, bot.id))


async def group_text(update: Update, context: Context) -> None:
    """In a group answer only replies to Kutip and messages that mention it; ignore the rest."""
    bot = context.bot
    question = triggers.group_question(update.effective_message, bot.username, bot.id)
    if question is not None:
        await submit_question(update, context, question)


# --- article commands --------------------------------------------------------


async def core_of(state: State, article_id: str) -> AnswerCore:
    """The article's core, from the library (the one door to a core); off the loop, as building it may be slow."""
    return await asyncio.to_thread(state.library.core, article_id)


async def help_command(update: Update, context: Context) -> None:
    """/start and /help: what Kutip is, which article, how to ask."""
    lang = language(update)
    fields = await _about(state_of(context), update.effective_chat.id, lang)
    await reply(update, context, texts.t("help", lang, bot=context.bot.username, **fields))


def source_of(origin: str, lang: str) -> str:
    """Where an article came from, as a chat may see it: its URL or its file name, never a server path."""
    if origin.startswith(("http://", "https://")):
        return origin
    return PurePath(origin).name or texts.plain("no_url", lang)


async def _about(state: State, chat_id: int, lang: str) -> dict:
    """What /help and /article say about the chat's article, with localised stand-ins for what is missing.

    The default article is described from its core (its paragraphs too), the others from their entries."""
    entry = state.library.current(chat_id)
    fields = {
        "title": entry.title or texts.plain("untitled", lang),
        "url": source_of(entry.origin, lang),
        "sentences": entry.sentences,
        "short_id": entry.short_id,
        "is_default": entry.is_default,
    }
    if entry.is_default:
        article = (await core_of(state, entry.id)).article
        # Never the local origin: a server path means nothing to a Telegram user and should not leak.
        fields.update(
            title=article.title or texts.plain("untitled", lang),
            url=article.source_url or texts.plain("no_url", lang),
            sentences=len(article.sentences),
            paragraphs=article.paragraph_count,
        )
    return fields


async def summary_command(update: Update, context: Context) -> None:
    """/summary [id|en]: a cited summary, in the asker's language unless one is given."""
    lang = language(update)
    wanted = (context.args or [""])[0].lower()
    summary_language = wanted if wanted in texts.LANGUAGES else lang
    article_id = state_of(context).library.current(update.effective_chat.id).id
    await enqueue(update, context, pending_job(update, JobKind.SUMMARY, summary_language, article_id))


async def source_command(update: Update, context: Context) -> None:
    """/source <id>: the sentence in its paragraph, verbatim."""
    lang = language(update)
    if not context.args:
        await reply(update, context, texts.t("source_usage", lang))
        return
    sentence_id = context.args[0].strip().strip("[]")
    state = state_of(context)
    try:
        # The chat's current article; its core may have to be loaded first (off the loop), but the lookup
        # itself is a dictionary lookup, not a model call: no need to queue it.
        core = await core_of(state, state.library.current(update.effective_chat.id).id)
    except KutipError as error:  # evicted meanwhile
        await reply(update, context, texts.error_text(error, lang))
        return
    try:
        sentence, paragraph = core.source(sentence_id)
    except KutipError:
        await reply(update, context, texts.t("unknown_sentence", lang, id=texts.echo(sentence_id)))
        return
    await reply_blocks(update, context, render.source_blocks(core.article, sentence, paragraph, lang))


async def article_command(update: Update, context: Context) -> None:
    """/article: title, source URL and sentence count."""
    lang = language(update)
    fields = await _about(state_of(context), update.effective_chat.id, lang)
    await reply(update, context, texts.t("article" if fields["is_default"] else "article_entry", lang, **fields))


# --- admin -------------------------------------------------------------------


async def _admin_only(update: Update, context: Context) -> bool:
    user = update.effective_user
    if is_admin(state_of(context).settings, user.id if user else None):
        return True
    await reply(update, context, texts.t("admins_only", language(update)))
    return False


async def stats_command(update: Update, context: Context) -> None:
    """/stats (admins): questions, refusals, latency p50/p95, queue depth."""
    if not await _admin_only(update, context):
        return
    state = state_of(context)
    model = (await core_of(state, state.library.default.id)).model_name or "?"
    await reply(update, context, texts.t("stats", language(update), model=model, **state.desk.snapshot()))


async def reload_command(update: Update, context: Context) -> None:
    """/reload (admins): read the default article again through the library, then answer from it.

    The library's slow call runs off the event loop (reading.py), not in the model queue: questions go on
    being answered meanwhile, and jobs already queued keep the article they named.
    """
    if not await _admin_only(update, context):
        return
    state = state_of(context)
    lang = language(update)
    if state.reader.reading(RELOAD):
        await reply(update, context, texts.t("reload_running", lang))
        return
    # Announced before starting, so it cannot arrive after a quick result.
    await reply(update, context, texts.t("reloading", lang))
    state.reader.start(RELOAD, partial(_reload, update, context, state))


async def _reload(update: Update, context: Context, state: State) -> None:
    """Read the default again, off the loop, and say so, or explain why not."""
    lang = language(update)
    try:
        entry: ArticleEntry = await state.reader.off_loop(state.library.reload_default)
    except KutipError as error:
        await reply(update, context, texts.error_text(error, lang), patient=True)
        return
    except Exception as error:
        await context.application.process_error(update, error)
        return
    state.followups.forget_article(None)  # turns kept before they named their article were about the old default
    title = entry.title or texts.plain("untitled", lang)
    await reply(update, context, texts.t("reloaded", lang, title=title, sentences=entry.sentences), patient=True)


# --- everything else ---------------------------------------------------------


async def unknown_command(update: Update, context: Context) -> None:
    """An unknown /command in a private chat: point to /help."""
    await reply(update, context, texts.t("unknown_command", language(update)))


async def non_text(update: Update, context: Context) -> None:
    """A photo, sticker, voice... in a private chat: a one-line hint."""
    await reply(update, context, texts.t("non_text", language(update)))


async def on_error(update: object, context: Context) -> None:
    """Log any unexpected error with its traceback, tell the user, and keep the bot running.

    `update` is an Update (a handler failed) or a PendingJob (queued work failed).
    """
    if isinstance(update, Update):
        where = f"update {update.update_id}"
    elif isinstance(update, PendingJob):
        where = f"{update.kind} job {update.id} in chat {update.chat_id}"
    else:
        where = "outside an update"
    if is_delivery_failure(context.error):
        # The Bot API did not take a message (already logged with its retries). A notice would be lost
        # the same way, or arrive as a second, contradictory message later.
        logger.warning("could not deliver a reply for %s: %s", where, context.error)
        return
    error = context.error
    if isinstance(error, KutipError):
        # Expected, though no handler caught it: the database locked by another process or the disk full
        # while a message was taken (it was not accepted: the asker is told to send it again). One line.
        logger.warning("%s: %s", where, error)
    else:
        logger.error("unexpected error %s", where, exc_info=error)

    def notice(lang: str) -> str:
        return texts.error_text(error, lang) if isinstance(error, KutipError) else texts.t("internal_error", lang)

    try:
        if isinstance(update, PendingJob):
            await send_html(
                context.bot,
                update.chat_id,
                [notice(update.language)],
                update.message_id,
                update.thread_id,
                REPLY_RETRY_S,
            )
        elif isinstance(update, Update) and update.effective_message is not None:
            await reply(update, context, notice(language(update)))
    except Exception as error:  # telling the user failed too; the log above is what matters
        logger.warning("could not report the error (%s): %s", where, error)


def register(application: Application) -> None:
    """Attach every handler; the allowlist gate runs first, in its own group."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handler(TypeHandler(Update, gate), group=-1)
    commands = {
        ("start", "help"): help_command,
        ("ask",): ask_command,
        ("summary",): summary_command,
        ("source",): source_command,
        ("article",): article_command,
        ("stats",): stats_command,
        ("reload",): reload_command,
    }
    for names, callback in commands.items():
        application.add_handler(CommandHandler(list(names), callback, filters=_NEW))
    application.add_handler(MessageHandler(_NEW & private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(_NEW & private & filters.TEXT & ~filters.COMMAND, private_text))
    application.add_handler(MessageHandler(_NEW & groups & filters.TEXT & ~filters.COMMAND, group_text))
    application.add_handler(MessageHandler(_NEW & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text))
    application.add_error_handler(on_error)
