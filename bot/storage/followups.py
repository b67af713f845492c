"""Follow-up context in the `followups` table: which of our messages answered what, so a reply to an
answer is a follow-up with its earlier turn, also after a restart.

An answer is keyed by (chat, "m:<message id>"). When a send's outcome is unknown (the message was
delivered but its id never came back), it is keyed by (chat, "t:<the text Telegram shows>") instead: a
reply carries the text of the message it replies to, so the follow-up is still recognised.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.turn import Turn
from bot.storage.transaction import transaction

# Most answers remembered; the oldest fall out first. Each row is a question and a short answer.
CAPACITY = 4096


@dataclass(frozen=True)
class Followup:
    """An earlier turn and the article it was about (None: the default article)."""

    turn: Turn
    article_id: str | None = None


def _shown(text: str) -> str:
    """Text compared the way Telegram may have trimmed it: whitespace runs collapsed."""
    return " ".join(text.split())


class FollowupStore:
    """A bounded map of our answers -> Followup, kept in SQLite."""

    def __init__(self, connection: sqlite3.Connection, capacity: int = CAPACITY) -> None:
        self._db = connection
        self.capacity = capacity

    def remember(
        self,
        chat_id: int,
        message_ids: Iterable[int],
        turn: Turn,
        shown_texts: Iterable[str] = (),
        article_id: str | None = None,
    ) -> None:
        """Record that each of `message_ids` (one answer may span several messages) carries `turn`,
        and so does each message showing one of `shown_texts` (those whose id is unknown)."""
        keys = [f"m:{message_id}" for message_id in message_ids]
        keys += [f"t:{_shown(text)}" for text in shown_texts if text.strip()]
        if not keys:
            return
        now = time.time()
        with transaction(self._db):  # the answer's rows and the trim together
            # REPLACE gives the row a new rowid, so rowid order is recency order (as in an LRU).
            self._db.executemany(
                "INSERT OR REPLACE INTO followups (chat_id, key, question, answer, article_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(chat_id, key, turn.question, turn.answer, article_id, now) for key in keys],
            )
            self._db.execute(
                "DELETE FROM followups WHERE rowid <= "
                "(SELECT rowid FROM followups ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
                (self.capacity,),
            )

    def get(self, chat_id: int, message_id: int, shown_text: str | None = None) -> Followup | None:
        """The turn our message `message_id` (or, failing that, the message showing `shown_text`) answered."""
        keys = [f"m:{message_id}"] + ([f"t:{_shown(shown_text)}"] if shown_text and shown_text.strip() else [])
        for key in keys:
            row = self._db.execute(
                "SELECT question, answer, article_id FROM followups WHERE chat_id = ? AND key = ?", (chat_id, key)
            ).fetchone()
            if row is not None:
                return Followup(Turn(row["question"], row["answer"]), row["article_id"])
        return None

    def forget_article(self, article_id: str | None) -> None:
        """Drop the turns about one article (None: the default), e.g. when /reload replaced it."""
        self._db.execute("DELETE FROM followups WHERE article_id IS ?", (article_id,))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM followups").fetchone()[0]
