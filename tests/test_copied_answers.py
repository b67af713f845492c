"""Answers copied from the cited sentence: the grammar that allows only its runs of words, and reading them."""

import json
import re

import pytest

from bot.core.answer import parse_copied, tidy_span
from bot.core.grammar import (
    answer_grammar,
    numbered_grammar,
    span_answer_grammar,
    span_rules,
    text_grammar,
)
from index.article import Sentence

SENTENCE = 'Menurut WSJ, OpenAI ingin "keluar" pada tahun 2019, kata Édouard.'


def parses(grammar: str) -> bool:
    """llama.cpp's own GBNF parser (the sampler a real model would get), with no model loaded."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(None, grammar.encode(), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def test_every_grammar_kutip_sends_is_valid_gbnf():
    assert parses(span_answer_grammar([SENTENCE, "Tahun 2019 OpenAI"]))
    assert span_answer_grammar(["a b"]).startswith('root ::= "{\\"answer\\": \\"" body')
    assert parses(answer_grammar(["1.1", "2.3"])) and parses(text_grammar("translation"))
    assert parses(numbered_grammar(2)) and parses(numbered_grammar(1, max_words=48))
    assert not parses('root ::= s_0\ns_0 ::= "a"'), "the check must catch what llama.cpp rejects"


# One alternative of a span rule: [an optional either-case first letter] a literal, class or rule name,
# then optionally (" " next-rule)?.
_ALTERNATIVE = re.compile(r'(\[[^\]]+\] )?("(?:[^"\\]|\\.)*"|\[[^\]]+\]|[\w-]+)(?: \(" " ([\w-]+)\)\?)?')


def _language(name: str, rules: list[str]) -> set[str]:
    """Every string the span rules match, by expanding them (they are small and acyclic)."""
    table = dict(r.split(" ::= ", 1) for r in rules)

    def literal(token: str) -> set[str]:
        if token.startswith("["):
            return set(token[1:-1])
        return {json.loads(token)}

    def expand(rule: str) -> set[str]:
        out: set[str] = set()
        for alternative in table[rule].split(" | "):
            match = _ALTERNATIVE.fullmatch(alternative)
            assert match, alternative
            first, body, rest = match.groups()
            heads = literal(body) if body.startswith(('"', "[")) else expand(body)
            if first:
                heads = {c + h for c in literal(first.strip()) for h in heads}
            tails = {""} | ({" " + t for t in expand(rest)} if rest else set())
            out |= {h + t for h in heads for t in tails}
        return out

    return expand(name)


def test_a_span_is_any_run_of_whole_words_and_nothing_else():
    words = ["kata", "Édouard", "pada", "2019,"]
    runs = _language("s", span_rules("s", " ".join(words)))
    expected = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    # ... and each run may open with its first letter in either case, as a model opens an answer.
    expected |= {r[0].swapcase() + r[1:] for r in expected}
    assert runs == expected
    assert "kata Édouard 2019," not in runs and "pad" not in runs  # no skipped word, no cut word


def test_quotes_in_a_sentence_are_json_escaped_in_the_span():
    runs = _language("s", span_rules("s", SENTENCE))
    assert 'ingin \\"keluar\\" pada' in runs


def test_a_copied_reply_cites_the_best_ranked_sentence_holding_its_words():
    offered = [  # in ranking order
        Sentence(3, 1, "Pada tahun 2019, OpenAI berdiri.", 100, 132),
        Sentence(1, 1, SENTENCE, 0, len(SENTENCE)),
    ]
    reply = parse_copied('{"answer": "pada tahun 2019,"}', offered)
    assert (reply.ids, reply.answer) == (("3.1",), "pada tahun 2019")  # both hold it: the better-ranked
    quoted = parse_copied('{"answer": "ingin \\"keluar\\""}', offered)
    assert quoted.answer == 'ingin "keluar"' and quoted.ids == ("1.1",)
    assert parse_copied('{"answer": "NONE"}', offered) == parse_copied('{"answer": "NONE"}', offered)
    assert parse_copied('{"answer": "NONE"}', offered).ids == ()
    assert parse_copied("not json", offered).answer == ""


def test_a_copied_reply_cut_by_the_token_limit_keeps_whole_words_and_finds_its_sentence():
    offered = [
        Sentence(1, 1, "Tidak ada di sini.", 0, 18),
        Sentence(2, 1, SENTENCE, 19, 19 + len(SENTENCE)),
    ]
    reply = parse_copied('{"answer": "OpenAI ingin \\"keluar\\" pada tah', offered)
    assert reply.answer == 'OpenAI ingin "keluar" pada' and reply.ids == ("2.1",)


@pytest.mark.parametrize(
    ("span", "tidy"),
    [
        ("(Panthera tigris sumatrensis).", "Panthera tigris sumatrensis"),
        ("253 suku.", "253 suku"),
        ("pada 1977,", "pada 1977"),
        ("(IPO)", "IPO"),
        ("penawaran saham perdana (IPO),", "penawaran saham perdana (IPO)"),
        ('"Manusia Indonesia"', '"Manusia Indonesia"'),
        ("harimau (Panthera", "harimau (Panthera"),
    ],
)
def test_tidying_a_span_drops_only_the_edges_it_took_from_around_it(span, tidy):
    assert tidy_span(span) == tidy
