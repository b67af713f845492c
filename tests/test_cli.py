"""The CLI edge: domain errors become one clear line and exit code 2, never a traceback."""

import hashlib
import json
import logging
import socket

import pytest

from bot.wiring.cli import main
from tests.fakes import copied_reply


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("question, message", [("   ", "the question is empty"), ("x" * 2001, "limit is 2000")])
def test_bad_questions_exit_2_with_a_message(capsys, question, message):
    code, out, err = run(capsys, "ask", question)
    assert code == 2 and message in err.lower() and out == ""


def test_missing_article(capsys, tmp_path):
    code, _, err = run(capsys, "index", "--article", str(tmp_path / "missing.txt"))
    assert code == 2 and "article not found" in err


def test_refused_url(capsys):
    code, _, err = run(capsys, "index", "--article", "http://127.0.0.1:9/article")
    assert code == 2 and "Article URL refused" in err and "non-public" in err


def test_unreachable_url(capsys, monkeypatch):
    monkeypatch.setenv("KUTIP_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("KUTIP_FETCH_TIMEOUT_S", "2")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run(capsys, "index", "--article", f"http://127.0.0.1:{port}/a")
    assert code == 2 and "Cannot fetch the article" in err


def test_gguf_with_wrong_checksum(capsys, monkeypatch, tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"not the model you pinned")
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KUTIP_LLM_MODEL", str(model))
    monkeypatch.setenv("KUTIP_LLM_SHA256", hashlib.sha256(b"another file").hexdigest())
    monkeypatch.setenv("KUTIP_EMBEDDING_MODEL", "embedded:all-MiniLM-L6-v2")
    code, _, err = run(capsys, "ask", "Kapan kerja sama dimulai?")
    assert code == 2 and "failed its checksum" in err


def test_source_prints_the_sentence_in_its_paragraph(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path))
    code, out, _ = run(capsys, "source", "8.2")
    assert code == 0
    assert out.startswith("[8.2] paragraph 8, sentence 2")
    assert ">>> Berdasarkan perjanjian saat ini" in out and "Microsoft dan OpenAI memulai" in out
    code, _, err = run(capsys, "source", "99.1")
    assert code == 2 and "no sentence '99.1'" in err


def test_the_local_chat_shows_the_conversation_and_sends_logs_to_a_file(monkeypatch, tmp_path, capsys):
    from tests.fakes import FakeLibrary

    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path))

    def build(settings):
        logging.getLogger("bot.wiring.factory").info("index loaded")  # what a real build logs
        return FakeLibrary()

    monkeypatch.setattr("bot.wiring.factory.build_library", build)
    lines = iter(["Apa tujuan OpenAI?", "/articles", "/use 9", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat"]) == 0
    out, err = capsys.readouterr()
    assert f"Logs go to {tmp_path / 'kutip.log'}" in out
    assert "Jawaban: Apa tujuan OpenAI?" in out
    assert "*  1. " in out and "Unknown article" in out
    assert "index loaded" not in out + err
    assert "index loaded" in (tmp_path / "kutip.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://[::1/x"])
def test_malformed_urls_are_one_line_and_exit_2(capsys, url):
    code, out, err = run(capsys, "index", "--article", url)
    assert code == 2 and out == ""
    assert err.startswith("kutip: Article URL refused") and err.count("\n") == 1


@pytest.fixture
def fake_models(monkeypatch, tmp_path):
    """The real library in a temporary data directory, over fake models shared by every `main()` call."""
    from tests.fakes import FakeEmbedder, FakeGenerator

    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path / "data"))
    embedder, generator = FakeEmbedder(), FakeGenerator()
    monkeypatch.setattr("bot.wiring.factory.load_embedder", lambda settings: embedder)
    monkeypatch.setattr("bot.wiring.factory.load_generator", lambda settings, stop=None: generator)
    return embedder, generator


def write_story(path, topic):
    sentences = [
        f"Laporan ke-{i} tentang {topic} mencatat angka yang dibahas para pejabat kota kemarin." for i in range(4)
    ]
    path.write_text(" ".join(sentences[:2]) + "\n\n" + " ".join(sentences[2:]), encoding="utf-8")
    return str(path)


def test_read_articles_use_and_ask_about_a_chosen_article(capsys, tmp_path, fake_models):
    _, generator = fake_models
    a = write_story(tmp_path / "a.txt", "banjir")
    b = write_story(tmp_path / "b.txt", "jalan tol")
    code, out, _ = run(capsys, "read", a)
    assert code == 0 and out.startswith("ready in") and "4 sentences" in out and f"source: {a}" in out
    code, out, _ = run(capsys, "read", b)
    b_id = out.split(": ", 1)[1].split()[0]
    code, out, _ = run(capsys, "articles")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[0].startswith(f"*  1. {b_id}") and "default" in lines[2]
    code, out, _ = run(capsys, "use", "2")
    assert code == 0 and "banjir" in out
    generator.enqueue(copied_reply("angka"))
    code, out, _ = run(capsys, "ask", "--article", b_id, "--json", "Apa yang dicatat laporan tentang jalan tol?")
    answer = json.loads(out)
    assert code == 0 and "jalan tol" in answer["citations"][0]["text"]
    code, out, _ = run(capsys, "articles")
    assert out.splitlines()[0].startswith(f"*  1. {b_id}")  # --article chose it
    code, out, _ = run(capsys, "source", "2.1")  # no model needed: from the current article on disk
    assert code == 0 and "jalan tol" in out


def test_an_unknown_article_is_one_line(capsys, tmp_path, fake_models):
    code, out, err = run(capsys, "ask", "--article", "deadbeef", "Apa?")
    assert code == 2 and out == "" and "article not found: deadbeef" in err
    code, _, err = run(capsys, "use", "7")
    assert code == 2 and "Unknown article" in err


def test_the_local_chat_reads_and_switches_articles(capsys, tmp_path, fake_models):
    from bot.adapters.cli import chat, resolve
    from bot.wiring.factory import build_library
    from bot.wiring.settings import Settings

    _, generator = fake_models
    library = build_library(Settings(_env_file=None))
    story = write_story(tmp_path / "kabar.txt", "pasar ikan")
    generator.enqueue(copied_reply("angka"), copied_reply("2019"))
    lines = iter(
        [
            f"/read {story}",
            "Apa yang dicatat laporan tentang pasar ikan?",
            "/use 2",
            "Kapan Microsoft dan OpenAI mulai bekerja sama?",
            "/read",
            "/quit",
        ]
    )
    out: list[str] = []
    chat(library.core(resolve(library, None).id), read=lambda prompt: next(lines), write=out.append, library=library)
    text = "\n".join(out)
    assert "indexing…" in text and "now: " in text and "pasar ikan" in text
    assert "Microsoft dan OpenAI memulai kolaborasi" in text  # quoted from the default after /use 2
    assert "/read needs an argument" in text


def test_listing_and_source_load_no_language_model(capsys, monkeypatch, fake_models):
    def no_model(settings, stop=None):
        raise AssertionError("the LLM was loaded")

    monkeypatch.setattr("bot.wiring.factory.load_generator", no_model)
    code, out, _ = run(capsys, "articles")
    assert code == 0 and "default" in out
    code, out, _ = run(capsys, "source", "8.1")
    assert code == 0 and "Microsoft dan OpenAI memulai" in out


def test_the_support_threshold_setting_reaches_every_library_article(capsys, tmp_path, fake_models, monkeypatch):
    _, generator = fake_models
    story = write_story(tmp_path / "kabar.txt", "pasar ikan")
    generator.enqueue(copied_reply("angka"), copied_reply("angka"))
    generator.enqueue_yes(0.7, 0.7)
    code, out, _ = run(capsys, "ask", "--article", story, "Apa yang dicatat laporan tentang pasar ikan?")
    assert code == 0 and "angka" in out  # P(yes) 0.7 passes the tuned 0.65
    monkeypatch.setenv("KUTIP_SUPPORT_MIN_VERIFIED", "0.8")
    code, out, _ = run(capsys, "ask", "--article", story, "Apa yang dicatat laporan tentang pasar ikan?")
    # The same answer is not asserted under a stricter setting: the closest sentences are shown instead.
    assert code == 0 and out.startswith("Saya tidak bisa memastikan")
