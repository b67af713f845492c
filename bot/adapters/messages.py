"""User-facing texts for refusals and domain errors, in Indonesian and English, and the words every adapter
shares (the untranslated bullet's mark).

Errors a user can cause (a question, an article they sent) are worded whole, per kind and language,
from the facts the error carries. Other errors keep a localised prefix before their English detail,
which is meant for the operator.
"""

from __future__ import annotations

from base.errors import (
    ArticleError,
    ArticleTooLarge,
    ChecksumMismatch,
    FetchFailed,
    FetchRefused,
    GenerationCancelled,
    IndexStale,
    KutipError,
    ModelError,
    ModelUnavailable,
    NoArticleText,
    QuestionEmpty,
    QuestionError,
    QuestionTooLong,
    ReadLimit,
    StorageError,
    StorageFull,
    StorageLocked,
    UnknownArticle,
    UnknownSentence,
)
from bot.core.results import Bullet

LANGUAGES = ("id", "en")

# Whole messages, filled from the error's attributes.
_WHOLE = {
    QuestionEmpty: {"id": "Pertanyaannya kosong.", "en": "The question is empty."},
    QuestionTooLong: {
        "id": "Pertanyaan terlalu panjang: {length} karakter, batasnya {limit}.",
        "en": "The question is too long: {length} characters; the limit is {limit}.",
    },
    NoArticleText: {
        "id": "Tidak ada teks artikel di {origin}: hanya {sentences} kalimat dan {words} kata, mungkin hanya "
        "menu halaman atau halaman berbayar. Sebuah artikel perlu minimal {min_sentences} kalimat dan "
        "{min_words} kata.",
        "en": "No article text in {origin}: only {sentences} sentences and {words} words, perhaps just page "
        "navigation or a paywall. An article needs at least {min_sentences} sentences and {min_words} words.",
    },
    ArticleTooLarge: {
        "id": "Artikel terlalu besar: {origin} berisi {size} {unit_id}, batasnya {limit}.",
        "en": "The article is too large: {origin} has {size} {unit}; the limit is {limit}.",
    },
    StorageLocked: {
        "id": "Kutip tidak bisa menyimpannya: basis datanya sedang dipakai proses lain. Silakan coba lagi sebentar "
        "lagi.",
        "en": "Kutip could not save this: its database is busy in another process. Please try again in a moment.",
    },
    StorageFull: {
        "id": "Kutip tidak bisa menyimpannya: disk servernya penuh. Silakan coba lagi nanti.",
        "en": "Kutip could not save this: its server's disk is full. Please try again later.",
    },
    ReadLimit: {
        "id": "Sudah {limit} artikel dibaca dalam satu jam terakhir di obrolan ini; coba lagi nanti.",
        "en": "This chat has had {limit} articles read in the last hour; try again later.",
    },
}

_UNITS_ID = {"bytes": "bita", "sentences": "kalimat", "HTML elements": "elemen HTML"}

_PREFIX = {
    QuestionError: {"id": "Pertanyaan tidak dapat diproses", "en": "Cannot take that question"},
    UnknownSentence: {"id": "Kalimat tidak ditemukan", "en": "Unknown sentence"},
    UnknownArticle: {"id": "Artikel tidak ditemukan", "en": "Unknown article"},
    FetchRefused: {"id": "Alamat artikel ditolak", "en": "Article URL refused"},
    FetchFailed: {"id": "Artikel tidak dapat diambil", "en": "Cannot fetch the article"},
    ArticleError: {"id": "Artikel tidak dapat dibaca", "en": "Cannot read the article"},
    ChecksumMismatch: {"id": "Berkas model rusak", "en": "The model file failed its checksum"},
    ModelUnavailable: {
        "id": "Server model sedang tidak tersedia, coba lagi sebentar lagi",
        "en": "The model server is not available right now, try again shortly",
    },
    GenerationCancelled: {
        "id": "Kutip sedang dimulai ulang, kirim lagi sebentar lagi",
        "en": "Kutip is restarting, send it again in a moment",
    },
    ModelError: {"id": "Model tidak dapat dimuat", "en": "Cannot load the model"},
    StorageError: {
        "id": "Kutip tidak bisa menyimpan datanya, coba lagi nanti",
        "en": "Kutip could not save its data, try again later",
    },
    IndexStale: {"id": "Indeks tidak dapat dipakai", "en": "The index cannot be used"},
}

# The mark before a summary bullet the core left in the article's words (Bullet.untranslated), by the
# summary's language: the reader sees why a bullet is not in the language they asked for.
UNTRANSLATED = {"id": "(tidak diterjemahkan)", "en": "(untranslated)"}


def bullet_text(bullet: Bullet, language: str) -> str:
    """A summary bullet's text as every adapter shows it: marked in `language` when the core left it in the
    article's words."""
    if not bullet.untranslated:
        return bullet.text
    return f"{UNTRANSLATED.get(language, UNTRANSLATED['en'])} {bullet.text}"


def message_for(error: KutipError, language: str = "en") -> str:
    """A one-line explanation of a domain error for the person who hit it."""
    lang = language if language in LANGUAGES else "en"
    whole = _WHOLE.get(type(error))
    if whole is not None:
        facts = dict(vars(error))
        if "unit" in facts:
            facts["unit_id"] = _UNITS_ID.get(facts["unit"], facts["unit"])
        if not facts.get("origin"):
            facts["origin"] = {"id": "masukan", "en": "the input"}[lang]
        return whole[lang].format(**facts)
    for kind in type(error).__mro__:
        if kind in _PREFIX:
            return f"{_PREFIX[kind][lang]}: {error}"
    return str(error)
