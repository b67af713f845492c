"""GreedyGrammar decodes exactly what llama-cpp-python's `grammar=` decodes, without masking every step."""

import pytest

from bot.core.grammar import span_answer_grammar
from bot.core.ports import Prompt
from bot.llm.greedy_grammar import GreedyGrammar


def test_a_grammar_llama_cpp_cannot_parse_is_refused_at_once():
    with pytest.raises(ValueError, match="grammar"):
        GreedyGrammar(None, 'root ::= ("unclosed"', n_vocab=8)


def _both_ways(generator, prompt: Prompt, gbnf: str, max_tokens: int = 48) -> tuple[str, str, GreedyGrammar]:
    import llama_cpp
    from llama_cpp import LlamaGrammar, LogitsProcessorList

    llm = generator.llama
    tokens = generator.prompt_tokens(prompt)
    masked = llm.create_completion(
        tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0, grammar=LlamaGrammar.from_string(gbnf)
    )
    constraint = GreedyGrammar(llama_cpp.llama_model_get_vocab(llm.model), gbnf, llm.n_vocab())
    try:
        lazy = llm.create_completion(
            tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0,
            logits_processor=LogitsProcessorList([constraint]),
        )  # fmt: skip
    finally:
        constraint.close()
    return masked["choices"][0]["text"], lazy["choices"][0]["text"], constraint


@pytest.mark.e2e
def test_a_copied_answer_is_the_same_as_under_the_full_grammar(real_generator):
    sentences = [
        "Kerja sama Microsoft dan OpenAI dimulai pada tahun 2019.",
        "Saat itu Microsoft menanamkan modal sebesar 1 miliar dolar.",
    ]
    system = "Artikel:\n" + "\n".join(f"[1.{n}] {text}" for n, text in enumerate(sentences, 1))
    prompt = Prompt(system=system, user='Kapan kerja sama dimulai? Jawab dengan JSON {"answer": "..."}.')
    masked, lazy, _ = _both_ways(real_generator, prompt, span_answer_grammar(sentences))
    assert lazy == masked
    assert lazy.startswith('{"answer": "')


@pytest.mark.e2e
def test_when_the_model_wants_a_token_the_grammar_forbids_the_vocabulary_is_masked(real_generator):
    # The model wants to write a word; the grammar allows only digits, so steps must fall back to masking.
    gbnf = 'root ::= "\\"" [0-9] [0-9] [0-9] "\\""'
    prompt = Prompt(system="You are a helpful assistant.", user="What is the capital of France? One word.")
    masked, lazy, constraint = _both_ways(real_generator, prompt, gbnf, max_tokens=12)
    assert lazy == masked
    assert constraint.masked_steps >= 1
    assert lazy[1:4].isdigit()
