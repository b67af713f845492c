"""The fakes implement the same protocols as the real parts, so a test on a fake says something about production."""

from __future__ import annotations

import inspect

import pytest

from bot.core.answer import Kutip
from bot.core.ports import AnswerCore, Generator, Retriever, SavedPrefixes, Tokens
from bot.library.library import Library
from bot.library.ports import ArticleLibrary
from bot.library.turns import ArticleCore
from bot.llm.llama import LlamaGenerator, LlamaPrefixes
from bot.llm.openai_server import OpenAIServerGenerator
from evaluation.embedcache import CachingEmbedder
from evaluation.recording import RecordingGenerator, RecordingRetriever
from index.embedder import Embedder, SentenceTransformerEmbedder
from index.retrieve import HybridRetriever
from tests.fakes import FakeCore, FakeEmbedder, FakeGenerator, FakeLibrary
from tests.fuzz.test_fuzz_core import ScriptedGenerator
from tests.fuzz.test_fuzz_telegram import SteadyGenerator

IMPLEMENTATIONS = {
    AnswerCore: (Kutip, ArticleCore, FakeCore),
    Generator: (
        LlamaGenerator,
        OpenAIServerGenerator,
        RecordingGenerator,
        FakeGenerator,
        ScriptedGenerator,
        SteadyGenerator,
    ),
    Tokens: (LlamaPrefixes,),
    SavedPrefixes: (LlamaPrefixes, FakeGenerator),
    Embedder: (SentenceTransformerEmbedder, CachingEmbedder, FakeEmbedder),
    Retriever: (HybridRetriever, RecordingRetriever),
    ArticleLibrary: (Library, FakeLibrary),
}


def _public_members(protocol: type) -> list[str]:
    """The protocol's members and those of the protocols it extends (Generator those of Tokens)."""
    protocols = [c for c in protocol.__mro__ if getattr(c, "_is_protocol", False) and c.__module__ != "typing"]
    return [
        name
        for cls in protocols
        for name, value in vars(cls).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ]


def _shape(function) -> list[tuple[str, object, object]]:
    """Parameter names, kinds and defaults; annotations are strings that may name one type two ways."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    "protocol, implementation",
    [(protocol, implementation) for protocol, found in IMPLEMENTATIONS.items() for implementation in found],
    ids=lambda value: value.__name__,
)
def test_every_implementation_has_the_protocols_members_and_signatures(protocol, implementation):
    for name in _public_members(protocol):
        wanted = getattr(protocol, name)
        found = inspect.getattr_static(implementation, name, None)
        if isinstance(wanted, property):
            # A property in the protocol may be a property, or a plain attribute (set in __init__ or on the class).
            assert found is None or isinstance(found, property) or not callable(found), (
                f"{implementation.__name__}.{name}"
            )
            continue
        assert found is not None, f"{implementation.__name__} lacks {name}"
        assert _shape(found) == _shape(wanted), f"{implementation.__name__}.{name}"


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
