"""When a message is addressed to Kutip, and what its question is.

Private chat: every text message is a question. Group: a reply to one of
Kutip's messages, or a message that @mentions it. Commands are routed by
PTB's CommandHandler, which already ignores `/ask@another_bot`.
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity


def is_reply_to(message: Message, bot_id: int) -> bool:
    """True if `message` answers one of the bot's own messages."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return False
    # In forum topics every message "replies" to the topic's first message; that is not a reply to us.
    return not (message.is_topic_message and replied.forum_topic_created is not None)


def mentions_of(message: Message, bot_username: str, bot_id: int) -> list[str]:
    """The substrings of `message` that mention the bot: "@username" entities, or text mentions of it."""
    found = []
    wanted = "@" + bot_username.lower()
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if (
            entity.type == MessageEntity.MENTION
            and text.lower() == wanted
            or entity.type == MessageEntity.TEXT_MENTION
            and entity.user is not None
            and entity.user.id == bot_id
        ):
            found.append(text)
    return found


def without(text: str, mentions: list[str]) -> str:
    """`text` with each mention of the bot removed once, whitespace tidied."""
    for mention in mentions:
        text = text.replace(mention, " ", 1)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def private_question(message: Message, bot_username: str, bot_id: int) -> str:
    """In a private chat the whole text is the question (minus any mention of the bot)."""
    return without(message.text or "", mentions_of(message, bot_username, bot_id))


def group_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message addressed to the bot, or None to stay silent."""
    mentions = mentions_of(message, bot_username, bot_id)
    if mentions:
        return without(message.text or "", mentions)
    if is_reply_to(message, bot_id):
        return (message.text or "").strip()
    return None


def command_argument(message: Message) -> str:
    """The raw text after a leading /command[@bot], newlines and spacing kept."""
    text = message.text or ""
    commands = message.parse_entities([MessageEntity.BOT_COMMAND])
    for entity, command in commands.items():
        if entity.offset == 0:
            return text[len(command) :].strip()
    return text.partition(" ")[2].strip()
