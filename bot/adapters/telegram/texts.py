"""Every string Kutip says in Telegram, in Indonesian and English.

Templates are HTML. `t()` escapes every value it fills in, so a title or a
question can never inject markup; the templates themselves are trusted.
"""

from __future__ import annotations

import html

from base.errors import (
    ArticleError,
    ArticleTooLarge,
    FetchFailed,
    FetchRefused,
    FetchTooLarge,
    KutipError,
    NoArticleText,
)
from bot.adapters.messages import message_for

LANGUAGES = ("id", "en")

_TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "id": (
            "<b>Kutip</b> menjawab pertanyaan tentang satu artikel berita dan selalu mengutip "
            "kalimat sumbernya apa adanya.\n\n"
            "Artikel: <b>{title}</b>\n{url}\n\n"
            "Cara bertanya:\n"
            "• Di obrolan pribadi: tulis saja pertanyaannya.\n"
            "• Di grup: <code>/ask pertanyaan</code>, balas salah satu pesan saya, atau sebut @{bot}.\n"
            "• Balas jawaban saya untuk pertanyaan lanjutan.\n\n"
            "/summary ringkasan · /source 3.2 kalimat dalam paragrafnya · /article tentang artikel\n"
            "Artikel lain: kirim tautannya (<code>/read tautan</code> di grup) atau berkas .txt/.html; "
            "/articles daftar, /use 2 berganti."
        ),
        "en": (
            "<b>Kutip</b> answers questions about one news article and always quotes the "
            "source sentence word for word.\n\n"
            "Article: <b>{title}</b>\n{url}\n\n"
            "How to ask:\n"
            "• In a private chat: just type your question.\n"
            "• In a group: <code>/ask your question</code>, reply to one of my messages, or mention @{bot}.\n"
            "• Reply to one of my answers to ask a follow-up.\n\n"
            "/summary summary · /source 3.2 a sentence in its paragraph · /article about the article\n"
            "Another article: send its link (<code>/read link</code> in a group) or a .txt/.html file; "
            "/articles lists them, /use 2 switches."
        ),
    },
    "article": {
        "id": "<b>{title}</b>\nSumber: {url}\n{sentences} kalimat dalam {paragraphs} paragraf.",
        "en": "<b>{title}</b>\nSource: {url}\n{sentences} sentences in {paragraphs} paragraphs.",
    },
    "untitled": {"id": "(tanpa judul)", "en": "(untitled)"},
    "no_url": {"id": "(tanpa URL)", "en": "(no URL)"},
    "position": {"id": "¶{paragraph} · kalimat {sentence} [{id}]", "en": "¶{paragraph} · sentence {sentence} [{id}]"},
    "summary_title": {"id": "<b>Ringkasan</b>", "en": "<b>Summary</b>"},
    "summary_empty": {
        "id": "Belum ada ringkasan untuk artikel ini.",
        "en": "There is no summary for this article yet.",
    },
    "ask_usage": {
        "id": "Tulis pertanyaannya setelah perintah, misalnya: <code>/ask siapa yang menggugat?</code>",
        "en": "Put your question after the command, e.g. <code>/ask who is suing whom?</code>",
    },
    "source_usage": {
        "id": "Sebutkan nomor kalimat, misalnya: <code>/source 3.2</code> (paragraf 3, kalimat 2).",
        "en": "Give a sentence number, e.g. <code>/source 3.2</code> (paragraph 3, sentence 2).",
    },
    "unknown_sentence": {
        "id": "Tidak ada kalimat {id}. Nomor kalimat berbentuk paragraf.kalimat, misalnya 3.2.",
        "en": "There is no sentence {id}. Sentence numbers look like paragraph.sentence, e.g. 3.2.",
    },
    "busy": {
        "id": "Sedang banyak pertanyaan. Coba lagi sebentar lagi.",
        "en": "I'm busy with other questions. Try again in a moment.",
    },
    "rate_limited": {
        "id": "Terlalu banyak pertanyaan dalam satu menit. Tunggu sebentar, lalu coba lagi.",
        "en": "Too many questions in a minute. Wait a little, then try again.",
    },
    "non_text": {
        "id": "Saya hanya membaca teks. Tulis pertanyaan Anda tentang artikel ini.",
        "en": "I only read text. Type your question about the article.",
    },
    "unknown_command": {
        "id": "Perintah tidak dikenal. Lihat /help.",
        "en": "Unknown command. See /help.",
    },
    "not_allowed": {
        "id": "Maaf, Kutip ini hanya untuk pengguna tertentu.",
        "en": "Sorry, this Kutip is for selected users only.",
    },
    "admins_only": {"id": "Perintah ini hanya untuk admin.", "en": "This command is for admins only."},
    "stats": {
        "id": (
            "<b>Statistik</b>\nPertanyaan: {questions} (ditolak: {refusals}, galat: {errors})\n"
            "Ringkasan: {summaries}\nLatensi p50/p95: {p50} / {p95} dtk (model {model_p50} / {model_p95} dtk)\n"
            "Antrean: {depth} dari {capacity} · sibuk ditolak: {busy} · dibatasi: {rate_limited}\n"
            "Artikel dibaca: {reads} (gagal: {read_failures})\n"
            "Model: {model}"
        ),
        "en": (
            "<b>Stats</b>\nQuestions: {questions} (refused: {refusals}, errors: {errors})\n"
            "Summaries: {summaries}\nLatency p50/p95: {p50} / {p95} s (model {model_p50} / {model_p95} s)\n"
            "Queue: {depth} of {capacity} · turned away busy: {busy} · rate-limited: {rate_limited}\n"
            "Articles read: {reads} (failed: {read_failures})\n"
            "Model: {model}"
        ),
    },
    "reloading": {"id": "Memuat ulang artikel dan indeks…", "en": "Reloading the article and index…"},
    "reloaded": {
        "id": "Dimuat ulang: <b>{title}</b>, {sentences} kalimat.",
        "en": "Reloaded: <b>{title}</b>, {sentences} sentences.",
    },
    "internal_error": {
        "id": "Maaf, terjadi kesalahan. Coba lagi nanti.",
        "en": "Sorry, something went wrong. Please try again later.",
    },
    # --- articles from the chat (issue 10) ---
    "article_entry": {
        "id": "<b>{title}</b>\nSumber: {url}\n{sentences} kalimat · id <code>{short_id}</code>",
        "en": "<b>{title}</b>\nSource: {url}\n{sentences} sentences · id <code>{short_id}</code>",
    },
    "reading": {"id": "Membaca artikel… {stage}", "en": "Reading the article… {stage}"},
    "stage_fetching": {"id": "(mengambil)", "en": "(fetching)"},
    "stage_cleaning": {"id": "(membersihkan teks)", "en": "(cleaning)"},
    "stage_indexing": {"id": "(mengindeks kalimat)", "en": "(indexing)"},
    "stage_ready": {"id": "(siap)", "en": "(ready)"},
    "read_done": {
        "id": (
            "<b>{title}</b>\nSumber: {url}\n{sentences} kalimat. Pertanyaan di obrolan ini kini tentang "
            "artikel ini; ringkasannya menyusul."
        ),
        "en": (
            "<b>{title}</b>\nSource: {url}\n{sentences} sentences. Questions in this chat are now about "
            "this article; its summary follows."
        ),
    },
    "read_usage": {
        "id": "Sebutkan tautannya, misalnya <code>/read https://…</code>, atau balas pesan bertautan dengan /read.",
        "en": "Give the link, e.g. <code>/read https://…</code>, or reply /read to a message with a link.",
    },
    "read_running": {
        "id": "Saya masih membaca artikel sebelumnya untuk obrolan ini; tunggu sebentar.",
        "en": "I'm still reading the previous article for this chat; wait a moment.",
    },
    "fetch_refused": {
        "id": "Tautan itu ditolak: hanya alamat http(s) publik yang bisa dibaca.",
        "en": "That link is refused: only public http(s) addresses can be read.",
    },
    "fetch_too_large": {
        "id": "Halaman itu terlalu besar untuk dibaca: lebih dari batas {limit} bita.",
        "en": "That page is too large to read: over the {limit}-byte limit.",
    },
    "fetch_failed": {
        "id": "Tautan itu tidak dapat diambil: tidak terjangkau, terlalu lama, atau galat HTTP.",
        "en": "Could not fetch that link: unreachable, too slow, or an HTTP error.",
    },
    "not_an_article_file": {
        "id": "Berkas itu tidak dapat dibaca sebagai artikel: kirim teks (.txt) atau HTML (.html).",
        "en": "I can't read that file as an article: send text (.txt) or HTML (.html).",
    },
    "articles_title": {"id": "<b>Artikel di obrolan ini</b>", "en": "<b>Articles in this chat</b>"},
    "articles_line": {
        "id": "{number}. {title} · {sentences} kalimat · {source}",
        "en": "{number}. {title} · {sentences} sentences · {source}",
    },
    "articles_current": {"id": " ◀ sekarang", "en": " ◀ current"},
    "articles_footer": {
        "id": "Berganti dengan <code>/use 2</code>; tambah dengan mengirim tautan atau berkas.",
        "en": "Switch with <code>/use 2</code>; add one by sending a link or a file.",
    },
    "use_usage": {
        "id": "Sebutkan nomornya dari /articles, misalnya <code>/use 2</code>.",
        "en": "Give its number from /articles, e.g. <code>/use 2</code>.",
    },
    "unknown_article": {
        "id": "Tidak ada artikel {choice} di obrolan ini. Lihat /articles.",
        "en": "There is no article {choice} in this chat. See /articles.",
    },
    "article_gone": {
        "id": "Artikel yang ditanyakan sudah tidak ada di perpustakaan Kutip (yang paling lama tidak dipakai dihapus "
        "lebih dulu). Kirim lagi tautan atau berkasnya untuk membacanya ulang, lalu tanyakan lagi.",
        "en": "The article this was asked about is no longer in Kutip's library (the least recently used go first). "
        "Send its link or file again to read it anew, then ask again.",
    },
    "now_using": {
        "id": "Sekarang tentang: <b>{title}</b> ({sentences} kalimat).",
        "en": "Now about: <b>{title}</b> ({sentences} sentences).",
    },
    # --- faults and restarts (issue 12) ---
    "reload_running": {
        "id": "Artikel sedang dimuat ulang; tunggu sebentar.",
        "en": "The article is already being reloaded; wait a moment.",
    },
}

# Commands that need an article library; a bot without one leaves them out of its menu.
# Shown in Telegram's command menu; registered per language with setMyCommands.
COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "id": (
        ("ask", "Tanya tentang artikel"),
        ("summary", "Ringkasan artikel, dengan kutipan"),
        ("source", "Kalimat sumber dalam paragrafnya, mis. /source 3.2"),
        ("article", "Judul, sumber, jumlah kalimat"),
        ("read", "Baca artikel dari tautan, mis. /read https://…"),
        ("articles", "Artikel di obrolan ini"),
        ("use", "Berganti artikel, mis. /use 2"),
        ("help", "Cara memakai Kutip"),
    ),
    "en": (
        ("ask", "Ask about the article"),
        ("summary", "Summary of the article, with quotes"),
        ("source", "A source sentence in its paragraph, e.g. /source 3.2"),
        ("article", "Title, source, sentence count"),
        ("read", "Read an article from a link, e.g. /read https://…"),
        ("articles", "The articles in this chat"),
        ("use", "Switch articles, e.g. /use 2"),
        ("help", "How to use Kutip"),
    ),
}


# What a user typed is shown back at most this long: a 5,000-digit "id" must not come back as pages.
ECHO_CHARS = 20


def echo(value: str, limit: int = ECHO_CHARS) -> str:
    """`value` cut to `limit` characters with an ellipsis, for quoting user input back in a reply."""
    return value if len(value) <= limit else value[:limit] + "…"


def language_of(language_code: str | None) -> str:
    """Telegram's language_code "id", "id-ID"... means Indonesian; anything else gets English."""
    return "id" if (language_code or "").lower().startswith("id") else "en"


def t(key: str, language: str, **values: object) -> str:
    """The HTML text `key` in `language`, with every value HTML-escaped."""
    table = _TEXTS[key]
    template = table.get(language) or table["en"]
    return template.format(**{name: html.escape(str(value)) for name, value in values.items()})


def plain(key: str, language: str, **values: object) -> str:
    """The text `key` unescaped, for templates without markup that the renderer escapes itself."""
    table = _TEXTS[key]
    return (table.get(language) or table["en"]).format(**values)


def error_text(error: KutipError, language: str) -> str:
    """A user-facing HTML line for a domain error, in the core's own wording."""
    return html.escape(message_for(error, language))


def read_error_text(error: KutipError, language: str) -> str:
    """One HTML line for an article that could not be read from a chat, wholly in the asker's language.

    The fetch errors' own detail is English for the operator (and may name an address), so a chat gets a
    line of its own; errors carrying their facts (no article text, too large, the hourly limit) are worded
    from them by messages.py.
    """
    if isinstance(error, FetchTooLarge):
        return t("fetch_too_large", language, limit=error.limit)
    if isinstance(error, FetchRefused):
        return t("fetch_refused", language)
    if isinstance(error, FetchFailed):
        return t("fetch_failed", language)
    if isinstance(error, ArticleError) and not isinstance(error, NoArticleText | ArticleTooLarge):
        return t("not_an_article_file", language)  # undecodable, binary, an unsupported kind
    return error_text(error, language)
