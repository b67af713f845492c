"""Sending rendered HTML: reply to the asker, and fall back to plain text if Telegram refuses the HTML."""

from __future__ import annotations

import logging

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.adapters.telegram.render import plain

logger = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def thread_of(message: Message) -> int | None:
    """The forum topic a message belongs to, so replies stay in it."""
    return message.message_thread_id if message.is_topic_message else None


async def send_html(
    bot: Bot, chat_id: int, messages: list[str], reply_to: int | None = None, thread_id: int | None = None
) -> list[Message]:
    """Send `messages` in order; the first one replies to `reply_to`. Returns what was sent."""
    sent = []
    for index, text in enumerate(messages):
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and index == 0 else None
        sent.append(await _send_one(bot, chat_id, text, reply, thread_id))
    return sent


async def _send_one(bot: Bot, chat_id: int, text: str, reply: ReplyParameters | None, thread_id: int | None) -> Message:
    options = {
        "chat_id": chat_id,
        "reply_parameters": reply,
        "message_thread_id": thread_id,
        "link_preview_options": _NO_PREVIEW,
    }
    try:
        return await bot.send_message(text=text, parse_mode=ParseMode.HTML, **options)
    except BadRequest as error:
        # Usually "can't parse entities"; the words matter more than the formatting.
        logger.warning("Telegram refused an HTML message (%s); sending it as plain text", error.message)
        return await bot.send_message(text=plain(text), **options)
