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


def summary_grammar(bullet_ids: list[str], max_words: int = BULLET_WORDS) -> str:
    """A JSON list with exactly one {"id", "text"} object per chosen sentence, in order."""
    bullets = ' "," ws '.join(f"b{n}" for n in range(len(bullet_ids)))
    rules = [f'root ::= "[" {bullets} "]"']
    for n, sentence_id in enumerate(bullet_ids):
        rules.append(f'b{n} ::= "{{\\"id\\": " {_literal(sentence_id)} ", \\"text\\": \\"" text "\\"}}"')
    return "\n".join(rules) + "\n" + _text_rules(max_words)


def text_grammar(key: str, max_words: int = ANSWER_WORDS) -> str:
    """{"<key>": "..."}: one free line of text, as JSON."""
    return f'root ::= "{{" {_literal(key)} ": \\"" text "\\"}}"\n' + _text_rules(max_words)
