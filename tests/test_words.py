"""The word lists in base/words.py read as the sets they are."""

from __future__ import annotations

from collections import Counter

from base.words import STOPWORD_LIST, STOPWORDS


def test_each_stopword_is_listed_once() -> None:
    repeated = sorted(word for word, count in Counter(STOPWORD_LIST).items() if count > 1)
    assert repeated == [] and len(STOPWORDS) == len(STOPWORD_LIST)
