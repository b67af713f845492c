import pytest

from index.build import build_index
from index.lexical import BM25, content_tokens, stem, tokenize
from index.retrieve import Retriever
from tests.fakes import FakeEmbedder


def test_tokenizer_strips_indonesian_particles_and_keeps_numbers():
    assert tokenize("Kapankah kemitraannya dimulai pada 2019? $1,5 miliar") == ["kapan", "kemitraan", "dimulai", "pada", "2019", "1,5", "miliar"]
    assert "yang" not in content_tokens("perusahaan yang menguntungkan")


def test_bm25_prefers_documents_with_rare_query_terms():
    bm25 = BM25([content_tokens(t) for t in ["azure cloud services", "microsoft openai", "microsoft azure"]])
    scores = bm25.scores_tokens(content_tokens("azure cloud"))
    assert scores.argmax() == 0
    assert scores[1] == 0


def test_hybrid_retrieval_finds_the_sentence_with_the_answer(seed_article):
    retriever = Retriever(build_index(seed_article, FakeEmbedder()), FakeEmbedder())
    hits = retriever.search("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", k=3)
    assert hits[0].sentence.id == "8.1"
    assert hits[0].lexical_coverage > 0.5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_unrelated_question_has_low_coverage(seed_article):
    retriever = Retriever(build_index(seed_article, FakeEmbedder()), FakeEmbedder())
    assert all(h.lexical_coverage == 0 for h in retriever.search("What is the capital of France?", k=5))


def test_weighted_coverage_discounts_the_articles_ubiquitous_names(seed_article):
    """"OpenAI" is in most sentences, "CEO" in none: the question shares a word, not its subject."""
    retriever = Retriever(build_index(seed_article, FakeEmbedder()), FakeEmbedder())
    top = retriever.search("Siapa CEO OpenAI?", k=3)
    assert all(h.lexical_coverage == 0.5 for h in top)
    assert all(h.weighted_coverage < 0.2 for h in top)
    answered = retriever.search("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", k=1)[0]
    assert answered.weighted_coverage > 0.5


@pytest.mark.parametrize("word, root", [("memulai", "mula"), ("mulai", "mula"), ("bekerja", "kerja"),
                                        ("menginvestasikan", "investasi"), ("kemitraan", "mitra"), ("2019", "2019")])
def test_stems_let_a_question_word_meet_its_derived_form(word, root):
    assert stem(word) == root


def test_a_paraphrase_with_the_articles_root_word_keeps_its_coverage(seed_article):
    retriever = Retriever(build_index(seed_article, FakeEmbedder()), FakeEmbedder())
    hits = {h.sentence.id: h for h in retriever.search("Kapan Microsoft dan OpenAI mulai bekerja sama?", k=13)}
    assert hits["8.1"].weighted_coverage > 0.3  # "mulai" is found in "memulai"
