"""The fakes implement the same protocols as the real parts, so a test on a fake says something about production."""

from __future__ import annotations

import inspect

import pytest

from bot.core.answer import Kutip
from bot.core.ports import AnswerCore, ArticleLibrary, Embedder, Generator, Retriever
from bot.library.library import Library
from bot.llm.llama import LlamaGenerator
from index.embedder import SentenceTransformerEmbedder
from index.retrieve import HybridRetriever
from tests.fakes import FakeCore, FakeEmbedder, FakeGenerator, FakeLibrary


def _public_methods(protocol: type) -> list[str]:
    return [
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ]


@pytest.mark.parametrize(
    "protocol, real, fake",
    [
        (AnswerCore, Kutip, FakeCore),
        (Generator, LlamaGenerator, FakeGenerator),
        (Embedder, SentenceTransformerEmbedder, FakeEmbedder),
        (Retriever, HybridRetriever, None),
        (ArticleLibrary, Library, FakeLibrary),
    ],
)
def test_real_and_fake_have_the_protocols_signatures(protocol, real, fake):
    for name in _public_methods(protocol):
        wanted = getattr(protocol, name)
        for implementation in filter(None, (real, fake)):
            found = inspect.getattr_static(implementation, name, None)
            if isinstance(wanted, property):
                # A property in the protocol may be a property or a plain attribute set in __init__.
                assert found is None or isinstance(found, property), f"{implementation.__name__}.{name}"
                continue
            assert found is not None, f"{implementation.__name__} lacks {name}"
            assert inspect.signature(found) == inspect.signature(wanted), f"{implementation.__name__}.{name}"


def test_fake_core_answers_like_the_real_core_on_the_shared_rules(fake_core):
    """The rules both cores take from one place: the question check, the refusal text, the source lookup."""
    from base.errors import QuestionError, UnknownSentence

    fake = FakeCore()
    for core in (fake, fake_core):
        with pytest.raises(QuestionError):
            core.ask("   ")
        with pytest.raises(QuestionError):
            core.ask("x" * 2001)
        with pytest.raises(UnknownSentence):
            core.source("99.9")
