"""Sending rendered HTML: reply to the asker, fall back to plain text if Telegram refuses the HTML, and get
the message through transient Bot API faults without ever sending it twice.

Delivery rules (the Bot API has no idempotency key, so a resend may duplicate a message):
- Retried with backoff, within a time budget: 5xx answers, connections refused or closed before an answer
  (the usual proxy reset; a drop after Telegram took the message would duplicate it, which is judged
  better than losing the answer), connect and pool timeouts (nothing was sent), and 429s (after the
  wait Telegram asks for; the rate limiter already retried a few).
- Outcome unknown, counted as delivered once and never resent: a read or write timeout (the request
  reached Telegram, which may well have posted it) and a success answer that cannot be parsed.
  The caller gets None for such a message, since its id is unknown.
- Anything else (a refused chat, a bad request) is raised at once.
When the budget is spent the message is given up with `Undelivered`: a delivery failure, not a failure
of Kutip, so it is logged and no "something went wrong" follows it (that would be lost the same way).
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.adapters.telegram.backoff import Backoff, retry_after_s
from bot.adapters.telegram.render import plain

logger = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Undelivered(Exception):
    """A message that could not be handed to Telegram within the delivery budget."""


def thread_of(message: Message) -> int | None:
    """The forum topic a message belongs to, so replies stay in it."""
    return message.message_thread_id if message.is_topic_message else None


def is_delivery_failure(error: BaseException) -> bool:
    """Whether `error` is the Bot API failing to take a message (as opposed to Kutip failing)."""
    if isinstance(error, Undelivered | RetryAfter | TimedOut):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


async def send_html(
    bot: Bot,
    chat_id: int,
    messages: list[str],
    reply_to: int | None = None,
    thread_id: int | None = None,
    retry_s: float = 0.0,
) -> list[Message | None]:
    """Send `messages` in order; the first one replies to `reply_to`.

    Returns what was sent, None where the outcome is unknown (see the module's rules); each message may be
    retried for `retry_s` seconds.
    """
    sent = []
    for index, text in enumerate(messages):
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and index == 0 else None
        sent.append(await _deliver_one(bot, chat_id, text, reply, thread_id, retry_s))
    return sent


async def _deliver_one(
    bot: Bot, chat_id: int, text: str, reply: ReplyParameters | None, thread_id: int | None, retry_s: float
) -> Message | None:
    backoff = Backoff(retry_s)
    as_html = True
    while True:
        try:
            return await _send_one(bot, chat_id, text, reply, thread_id, as_html)
        except BadRequest as error:
            if not as_html:
                raise
            # Usually "can't parse entities"; the words matter more than the formatting.
            logger.warning("Telegram refused an HTML message (%s); sending it as plain text", error.message)
            as_html = False
            continue
        except TimedOut as error:
            if not _never_sent(error):
                logger.warning("sending to chat %s timed out; counting it as delivered (outcome unknown)", chat_id)
                return None
            failure: TelegramError = error
        except (RetryAfter, NetworkError) as error:
            failure = error
        except TelegramError as error:
            if type(error) is not TelegramError:  # Forbidden, InvalidToken, Conflict...: no use retrying
                raise
            # "Invalid server response": Telegram answered 200 but the body was lost or garbled.
            logger.warning("sent to chat %s but the answer was unreadable; counting it as delivered", chat_id)
            return None
        pause = backoff.pause(retry_after_s(failure))
        if pause is None:
            logger.error(
                "gave up sending to chat %s after %d attempts: %s: %s",
                chat_id,
                backoff.attempts,
                type(failure).__name__,
                failure,
            )
            raise Undelivered(f"not delivered to chat {chat_id}: {failure}") from failure
        logger.warning(
            "sending to chat %s failed (%s: %s); retrying in %.1f s (attempt %d)",
            chat_id,
            type(failure).__name__,
            failure,
            pause,
            backoff.attempts,
        )
        await asyncio.sleep(pause)


def _never_sent(error: TimedOut) -> bool:
    """A connect or pool timeout: the request never left, so sending again cannot duplicate it."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


async def _send_one(
    bot: Bot, chat_id: int, text: str, reply: ReplyParameters | None, thread_id: int | None, as_html: bool
) -> Message:
    options = {
        "chat_id": chat_id,
        "reply_parameters": reply,
        "message_thread_id": thread_id,
        "link_preview_options": _NO_PREVIEW,
    }
    if as_html:
        return await bot.send_message(text=text, parse_mode=ParseMode.HTML, **options)
    return await bot.send_message(text=plain(text), **options)
