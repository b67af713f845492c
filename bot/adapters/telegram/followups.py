"""Which of our messages answered what, so a reply to an answer becomes a follow-up with context."""

from __future__ import annotations

from collections import OrderedDict

from bot.core.results import Turn


class Followups:
    """A bounded map (chat_id, message_id of our answer) -> Turn; the oldest entries fall out first."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._turns: OrderedDict[tuple[int, int], Turn] = OrderedDict()

    def remember(self, chat_id: int, message_ids: list[int], turn: Turn) -> None:
        """Record that each of `message_ids` (one answer may span several messages) carries `turn`."""
        for message_id in message_ids:
            self._turns[(chat_id, message_id)] = turn
            self._turns.move_to_end((chat_id, message_id))
        while len(self._turns) > self.capacity:
            self._turns.popitem(last=False)

    def get(self, chat_id: int, message_id: int) -> Turn | None:
        return self._turns.get((chat_id, message_id))

    def clear(self) -> None:
        self._turns.clear()

    def __len__(self) -> int:
        return len(self._turns)
