"""Which of our messages answered what, so a reply to an answer becomes a follow-up with context."""

from __future__ import annotations

from collections import OrderedDict

from bot.core.results import Turn


def _shown(text: str) -> str:
    """Text compared the way Telegram may have trimmed it: whitespace runs collapsed."""
    return " ".join(text.split())


class Followups:
    """A bounded map of our answers -> Turn; the oldest entries fall out first.

    An answer is keyed by (chat_id, message_id). When a send's outcome is unknown (the message was
    delivered but its id never came back), it is keyed by (chat_id, the text Telegram shows) instead:
    a reply carries the text of the message it replies to, so the follow-up is still recognised.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._turns: OrderedDict[tuple[int, int | str], Turn] = OrderedDict()

    def remember(self, chat_id: int, message_ids: list[int], turn: Turn, shown_texts: list[str] = ()) -> None:
        """Record that each of `message_ids` (one answer may span several messages) carries `turn`,
        and so does each message showing one of `shown_texts` (those whose id is unknown)."""
        keys = [(chat_id, message_id) for message_id in message_ids]
        keys += [(chat_id, _shown(text)) for text in shown_texts if text.strip()]
        for key in keys:
            self._turns[key] = turn
            self._turns.move_to_end(key)
        while len(self._turns) > self.capacity:
            self._turns.popitem(last=False)

    def get(self, chat_id: int, message_id: int, shown_text: str | None = None) -> Turn | None:
        turn = self._turns.get((chat_id, message_id))
        if turn is None and shown_text:
            turn = self._turns.get((chat_id, _shown(shown_text)))
        return turn

    def clear(self) -> None:
        self._turns.clear()

    def __len__(self) -> int:
        return len(self._turns)
