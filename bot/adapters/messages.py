"""User-facing texts for refusals and domain errors, in Indonesian and English."""

from __future__ import annotations

from base.errors import (
    ArticleError,
    ChecksumMismatch,
    FetchFailed,
    FetchRefused,
    IndexStale,
    KutipError,
    ModelError,
    ModelUnavailable,
    QuestionError,
    UnknownSentence,
)

LANGUAGES = ("id", "en")

_PREFIX = {
    QuestionError: {"id": "Pertanyaan tidak dapat diproses", "en": "Cannot take that question"},
    UnknownSentence: {"id": "Kalimat tidak ditemukan", "en": "Unknown sentence"},
    FetchRefused: {"id": "Alamat artikel ditolak", "en": "Article URL refused"},
    FetchFailed: {"id": "Artikel tidak dapat diambil", "en": "Cannot fetch the article"},
    ArticleError: {"id": "Artikel tidak dapat dibaca", "en": "Cannot read the article"},
    ChecksumMismatch: {"id": "Berkas model rusak", "en": "The model file failed its checksum"},
    ModelUnavailable: {
        "id": "Server model sedang tidak tersedia, coba lagi sebentar lagi",
        "en": "The model server is not available right now, try again shortly",
    },
    ModelError: {"id": "Model tidak dapat dimuat", "en": "Cannot load the model"},
    IndexStale: {"id": "Indeks tidak dapat dipakai", "en": "The index cannot be used"},
}


def message_for(error: KutipError, language: str = "en") -> str:
    """A one-line explanation of a domain error for the person who hit it."""
    lang = language if language in LANGUAGES else "en"
    for kind in type(error).__mro__:
        if kind in _PREFIX:
            return f"{_PREFIX[kind][lang]}: {error}"
    return str(error)
