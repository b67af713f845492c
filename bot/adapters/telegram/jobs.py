"""Model work as plain data: a PendingJob (bot/storage/jobs.py) becomes a desk Job the same way whether it
was just asked or restored from the journal after a restart, and its result goes back as a reply to the
asker's message, from the job's data alone (no Update is needed).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

from telegram import Bot, Message

from base.errors import KutipError, StorageError, UnknownArticle
from bot.adapters.telegram import render, texts
from bot.adapters.telegram.desk import Job
from bot.adapters.telegram.send import send_html
from bot.adapters.telegram.state import State
from bot.core.results import Answer, Summary
from bot.core.turn import Turn
from bot.storage import JobKind, PendingJob

logger = logging.getLogger(__name__)


def history_of(job: PendingJob) -> Turn | None:
    if job.history_question is None or job.history_answer is None:
        return None
    return Turn(job.history_question, job.history_answer)


# A new article's first summary (after /read) keeps this many bullets: a glance, /summary has them all.
DIGEST_BULLETS = 3


def job_for(bot: Bot, state: State, pending: PendingJob) -> Job:
    """The desk job doing `pending` with its article's core and replying to its asker; struck off the
    journal once the reply is out (or given up), never when a stop cancelled it.

    The core comes from the library, in the worker thread (building it may be slow). A row journaled before
    jobs named their article (article_id None) is about the default article."""
    article_id = pending.article_id or state.library.default.id
    library = state.library
    kind = JobKind(pending.kind)  # ValueError for a kind this version does not know
    if kind == JobKind.ASK:
        history = history_of(pending)

        def work() -> Any:
            return library.core(article_id).ask(pending.text, history=history)

        deliver = partial(_deliver_answer, bot, state, pending)
    else:

        def work() -> Any:
            return library.core(article_id).summary(pending.text)

        deliver = partial(_deliver_summary, bot, state, pending)
    return Job(
        kind=kind,
        chat_id=pending.chat_id,
        update=pending,  # what the error handler gets: it replies from the job's data
        work=work,
        deliver=deliver,
        thread_id=pending.thread_id,
        settle=partial(state.journal.done, pending.id),
    )


# A quote names its article by title, cut to this many characters.
LABEL_CHARS = 60


def _label(state: State, job: PendingJob) -> str | None:
    """The article's title for the quotes, only when the chat has more than one article to tell apart."""
    entries = state.library.recent(job.chat_id)
    if len(entries) <= 1:
        return None
    article_id = job.article_id or state.library.default.id
    title = next((e.title for e in entries if e.id == article_id), "") or article_id[:8]
    return title if len(title) <= LABEL_CHARS else title[:LABEL_CHARS] + "…"


async def restore(bot: Bot, state: State, pending: list[PendingJob]) -> int:
    """Queue again the jobs a stop left in the journal; returns how many.

    `pending` is read before any update is handled, so a job journaled since is not queued twice.
    """
    if pending:
        logger.info("answering %d question(s) accepted before the restart", len(pending))
    for job in pending:
        try:
            await state.desk.put(job_for(bot, state, job))
        except ValueError as error:  # a row this version cannot do: drop it rather than retry it forever
            logger.warning("dropping journaled job %s: %s", job.id, error)
            state.journal.done(job.id)
    return len(pending)


async def reply_to_job(bot: Bot, state: State, job: PendingJob, messages: list[str]) -> list[Message | None]:
    """Send `messages` as a reply to the asker's message, retried for KUTIP_DELIVERY_RETRY_S."""
    return await send_html(
        bot, job.chat_id, messages, job.message_id, job.thread_id, retry_s=state.settings.delivery_retry_s
    )


async def _explain(bot: Bot, state: State, job: PendingJob, error: KutipError) -> None:
    """A domain error (a refused question...) as one line in the asker's language."""
    if isinstance(error, UnknownArticle):  # evicted (another chat's read) while the job waited
        logger.info("%s job %s in chat %s: its article is gone: %s", job.kind, job.id, job.chat_id, error)
        line = texts.t("article_gone", job.language)
    else:
        line = texts.error_text(error, job.language)
    await reply_to_job(bot, state, job, render.to_messages([render.Block(raw=line)]))


async def _deliver_answer(bot: Bot, state: State, job: PendingJob, result: Answer | KutipError) -> None:
    if isinstance(result, KutipError):
        await _explain(bot, state, job, result)
        return
    parts = render.to_messages(render.answer_blocks(result, _label(state, job)))
    sent = await reply_to_job(bot, state, job, parts)
    # Every part of a split answer can be replied to for a follow-up; a part whose id is unknown
    # (delivered, but the response was lost) is recognised by its text.
    try:
        state.followups.remember(
            job.chat_id,
            [m.message_id for m in sent if m is not None],
            result.as_turn(),
            [render.plain(part) for part, m in zip(parts, sent, strict=True) if m is None],
            article_id=job.article_id,
        )
    except StorageError as error:  # the answer is out; only a reply to it loses its earlier turn
        logger.warning("answer in chat %s sent, but not kept for follow-ups: %s", job.chat_id, error)


async def _deliver_summary(bot: Bot, state: State, job: PendingJob, result: Summary | KutipError) -> None:
    if isinstance(result, KutipError):
        await _explain(bot, state, job, result)
        return
    if job.kind == JobKind.DIGEST:
        result = replace(result, bullets=result.bullets[:DIGEST_BULLETS])
    await reply_to_job(bot, state, job, render.to_messages(render.summary_blocks(result, _label(state, job))))
