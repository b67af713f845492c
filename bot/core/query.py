"""A question, read once: its language, word stems and specifics, shared by every check of one ask."""

from __future__ import annotations

import re
from dataclasses import dataclass

from base.words import STOPWORDS, content_tokens, stems, tokenize

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[\"“”«»']([^\"“”«»']{2,60})[\"“”«»']")
# Question words that open questions capitalised without being names.
QUESTION_WORDS = frozenset(
    "apa apakah siapa siapakah kapan kapankah mengapa kenapa bagaimana berapa berapakah dimana di mana manakah "
    "what who whom whose when where why how which is are was were do does did can could".split()
)


def names(text: str, opening: bool = False) -> list[str]:
    """Capitalised words. The opening word is capitalised by sentence case, so it counts only when it
    looks like a name inside too ("OpenAI", "WSJ"), or when `opening` says to count it anyway."""
    words = re.findall(r"[\w'’-]+", text)
    return [w for i, w in enumerate(words) if w[:1].isupper() and (i > 0 or opening or any(c.isupper() for c in w[1:]))]


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").replace(".", "") for n in _NUMBER.findall(text)}


def specifics(question: str, same_language: bool = True) -> set[str]:
    """The question's own names, numbers and quoted titles: what a near-miss question swaps.

    Quoted titles are words, so they count only when the question is in the article's language.
    """
    named = {t for w in names(question) for t in tokenize(w)[:1] if t not in STOPWORDS and t not in QUESTION_WORDS}
    titles = {t for q in _QUOTED.findall(question) for t in content_tokens(q)} if same_language else set()
    return named | titles | numbers(question)


def specific_phrases(question: str, same_language: bool = True) -> set[tuple[str, ...]]:
    """The question's specifics as the things they name: a run of capitalised words is one name ("Kiai Haji
    Achmad Abdul Hamid"), a number or a quoted title one thing each. An article that writes a name another way
    ("K.H. Achmad") still has one of its words; a thing none of whose words it has is not in it. In another
    language than the article's, only names that are not words (acronyms, coined names) and numbers count."""
    phrases: set[tuple[str, ...]] = set()
    run: list[str] = []
    named = set(names(question))
    if not same_language:
        # Across languages a name made of words is translated ("United States" is "Amerika Serikat", "Battle"
        # "Pertempuran"); a coined one or an acronym is not ("OpenAI", "CEO", "FTC"). Only those can be looked for.
        named = {w for w in named if sum(c.isupper() for c in w) >= 2}
    for word in [*re.findall(r"[\w'’-]+", question), ""]:
        token = tokenize(word)[:1] if word in named else []
        if token and token[0] not in STOPWORDS and token[0] not in QUESTION_WORDS and not token[0][:1].isdigit():
            run.append(token[0])
            continue
        if run:
            phrases.add(tuple(run))
            run = []
    phrases |= {(n,) for n in numbers(question)}
    if same_language:
        phrases |= {tuple(content_tokens(q)) for q in _QUOTED.findall(question) if content_tokens(q)}
    return phrases


@dataclass(frozen=True)
class Query:
    """One question as every check reads it, computed once per ask."""

    text: str  # as asked, white space folded
    language: str
    same_language: bool  # asked in the article's language
    stems: frozenset[str]  # of the question's words: what an answer that only repeats it is made of
    # Names, numbers and quoted titles of the question and of the earlier question it follows up.
    specifics: frozenset[str]
    # The same, grouped into the things they name (`specific_phrases`).
    phrases: frozenset[tuple[str, ...]] = frozenset()
    earlier_question: str = ""
    earlier_answer: str = ""

    @classmethod
    def read(
        cls, text: str, language: str, article_language: str, earlier_question: str = "", earlier_answer: str = ""
    ) -> Query:
        same_language = language == article_language
        # Each question read on its own: joined, the follow-up's opening word ("Lalu", "Through") would
        # stand inside the text and read as a name.
        asked = specifics(text, same_language) | (
            specifics(earlier_question, same_language) if earlier_question else set()
        )
        return cls(
            text=text,
            language=language,
            same_language=same_language,
            stems=frozenset(stems(text)),
            specifics=frozenset(asked),
            phrases=frozenset(
                specific_phrases(text, same_language)
                | (specific_phrases(earlier_question, same_language) if earlier_question else set())
            ),
            earlier_question=earlier_question,
            earlier_answer=earlier_answer,
        )
