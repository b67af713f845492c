"""The new-article bench rows: every question asked through the core, per-stage figures and call costs summed."""

from collections import deque

from bot.core.answer import CoreConfig
from bot.llm.llama import CallStats
from evaluation.articles_bench import ask_all, lines, summarise
from evaluation.dataset import Doc, Group, Question
from tests.fakes import FakeEmbedder, FakeGenerator

TEXT = (
    "Kerja sama Microsoft dan OpenAI dimulai pada tahun 2019. Microsoft menanamkan modal 1 miliar dolar.\n\n"
    "OpenAI ingin melonggarkan kendali Microsoft. Tujuan terbesarnya adalah melakukan IPO."
)


class CountingGenerator(FakeGenerator):
    """A FakeGenerator that notes a CallStats per completion, as LlamaGenerator does."""

    def __init__(self, *replies: str) -> None:
        super().__init__(list(replies))
        self.recent_calls: deque[CallStats] = deque(maxlen=64)

    def prefix_tokens(self, system: str) -> list[int]:
        return list(range(self.count_tokens(system)))

    def complete(self, prompt, grammar, max_tokens):
        reply = super().complete(prompt, grammar, max_tokens)
        self.recent_calls.append(CallStats("complete", 100, 90, 10, 5, 1, 0, len(grammar), 0.5))
        return reply

    def choose(self, prompt, options):
        self.recent_calls.append(CallStats("choice", 120, 92, 28, 0, 0, 0, 0, 0.25))
        return super().choose(prompt, options)


def test_each_question_is_asked_and_its_calls_summed():
    questions = tuple(
        Question(id=f"q{n}", doc="d1", question=q, answers=("2019",), answerable=True)
        for n, q in enumerate(["Kapan kerja sama dimulai?", "Apa tujuan OpenAI?"])
    )
    generator = CountingGenerator('{"answer": "pada tahun 2019"}', '{"answer": "NONE"}')
    config = CoreConfig(candidates=3, max_tokens=48, max_question_chars=500)
    rows = ask_all([Group(Doc(id="d1", title="t", lang="id", text=TEXT), questions)], FakeEmbedder(), generator, config)
    assert [r["id"] for r in rows] == ["q0", "q1"]
    assert [r["first_of_article"] for r in rows] == [True, False]
    # No answer asserted; the question is about the article, so its closest sentences are quoted.
    assert rows[1]["refused"] and rows[1]["kind"] == "closest" and 1 <= len(rows[1]["citations"]) <= 2
    assert [c["kind"] for c in rows[1]["calls"]] == ["complete"]  # a NONE answer is never verified
    summary = summarise(rows)
    assert summary["questions"] == 2 and summary["articles"] == 1
    assert summary["generate_calls"]["n"] == 2 and summary["generate_calls"]["masked_steps"] == 2
    assert summary["total"]["p50_s"] > 0
    assert len(lines({"new": {"summary": summary}})) == 2
