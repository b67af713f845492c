"""The allowlist rule, case by case (the table in docs/telegram.md)."""

import pytest

from bot.adapters.telegram.access import is_allowed
from bot.wiring.settings import Settings

GROUP, OTHER_GROUP = -100111, -100222
LISTED, UNLISTED, ADMIN = 111, 333, 999


def settings(chats: str = "", users: str = "") -> Settings:
    values = {"admins": str(ADMIN)}
    if chats:
        values["allowed_chats"] = chats
    if users:
        values["allowed_users"] = users
    return Settings(_env_file=None, **values)


# (allowed chats, allowed users, chat, user, allowed?)
CASES = [
    ("", "", OTHER_GROUP, UNLISTED, True),  # no lists: everyone
    (str(GROUP), "", GROUP, UNLISTED, True),  # chats only: anyone in a listed chat
    (str(GROUP), "", OTHER_GROUP, LISTED, False),
    (str(GROUP), "", UNLISTED, UNLISTED, False),  # a private chat is a chat like any other
    (f"{GROUP},{UNLISTED}", "", UNLISTED, UNLISTED, True),  # ... allowed when its id is listed
    ("", str(LISTED), OTHER_GROUP, LISTED, True),  # users only: a listed user anywhere
    ("", str(LISTED), GROUP, UNLISTED, False),
    (str(GROUP), str(LISTED), GROUP, LISTED, True),  # both: a listed user in a listed chat
    (str(GROUP), str(LISTED), GROUP, UNLISTED, False),
    (str(GROUP), str(LISTED), OTHER_GROUP, LISTED, False),
    (str(GROUP), str(LISTED), LISTED, LISTED, True),  # both: a listed user's own private chat
    (str(GROUP), str(LISTED), UNLISTED, UNLISTED, False),
    (str(GROUP), str(LISTED), OTHER_GROUP, ADMIN, True),  # admins always
]


@pytest.mark.parametrize("chats, users, chat_id, user_id, allowed", CASES)
def test_allowlist_rule(chats, users, chat_id, user_id, allowed):
    assert is_allowed(settings(chats, users), chat_id, user_id) is allowed
