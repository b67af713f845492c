"""Who may use the bot, and who may run admin commands (the rule is tabled in docs/telegram.md)."""

from __future__ import annotations

from bot.wiring.settings import Settings


def is_admin(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.admins


def is_allowed(settings: Settings, chat_id: int | None, user_id: int | None) -> bool:
    """Both allowlists must pass (an empty one passes everyone); admins always pass.

    A listed user's own private chat counts as an allowed chat: Telegram gives a private chat
    the user's id, and an operator who lists a person means that person may talk to the bot.
    """
    if is_admin(settings, user_id):
        return True
    user_ok = not settings.allowed_users or user_id in settings.allowed_users
    private_of_listed_user = chat_id is not None and chat_id == user_id and user_id in settings.allowed_users
    chat_ok = not settings.allowed_chats or chat_id in settings.allowed_chats or private_of_listed_user
    return user_ok and chat_ok
