"""A number or date copied as an answer keeps the words that give it its meaning.

The copying grammar lets the model stop anywhere, and the 1.5B model often copies the bare number:
"84" where its sentence says "84 penumpang", "20 jenis" where it says "lebih dari 20 jenis", "656"
where it says "26 November 656". A bare number can say something the sentence does not ("20" is not
"more than 20"), so code puts back the neighbours that belong to it:

- after it: a scale word ("3,717" → "3,717 miliar"), then a unit or classifier ("13 orang",
  "7 persen") or the noun the question names ("Berapa jumlah suku …?" → "253 suku");
- around it: the rest of its date ("656" → "26 November 656", "14 Juli" → "14 Juli 1789");
- before it: the "tahun" of a year, a currency sign ("Rp 3,717 miliar"), and a bound or estimate
  that changes what the number claims ("lebih dari 20 jenis", "sekitar 50.000 ekor", "sejak tahun 1990").

Only words that touch the run with no punctuation between are taken, so an answer is still one run
of its sentence's words, and an answer that holds no number or month is left as it is.
"""

from __future__ import annotations

import re

from base.words import ENGLISH_FUNCTION_WORDS, INDONESIAN_FUNCTION_WORDS, content_tokens, stems

_CURRENCY = re.compile(r"^(?:rp\.?|us\$|s\$|a\$|\$|€|£|¥|usd|idr|eur|rm)$", re.IGNORECASE)
_NUMBER = re.compile(r"^(?:rp\.?|us\$|\$|€|£|¥)?\d+(?:[.,]\d+)*%?$", re.IGNORECASE)
_SCALE = frozenset(
    "ribu juta miliar milyar triliun ratus puluh belas thousand million billion trillion hundred".split()
)
_NUMBER_WORDS = frozenset(
    "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas seratus seribu "
    "one two three four five six seven eight nine ten eleven twelve dozen".split()
)
# Units and classifiers: the word after a number that says what it counts or measures.
_UNITS = frozenset(
    "orang jiwa ekor buah unit biji lembar butir kali persen % tahun bulan minggu pekan hari jam menit detik "
    "abad dekade km kilometer m meter cm mm kg kilogram gram ton ha hektare hektar liter mil derajat "
    "kursi suara rumah keluarga kk desa pulau negara provinsi kabupaten kota rupiah dolar euro yen yuan ringgit "
    "people persons percent years months weeks days hours minutes seconds centuries decades "
    "miles kilometres kilometers metres meters feet tons tonnes acres hectares degrees votes seats times "
    "dollars pounds".split()
)
_MONTHS = frozenset(
    "januari februari maret april mei juni juli agustus september oktober november desember "
    "january february march june july august october december".split()
)
_YEAR_WORDS = frozenset({"tahun", "year"})
# Words before a number that change what it claims: a bound, an estimate or a starting point.
_QUALIFIERS = tuple(
    tuple(q.split())
    for q in (
        "tak kurang dari",
        "tidak kurang dari",
        "lebih dari",
        "kurang dari",
        "paling sedikit",
        "paling banyak",
        "more than",
        "less than",
        "fewer than",
        "at least",
        "at most",
        "up to",
        "as many as",
        "sekitar",
        "kira-kira",
        "hampir",
        "sedikitnya",
        "setidaknya",
        "sekurang-kurangnya",
        "hanya",
        "sejak",
        "hingga",
        "sampai",
        "sebelum",
        "setelah",
        "about",
        "around",
        "approximately",
        "roughly",
        "nearly",
        "almost",
        "over",
        "only",
        "since",
        "until",
        "before",
        "after",
    )
)
_EDGES = ",;:.!?()\"'“”‘’"
_EDGE_TUPLE = tuple(_EDGES)


def complete_amount(answer: str, sentence: str, question: str) -> str:
    """`answer` with the words of `sentence` that belong to its number or date (see the module's doc)."""
    words = sentence.split()
    bare = [w.strip(_EDGES).lower() for w in words]
    run = [w.strip(_EDGES).lower() for w in answer.split()]
    start = _find(bare, run)
    if start is None or not any(_is_amount(w) or w in _MONTHS for w in run):
        return answer
    end = start + len(run)

    def joined(i: int) -> bool:
        """No punctuation between words i and i + 1."""
        inside = 0 <= i < len(words) - 1
        return inside and not words[i].endswith(_EDGE_TUPLE) and not words[i + 1].startswith(_EDGE_TUPLE)

    first, last = start, end
    # The rest of a date: a day before its month, a month before its year, and the other way round.
    while first > 0 and joined(first - 1) and _date_pair(bare[first - 1], bare[first]):
        first -= 1
    while last < len(words) and joined(last - 1) and _date_pair(bare[last - 1], bare[last]):
        last += 1
    if _is_amount(bare[last - 1]):
        while last < len(words) and joined(last - 1) and bare[last] in _SCALE:
            last += 1
        asked = stems(content_tokens(question))
        if last < len(words) and joined(last - 1):
            following = bare[last]
            if following in _UNITS or (_is_noun_like(following) and stems(following) & asked):
                last += 1
    if _is_amount(bare[first]) or bare[first] in _MONTHS:
        if first > 0 and joined(first - 1) and bare[first - 1] in _YEAR_WORDS:
            first -= 1
        if first > 0 and joined(first - 1) and _CURRENCY.match(words[first - 1]):
            first -= 1
        for qualifier in _QUALIFIERS:
            before = first - len(qualifier)
            if before >= 0 and tuple(bare[before:first]) == qualifier and all(joined(i) for i in range(before, first)):
                first = before
                break
    head = " ".join(words[first:start]).lstrip(_EDGES)
    tail = " ".join(words[end:last]).rstrip(_EDGES)
    return " ".join(part for part in (head, answer, tail) if part)


def _is_amount(word: str) -> bool:
    return bool(_NUMBER.match(word)) or word in _SCALE or word in _NUMBER_WORDS


def _is_noun_like(word: str) -> bool:
    """A word that can name what a number counts: not a function word, a bound ("sejak") or "per"."""
    return (
        word.isalpha()
        and len(word) > 3
        and word not in INDONESIAN_FUNCTION_WORDS
        and word not in ENGLISH_FUNCTION_WORDS
        and (word,) not in _QUALIFIERS
    )


def _date_pair(left: str, right: str) -> bool:
    """Two neighbouring words of one date: "26 November", "November 656"."""
    day = left.isdigit() and len(left) <= 2 and right in _MONTHS
    year = left in _MONTHS and right.isdigit() and len(right) <= 4
    return day or year


def _find(words: list[str], run: list[str]) -> int | None:
    if not run:
        return None
    for start in range(len(words) - len(run) + 1):
        if words[start : start + len(run)] == run:
            return start
    return None
