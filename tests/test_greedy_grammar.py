"""GreedyGrammar decodes exactly what llama-cpp-python's `grammar=` decodes, without masking every step."""

import numpy as np
import pytest

from bot.core.grammar import span_answer_grammar
from bot.core.ports import Prompt
from bot.llm.greedy_grammar import GreedyGrammar, best_allowed


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


SENTENCES = (
    "Kerja sama Microsoft dan OpenAI dimulai pada tahun 2019.",
    "Saat itu Microsoft menanamkan modal sebesar 1 miliar dolar.",
)
ARTICLE = "Artikel:\n" + "\n".join(f"[1.{n}] {text}" for n, text in enumerate(SENTENCES, 1))


@pytest.mark.e2e
def test_a_copied_answer_is_the_same_as_under_the_full_grammar(real_generator):
    sentences = list(SENTENCES)
    system = ARTICLE
    prompt = Prompt(system=system, user='Kapan kerja sama dimulai? Jawab dengan JSON {"answer": "..."}.')
    masked, lazy, _ = _both_ways(real_generator, prompt, span_answer_grammar(sentences))
    assert lazy == masked
    assert lazy.startswith('{"answer": "')


@pytest.mark.e2e
def test_a_reply_stopped_at_its_closing_brace_is_the_whole_reply(real_generator):
    """complete() stops decoding at the token that closes the JSON (ReplyEnd): its text is what decoding on to
    the end of the turn under llama-cpp-python's own `grammar=` gives, and every token, the last too, is scored."""
    sentences = list(SENTENCES)
    system = ARTICLE
    prompt = Prompt(system=system, user='Berapa modal yang ditanam? Jawab dengan JSON {"answer": "..."}.')
    masked, _, _ = _both_ways(real_generator, prompt, span_answer_grammar(sentences))
    completion = real_generator.complete(prompt, span_answer_grammar(sentences), 48)
    assert completion.text == masked and masked.endswith('"}')
    assert "".join(piece for piece, _ in completion.tokens) == masked
    assert all(logprob <= 0 for _, logprob in completion.tokens)
    assert real_generator.recent_calls[-1].generated_tokens == len(completion.tokens)


@pytest.mark.e2e
def test_when_the_model_wants_a_token_the_grammar_forbids_the_vocabulary_is_masked(real_generator):
    # The model wants to write a word; the grammar allows only digits, so steps must fall back to masking.
    gbnf = 'root ::= "\\"" [0-9] [0-9] [0-9] "\\""'
    prompt = Prompt(system="You are a helpful assistant.", user="What is the capital of France? One word.")
    masked, lazy, constraint = _both_ways(real_generator, prompt, gbnf, max_tokens=12)
    assert lazy == masked
    assert constraint.masked_steps >= 1
    assert lazy[1:4].isdigit()


# --- the shortlist: the best allowed token without masking the whole vocabulary ---


def _masked_choice(logits: np.ndarray, allowed) -> int | None:
    """What masking every token and then taking the greedy (first highest) one gives."""
    ok = allowed(np.arange(len(logits), dtype=np.intc))
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, logits, -np.inf)))


@pytest.mark.parametrize("seed", range(20))
def test_the_shortlist_picks_what_masking_the_whole_vocabulary_picks(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=5000).astype(np.float32)
    # Allowed: a random sparse subset, so the best allowed token is sometimes far down the ranking.
    subset = rng.random(5000) < rng.choice([0.5, 0.05, 0.002])

    def allowed(ids):
        return subset[ids]

    chosen = best_allowed(logits, allowed, shortlist=64)
    expected = _masked_choice(logits, allowed)
    if chosen is None:
        # Nothing allowed among the 64 most probable: the caller masks the vocabulary.
        assert not subset[np.argsort(-logits)[:64]].any()
    else:
        assert chosen == expected


def test_ties_at_the_top_go_to_the_lowest_id_as_under_the_full_mask():
    logits = np.zeros(1000, dtype=np.float32)
    logits[[900, 30, 500]] = 5.0  # three equal best tokens; 30 is refused
    refused = {30}

    def allowed(ids):
        return np.array([int(i) not in refused for i in ids])

    assert best_allowed(logits, allowed, shortlist=2) == 500 == _masked_choice(logits, allowed)


def test_a_tie_at_the_shortlists_edge_is_asked_too():
    logits = np.zeros(1000, dtype=np.float32)
    logits[10] = 9.0  # refused
    logits[[700, 20]] = 4.0  # tied for second place: a shortlist of 2 must ask both and pick 20

    def allowed(ids):
        return ids != 10

    assert best_allowed(logits, allowed, shortlist=2) == 20 == _masked_choice(logits, allowed)


def test_no_allowed_token_in_the_shortlist_leaves_the_vocabulary_to_the_caller():
    logits = np.arange(1000, dtype=np.float32)

    def allowed(ids):
        return ids < 5  # only the least probable tokens

    assert best_allowed(logits, allowed, shortlist=64) is None
    assert best_allowed(logits, allowed, shortlist=0) is None  # shortlist off
