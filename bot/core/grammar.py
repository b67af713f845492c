"""GBNF grammars that make the model's reply parseable and its ids come only from those offered."""

from __future__ import annotations

import json

# Whole words separated by single spaces, with no quote, backslash or control character, so the
# JSON always parses and a reply can only stop at the end of a word, never inside one. The word cap
# keeps answers short (they are phrases; the quote carries the detail) and bounds decode time.
ANSWER_WORDS = 20
BULLET_WORDS = 28


def _text_rules(max_words: int) -> str:
    return (
        f'text ::= word (" " word){{0,{max_words - 1}}}\n'
        'word ::= char{1,40}\nchar ::= [^" \\\\\\x00-\\x1f]\nws ::= " "?\n'
    )


def _literal(value: str) -> str:
    """A GBNF string literal that matches json.dumps(value) exactly."""
    return json.dumps(json.dumps(value))


def answer_grammar(candidate_ids: list[str], max_citations: int = 3, max_words: int = ANSWER_WORDS) -> str:
    """{"ids": [...], "answer": "..."}: ids before the answer, so the model looks before it speaks."""
    ids = " | ".join(_literal(i) for i in candidate_ids) or '"\\"\\""'
    more = max(0, max_citations - 1)
    return (
        'root ::= "{\\"ids\\": [" ids "], \\"answer\\": \\"" text "\\"}"\n'
        f'ids ::= "" | id ("," ws id){{0,{more}}}\n'
        f"id ::= {ids}\n" + _text_rules(max_words)
    )


def numbered_grammar(count: int, max_words: int = BULLET_WORDS) -> str:
    """Exactly `count` numbered lines, "1. ...", "2. ...": a list with the fewest tokens around its texts.
    Every token is a step of the model, forced or not; JSON's {"id": "3.1", "text": "..."} costs about 16
    steps a bullet, a number and a full stop about 2."""
    lines = ' "\\n" '.join(f'"{n}. " text' for n in range(1, count + 1))
    return f"root ::= {lines}\n" + _text_rules(max_words)


def gbnf_literal(text: str) -> str:
    """A GBNF string literal matching `text` exactly; non-ASCII stays raw UTF-8 (GBNF reads it as is)."""
    escaped = "".join("\\" + c if c in '"\\' else f"\\x{ord(c):02x}" if ord(c) < 0x20 else c for c in text)
    return f'"{escaped}"'


def _opening_literal(word: str) -> str:
    """A word as GBNF, its first letter in either case ("Pada" from "pada")."""
    first, rest = word[:1], word[1:]
    if first.lower() == first.upper():
        return gbnf_literal(word)
    either = f"[{first.lower()}{first.upper()}]"
    return f"{either} {gbnf_literal(rest)}" if rest else either


def span_rules(name: str, text: str) -> list[str]:
    """Rules under which `name` matches any run of consecutive whole words of `text`, JSON-escaped and
    joined by single spaces: a reply that can only copy, never invent or cut inside a word. The run's
    first letter may take either case, so an answer can start as a model starts it ("Pada tahun 2019").

    `name-i`: word i, then maybe the rest of the run; `name-i-start` the same, opening it. GBNF rule
    names take letters, digits and dashes only.
    """
    words = [json.dumps(w, ensure_ascii=False)[1:-1] for w in text.split()]
    if not words:
        return [f'{name} ::= ""']

    def chain(i: int) -> str:
        return f' (" " {name}-{i + 1})?' if i + 1 < len(words) else ""

    rules = [f"{name} ::= " + " | ".join(f"{name}-{i}-start" for i in range(len(words)))]
    for i, word in enumerate(words):
        if i:  # a run reaches word i from word i - 1; word 0 only ever opens one
            rules.append(f"{name}-{i} ::= {gbnf_literal(word)}{chain(i)}")
        rules.append(f"{name}-{i}-start ::= {_opening_literal(word)}{chain(i)}")
    return rules


def span_answer_grammar(sentences: list[str]) -> str:
    """{"answer": "<a run of words copied from one of `sentences`>"}, or {"answer": "NONE"}.

    The answer can only be a run of one sentence's own words: nothing in it is made up or cut inside a
    word, and the sentence it was copied from is the one to quote (found in code, bot/core/answer.py).
    No id is asked for: the 1.5B model, asked for the id first, often commits to a neighbouring
    sentence; asked after, it only spends tokens naming what the words already say.
    """
    rules = ['root ::= "{\\"answer\\": \\"" body "\\"}"']
    rules.append('body ::= "NONE"' + "".join(f" | s{n}" for n in range(len(sentences))))
    for n, text in enumerate(sentences):
        rules += span_rules(f"s{n}", text)
    return "\n".join(rules) + "\n"


def text_grammar(key: str, max_words: int = ANSWER_WORDS) -> str:
    """{"<key>": "..."}: one free line of text, as JSON."""
    return f'root ::= "{{" {_literal(key)} ": \\"" text "\\"}}"\n' + _text_rules(max_words)
