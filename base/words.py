"""Words: the one tokenizer, stemmer and word lists that retrieval, grounding and language detection share.

Bump TOKENIZER_VERSION whenever `tokenize` or STOPWORDS change what they return: saved indexes keep
tokens, and the index manifest records this version so an old index is rebuilt, not misread.
"""

from __future__ import annotations

import re

TOKENIZER_VERSION = 1

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
# Indonesian clitics and particles glue onto words ("kemitraannya", "apakah"); stripping them lets
# question words meet article words. English possessives likewise.
_SUFFIXES = ("nya", "lah", "kah", "'s")

# Words that carry no topic: left out of BM25 queries and of every "is this word in the evidence" check.
# Each word once (tests/test_words.py), so the list reads as the set it is.
STOPWORD_LIST = tuple(
    # Indonesian
    "yang dan di ke dari ini itu dengan untuk pada adalah tidak akan juga atau oleh dalam sebagai karena "
    "apa siapa kapan mengapa kenapa bagaimana berapa mana apakah siapakah tersebut telah sudah ada "
    "mereka kami kita saya anda sebuah seorang para antara tentang saat ketika secara bahwa jika maka "
    "lebih sangat se nama ya bukan tahun namun selain hal "
    # English
    "the and of to in is are was were be been for on with as by at from that this it its an a "
    "what who when why how which where whom whose does do did has have had will would can could "
    "should not or but about their they he she his her there than into after before name during since until "
    "because yes no also so then some any all more most other such only own same too very just over under".split()
)
STOPWORDS = frozenset(STOPWORD_LIST)

# Words that tell the two languages apart (language detection counts them).
INDONESIAN_FUNCTION_WORDS = frozenset(
    [
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "ini",
        "itu",
        "dengan",
        "untuk",
        "pada",
        "adalah",
        "tidak",
        "akan",
        "juga",
        "atau",
        "oleh",
        "dalam",
        "sebagai",
        "karena",
        "apa",
        "siapa",
        "kapan",
        "mengapa",
        "kenapa",
        "bagaimana",
        "berapa",
        "dimana",
        "di",
        "mana",
        "manakah",
        "apakah",
        "siapakah",
        "kapankah",
        "berapakah",
        "bagaimanakah",
        "tersebut",
        "telah",
        "sudah",
        "belum",
        "bisa",
        "dapat",
        "ada",
        "mereka",
        "kami",
        "kita",
        "saya",
        "anda",
        "kah",
        "sebuah",
        "seorang",
        "para",
        "antara",
        "menurut",
        "tentang",
        "saat",
        "ketika",
        "secara",
        "bahwa",
        "jika",
        "maka",
        "lebih",
        "sangat",
    ]
)
ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "in",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "for",
        "on",
        "with",
        "as",
        "by",
        "at",
        "from",
        "that",
        "this",
        "it",
        "its",
        "an",
        "a",
        "what",
        "who",
        "when",
        "why",
        "how",
        "which",
        "where",
        "whom",
        "whose",
        "does",
        "do",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "not",
        "or",
        "but",
        "about",
        "their",
        "they",
        "he",
        "she",
        "his",
        "her",
        "there",
        "than",
        "into",
        "after",
        "before",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers, with Indonesian clitics stripped ("kemitraannya" -> "kemitraan")."""
    tokens = []
    for raw in _TOKEN.findall(text.lower()):
        for suffix in _SUFFIXES:
            if len(raw) > len(suffix) + 3 and raw.endswith(suffix):
                raw = raw[: -len(suffix)]
                break
        tokens.append(raw)
    return tokens


def content_tokens(text: str) -> list[str]:
    return [t for t in tokenize(text) if t not in STOPWORDS]


# Indonesian derivational affixes, longest first. Used only to judge whether a word occurs in some
# evidence ("mulai" in "memulai"), never to rank: BM25 stays on the surface forms.
_AFFIX_SUFFIXES = ("kan", "an", "i")
_AFFIX_PREFIXES = (
    "meng",
    "meny",
    "mem",
    "men",
    "me",
    "peng",
    "peny",
    "pem",
    "pen",
    "pe",
    "ber",
    "be",
    "ter",
    "di",
    "ke",
)
_MIN_STEM = 4


def stem(token: str) -> str:
    """A crude Indonesian stem: one derivational suffix, then one prefix, each only if 4+ letters remain."""
    for suffix in _AFFIX_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= _MIN_STEM:
            token = token[: -len(suffix)]
            break
    for prefix in _AFFIX_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= _MIN_STEM:
            return token[len(prefix) :]
    return token


def stems(text_or_tokens: str | list[str] | set[str]) -> set[str]:
    """The stems of a text's tokens (or of given tokens): what "this word is found there" compares against."""
    tokens = tokenize(text_or_tokens) if isinstance(text_or_tokens, str) else text_or_tokens
    return {stem(t) for t in tokens}


def found_in(token: str, vocabulary_stems: set[str]) -> bool:
    """The one notion of "a word is found": its stem is among the evidence's stems."""
    return stem(token) in vocabulary_stems


# Words a phrase cannot end on, nor a clause copied out of its sentence begin with: prepositions, conjunctions,
# articles, auxiliaries. A bullet ending "... berada di" or "..., sehingga" was cut mid-phrase. Words that can
# close a sentence ("tidak", "juga", "itu") are not here.
DANGLING_WORDS = frozenset(
    # Indonesian
    "yang dan atau di ke dari untuk dengan pada dalam oleh sehingga karena bahwa serta tetapi namun akan para "
    "sebuah seorang sang si agar supaya jika kalau bila apabila ketika saat sejak hingga sampai antara atas bagi "
    "tentang terhadap melalui seperti sebagai adalah ialah merupakan yaitu yakni telah sedang harus dapat mampu "
    "paling menjadi maupun ataupun sedangkan padahal meskipun walaupun tanpa "
    # English
    "the a an of to and or but in on at by for with from that which who whom whose as than into about its their "
    "his her is are was were be been has have had will would can could should because while if when".split()
)
