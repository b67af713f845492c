"""Answers as Telegram HTML: the answer first, each cited sentence in a blockquote, split under 4096.

Text is kept plain (unescaped) until the last step, and split only between
sentences, words or characters of that plain text. Escaping happens per
fragment, so a split can never land inside a tag or an `&amp;` entity.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.adapters.messages import bullet_text
from bot.adapters.telegram import texts
from bot.core.results import Answer, Bullet, Citation, Summary
from index.article import Article, Sentence

# Telegram refuses longer messages. It counts UTF-16 code units of the parsed
# text; measuring the HTML source instead is stricter, so always safe.
MESSAGE_LIMIT = 4096

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+|\n+")
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Span:
    """A run of plain text, optionally inside one inline tag (b, i, code)."""

    text: str
    tag: str = ""


@dataclass(frozen=True)
class Block:
    """A paragraph of spans, optionally a blockquote; or trusted, already-escaped `raw` HTML."""

    spans: tuple[Span, ...] = ()
    quote: str = ""  # "", "blockquote" or "blockquote expandable"
    raw: str = ""


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def plain(html_text: str) -> str:
    """The plain-text form of HTML we rendered ourselves (every literal `<` in it was escaped)."""
    return html.unescape(_TAG.sub("", html_text))


def position(citation: Citation | Sentence, language: str) -> str:
    """Where a quoted sentence sits, e.g. "¶3 · kalimat 2 [3.2]"."""
    return texts.plain("position", language, paragraph=citation.paragraph, sentence=citation.sentence, id=citation.id)


def _quote(citation: Citation, language: str, quote: str = "blockquote", label: str | None = None) -> Block:
    where = position(citation, language)
    if label:  # the chat has several articles: say which one this sentence is from
        where = f"{label} · {where}"
    return Block((Span(citation.text), Span("\n"), Span("— " + where, "i")), quote=quote)


def _paragraphs(text: str) -> list[Block]:
    return [Block((Span(part.strip()),)) for part in re.split(r"\n\s*\n", text) if part.strip()]


def answer_blocks(answer: Answer, label: str | None = None) -> list[Block]:
    """The answer or what Kutip says instead, then one blockquote per quoted sentence, naming its article by
    `label`, if given. The closest sentences follow a line that says they are not an answer; "not in the
    article" is its short text alone."""
    return _paragraphs(answer.text) + [_quote(c, answer.language, label=label) for c in answer.citations]


def summary_blocks(summary: Summary, label: str | None = None) -> list[Block]:
    """A bulleted summary, each bullet with its quote, naming its article by `label`.

    A bullet and its quote go as one block, so a long summary split over messages never parts them. A bullet
    that is its sentence word for word (a summary in the article's language often is) carries only where the
    sentence stands, not the same words again; any other bullet is followed by its sentence in a collapsed
    (expandable) blockquote. A bullet left in the article's words (untranslated) is marked so in the summary's
    language.
    """
    if not summary.bullets:
        return [Block(raw=texts.t("summary_empty", summary.language))]
    blocks = [Block(raw=texts.t("summary_title", summary.language))]
    for bullet in summary.bullets:
        blocks += _bullet_blocks(bullet, summary.language, label)
    return blocks


def _bullet_blocks(bullet: Bullet, language: str, label: str | None) -> list[Block]:
    whole = [c for c in bullet.citations if bullet.is_its_sentence(c)]
    quoted = [c for c in bullet.citations if c not in whole]
    wheres = [f"{label} · {position(c, language)}" if label else position(c, language) for c in whole]
    text = bullet_text(bullet, language)
    head = "• " + html.escape(text) + "".join(f"\n<i>— {html.escape(w)}</i>" for w in wheres)
    quotes = [_quote(c, language, "blockquote expandable", label) for c in quoted]
    together = "\n".join([head, *(_block_pieces(q, MESSAGE_LIMIT)[0] for q in quotes)])
    if units(together) <= MESSAGE_LIMIT and all(len(_block_pieces(q, MESSAGE_LIMIT)) == 1 for q in quotes):
        return [Block(raw=together)]
    return [Block(raw=head) if units(head) <= MESSAGE_LIMIT else Block((Span("• " + text),)), *quotes]


def source_blocks(article: Article, target: Sentence, paragraph: tuple[Sentence, ...], language: str) -> list[Block]:
    """The whole paragraph, verbatim from the article, with the asked sentence in bold."""
    first, last = paragraph[0], paragraph[-1]
    if article.text[target.start : target.end] == target.text:
        spans = (
            Span(article.text[first.start : target.start]),
            Span(target.text, "b"),
            Span(article.text[target.end : last.end]),
        )
    else:  # offsets disagree with the text: fall back to the stored sentences themselves
        spans = tuple(Span(s.text + " ", "b" if s.id == target.id else "") for s in paragraph)
    label = (Span("\n"), Span("— " + position(target, language), "i"))
    return [Block(spans + label, quote="blockquote")]


# --- splitting ---------------------------------------------------------------


def _span_html(text: str, tag: str) -> str:
    return f"<{tag}>{html.escape(text)}</{tag}>" if tag else html.escape(text)


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Fragments of `text` that end after each match of `pattern`; they concatenate back to `text`."""
    pieces, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _hard_cut(text: str, tag: str, room: int) -> list[str]:
    """Last resort for a single huge word: cut between characters so each escaped piece fits."""
    pieces, current = [], ""
    for char in text:
        if current and units(_span_html(current + char, tag)) > room:
            pieces.append(current)
            current = ""
        current += char
    return pieces + ([current] if current else [])


def _fragments(text: str, tag: str, room: int) -> list[str]:
    """Split `text` so each escaped fragment fits in `room`: by sentences, then words, then characters."""
    if units(_span_html(text, tag)) <= room:
        return [text]
    out: list[str] = []
    for sentence in _cut_after(text, _SENTENCE_END):
        if units(_span_html(sentence, tag)) <= room:
            out.append(sentence)
            continue
        for word in _cut_after(sentence, _SPACE):
            out += [word] if units(_span_html(word, tag)) <= room else _hard_cut(word, tag, room)
    return out


def _open_close(block: Block) -> tuple[str, str]:
    return (f"<{block.quote}>", f"</{block.quote.split()[0]}>") if block.quote else ("", "")


def _block_pieces(block: Block, limit: int) -> list[str]:
    """One block as one or more HTML strings, each within `limit`, each with balanced tags."""
    if block.raw:
        if units(block.raw) <= limit:
            return [block.raw]
        block = Block((Span(plain(block.raw)),))  # too long to keep whole: split it as plain text
    open_, close = _open_close(block)
    room = limit - units(open_) - units(close)
    atoms = [
        _span_html(fragment, span.tag)
        for span in block.spans
        if span.text
        for fragment in _fragments(span.text, span.tag, room)
    ]
    pieces, current = [], ""
    for atom in atoms:
        if current and units(current + atom) > room:
            pieces.append(current)
            current = ""
        current += atom
    if current or not pieces:
        pieces.append(current)
    return [open_ + piece.strip() + close for piece in pieces if piece.strip()]


def to_messages(blocks: list[Block], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack blocks into as few HTML messages as fit `limit`, breaking only between blocks or fragments."""
    messages, current = [], ""
    for block in blocks:
        for piece in _block_pieces(block, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
            if current and units(candidate) > limit:
                messages.append(current)
                current = piece
            else:
                current = candidate
    if current:
        messages.append(current)
    return messages
