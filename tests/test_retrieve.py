import pytest

from base.words import content_tokens, stem, tokenize
from bot.core.grounding import GroundingPolicy
from bot.core.query import Query
from bot.core.turn import Turn
from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from evaluation.recording import RecordingRetriever
from index.build import build_index
from index.lexical import BM25
from index.retrieve import HybridRetriever, RetrievalConfig
from tests.fakes import FakeEmbedder, FakeGenerator, copied_reply


def _retriever_and_policy(article):
    stored = build_index(article, FakeEmbedder())
    return HybridRetriever(stored, FakeEmbedder()), GroundingPolicy(stored)


def test_tokenizer_strips_indonesian_particles_and_keeps_numbers():
    assert tokenize("Kapankah kemitraannya dimulai pada 2019? $1,5 miliar") == [
        "kapan",
        "kemitraan",
        "dimulai",
        "pada",
        "2019",
        "1,5",
        "miliar",
    ]
    assert "yang" not in content_tokens("perusahaan yang menguntungkan")


def test_bm25_prefers_documents_with_rare_query_terms():
    bm25 = BM25([content_tokens(t) for t in ["azure cloud services", "microsoft openai", "microsoft azure"]])
    scores = bm25.scores_tokens(content_tokens("azure cloud"))
    assert scores.argmax() == 0
    assert scores[1] == 0


def test_hybrid_retrieval_finds_the_sentence_with_the_answer(seed_article):
    retriever, policy = _retriever_and_policy(seed_article)
    question = "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"
    hits = retriever.search(question, k=3)
    assert hits[0].sentence.id == "8.1"
    assert policy.coverage(question, hits[0].sentence) > 0.5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_unrelated_question_has_low_coverage(seed_article):
    retriever, policy = _retriever_and_policy(seed_article)
    question = "What is the capital of France?"
    assert all(policy.coverage(question, h.sentence) == 0 for h in retriever.search(question, k=5))


def test_weighted_coverage_discounts_the_articles_ubiquitous_names(seed_article):
    """ "OpenAI" is in most sentences, "CEO" in none: the question shares a word, not its subject."""
    retriever, policy = _retriever_and_policy(seed_article)
    top = [policy.coverage("Siapa CEO OpenAI?", h.sentence) for h in retriever.search("Siapa CEO OpenAI?", k=3)]
    assert all(0 < c < 0.2 for c in top)  # "OpenAI" is found, "CEO" is not
    question = "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"
    answered = retriever.search(question, k=1)[0]
    assert policy.coverage(question, answered.sentence) > 0.5


def test_the_questions_names_are_looked_for_in_the_whole_article(seed_article):
    """Paragraph 2 says "kedua pihak" where the lede named OpenAI and Microsoft: no name is missing.
    A name the article never mentions is, wherever the cited sentence stands."""
    retriever, policy = _retriever_and_policy(seed_article)
    assert "Microsoft" not in " ".join(s.text for s in seed_article.paragraph(2))

    def missing(question):
        near_paragraph_2 = [h for h in retriever.search(question, k=20) if h.sentence.paragraph == 2]
        query = Query.read(question, "id", "id")
        return policy.relevance(query, question, near_paragraph_2).missing_specifics

    assert missing("Perbedaan pendapat apa yang mengadu domba OpenAI dan Microsoft?") == ()
    assert missing("Perbedaan pendapat apa yang mengadu domba OpenAI dan Google?") == ("google",)
    assert missing("Perbedaan pendapat apa yang muncul pada tahun 2031?") == ("2031",)


@pytest.mark.parametrize(
    "word, root",
    [
        ("memulai", "mula"),
        ("mulai", "mula"),
        ("bekerja", "kerja"),
        ("menginvestasikan", "investasi"),
        ("kemitraan", "mitra"),
        ("2019", "2019"),
    ],
)
def test_stems_let_a_question_word_meet_its_derived_form(word, root):
    assert stem(word) == root


def test_a_paraphrase_with_the_articles_root_word_keeps_its_coverage(seed_article):
    _, policy = _retriever_and_policy(seed_article)
    coverage = policy.coverage("Kapan Microsoft dan OpenAI mulai bekerja sama?", seed_article.sentence("8.1"))
    assert coverage > 0.3  # "mulai" is found in "memulai"


def test_a_question_in_another_language_is_ranked_by_meaning_alone(seed_article):
    stored = build_index(seed_article, FakeEmbedder())
    hybrid = HybridRetriever(stored, FakeEmbedder())
    dense_only = HybridRetriever(stored, FakeEmbedder(), RetrievalConfig(lexical=0.0))
    question = "When did Microsoft and OpenAI start their partnership?"
    across = [h.sentence.id for h in hybrid.search(question, 20, same_language=False)]
    assert across == [h.sentence.id for h in dense_only.search(question, 20)]
    # In the article's language the shared words count too.
    assert across != [h.sentence.id for h in hybrid.search(question, 20)]


@pytest.mark.parametrize(
    ("multilingual", "question", "history", "expected"),
    [
        (True, "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", None, True),
        (True, "When did Microsoft and OpenAI begin working together?", None, False),
        # A follow-up in English after an Indonesian question is still searched as English.
        (True, "And how much did Microsoft invest?", Turn("Kapan kolaborasi dimulai?", "2019"), False),
        # An English-only embedder gets the question translated into the article's language first.
        (False, "When did Microsoft and OpenAI begin working together?", None, True),
    ],
)
def test_the_core_tells_its_retriever_whether_the_query_is_in_the_articles_language(
    seed_article, tmp_path, multilingual, question, history, expected
):
    embedder = FakeEmbedder(multilingual=multilingual)
    stored = build_index(seed_article, embedder)
    recorder = RecordingRetriever(HybridRetriever(stored, embedder))
    generator = FakeGenerator()
    if not multilingual:
        generator.enqueue('{"translation": "Kapan Microsoft dan OpenAI mulai bekerja sama?"}')
    generator.enqueue(copied_reply("pada tahun 2019"))
    core = assemble_core(stored, embedder, generator, core_config(Settings(_env_file=None)), retriever=recorder)
    core.ask(question, history=history)
    assert [same_language for _, _, same_language in recorder.searches] == [expected]


def test_the_weights_follow_the_kind_of_embedder(seed_article):
    """BM25 weighs half beside the multilingual embedder; MiniLM keeps the weights tuned with it."""
    stored = build_index(seed_article, FakeEmbedder())
    multilingual = HybridRetriever(stored, FakeEmbedder(multilingual=True)).config
    english_only = HybridRetriever(stored, FakeEmbedder(multilingual=False)).config
    assert (multilingual.lexical, english_only.lexical) == (0.5, 1.0)
    assert multilingual.cross_lingual_lexical == english_only.cross_lingual_lexical == 0.0
