"""Who may use the bot, and who may run admin commands."""

from __future__ import annotations

from bot.wiring.settings import Settings


def is_admin(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.admins


def is_allowed(settings: Settings, chat_id: int | None, user_id: int | None) -> bool:
    """Both allowlists must pass (an empty one passes everyone); admins always pass."""
    if is_admin(settings, user_id):
        return True
    if settings.allowed_chats and chat_id not in settings.allowed_chats:
        return False
    return not (settings.allowed_users and user_id not in settings.allowed_users)
