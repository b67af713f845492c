import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from base.errors import ArticleError, ArticleTooLarge
from bot.wiring.factory import article_limits
from bot.wiring.settings import Settings
from index.clean import clean_text
from index.ingest import ArticleLimits, check_article, load_article, parse_article
from index.segment import chunks, segment
from tests.conftest import SEED

SEED_RAW = Path(SEED).read_text(encoding="utf-8")


def test_seed_is_an_exact_copy_of_the_users_article():
    shared = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_5de2fa119e5e4e7b.txt"
    if not shared.is_file():
        pytest.skip("shared/ is not beside this checkout")
    assert SEED.read_bytes() == shared.read_bytes()


def test_seed_debris_is_removed(seed_article):
    text = seed_article.text
    assert "Foto:" not in text and "Financial Times" not in text
    assert "Komentar" not in text
    assert "Sumber:" not in text and "znews.vn" not in text
    assert not any(line.strip() == "|" for line in text.splitlines())


def test_seed_source_url_becomes_metadata(seed_article):
    assert seed_article.source_url == "https://znews.vn/moi-quan-he-giua-openai-va-microsoft-sap-do-vo-post1561684.html"


def test_caption_becomes_the_title_not_citable_text(seed_article):
    assert seed_article.title == "OpenAI ingin menggugat Microsoft agar bisa terdaftar di bursa saham."
    assert all("menggugat" not in s.text for s in seed_article.sentences)


def test_every_sentence_is_verbatim_in_the_cleaned_and_the_original_article(seed_article):
    for s in seed_article.sentences:
        assert seed_article.text[s.start : s.end] == s.text
        assert s.text in SEED_RAW


def test_ids_are_human_paragraph_and_sentence_numbers(seed_article):
    ids = [s.id for s in seed_article.sentences]
    assert ids[0] == "1.1"
    assert len(set(ids)) == len(ids)
    assert seed_article.sentence("3.2").text.startswith("Tujuan terbesarnya")
    assert seed_article.paragraph_count == 9


@pytest.mark.parametrize(
    "needle",
    ["menginvestasikan $1 miliar di perusahaan rintisan tersebut.", "penawaran saham perdana (IPO), sebuah langkah"],
)
def test_sentence_splitter_keeps_money_and_abbreviations_whole(seed_article, needle):
    assert any(needle in s.text for s in seed_article.sentences)


def test_english_abbreviations_do_not_split():
    sentences = segment("Dr. Smith paid U.S. $2.5 billion on Jan. 5. Then he left.")
    assert [s.text for s in sentences] == ["Dr. Smith paid U.S. $2.5 billion on Jan. 5.", "Then he left."]


def test_language_is_detected(seed_article):
    assert seed_article.language == "id"
    assert parse_article("The company said on Monday that it was going to sell the unit.").language == "en"


def test_widget_lines_and_separators_go_but_article_lines_stay():
    cleaned = clean_text(
        "Headline text here. Foto: Reuters .\n|\nBody sentence one.\n\nShare\nComments (12)\nBody two."
    )
    assert cleaned.text == "Body sentence one.\n\nBody two."
    assert cleaned.caption == "Headline text here."


def test_html_file_is_extracted(tmp_path):
    page = tmp_path / "a.html"
    page.write_text(
        "<html><head><title>Harbour news</title></head><body><nav>Home | World</nav>"
        "<article><h1>Harbour reopens</h1><p>The harbour reopened on Monday after two weeks of repairs.</p>"
        "<p>Officials said 40 ships were waiting outside.</p>"
        "<p>The ships carry rice, cement and fuel for the islands around the harbour, and the local "
        "government promised that the queue would be cleared before the end of the week.</p></article>"
        "<footer>Copyright</footer></body></html>",
        encoding="utf-8",
    )
    article = load_article(str(page))
    texts = [s.text for s in article.sentences]
    assert "Officials said 40 ships were waiting outside." in texts
    assert not any("Copyright" in t or "Home" in t for t in texts)
    assert article.title in ("Harbour reopens", "Harbour news")


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\xfa not utf8 \x80"])
def test_empty_or_undecodable_article_is_a_domain_error(tmp_path, content):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleError):
        load_article(str(path))


def test_missing_article_is_a_domain_error(tmp_path):
    with pytest.raises(ArticleError, match="not found"):
        load_article(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize(
    "text, language",
    [
        ("Kapan Microsoft dan OpenAI mulai bekerja sama?", "id"),
        ("When did Microsoft and OpenAI start working together?", "en"),
        ("Microsoft và OpenAI bắt đầu hợp tác khi nào?", "en"),  # a third language is answered in English
        ("Microsoft Azure?", "id"),  # no signal: the article's language
    ],
)
def test_question_language(text, language):
    from base.language import detect_language

    assert detect_language(text, default="id") == language


# --- pages without an article, and articles too large (issue 12) -------------------------------------

NAV_ONLY = (
    "<html><head><title>X</title></head><body><nav><a href='/'>Home</a> | <a href='/x'>X</a></nav>"
    "<footer>Home | X</footer></body></html>"
)
PAYWALL = (
    "<html><head><title>Harbour reopens</title></head><body><article><h1>Harbour reopens</h1>"
    "<p>Subscribe to continue reading.</p><p>Already a subscriber? Log in.</p>"
    "<p>Support independent journalism from 1 euro a month.</p></article></body></html>"
)


@pytest.mark.parametrize("page", [NAV_ONLY, PAYWALL], ids=["navigation-only", "paywall-stub"])
def test_a_page_without_article_text_is_refused(tmp_path, page):
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(ArticleError, match="no article text"):
        load_article(str(path))


def test_the_seed_and_every_bench_article_are_long_enough(seed_article):
    check_article(seed_article, ArticleLimits())
    docs = sorted((Path(__file__).resolve().parents[2] / "shared" / "bench").glob("*/docs.jsonl"))
    if not docs:
        pytest.skip("shared/bench is not beside this checkout")
    checked = 0
    for path in docs:
        for line in path.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            check_article(parse_article(doc["text"], title=doc.get("title", ""), origin=doc["id"]), ArticleLimits())
            checked += 1
    assert checked > 100


def test_the_limits_defaults_are_the_settings_defaults():
    assert article_limits(Settings(_env_file=None)) == ArticleLimits()


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.txt"
    path.write_text("Satu kalimat yang panjang sekali. " * 200, encoding="utf-8")
    monkeypatch.setattr("index.ingest.segment", lambda text: pytest.fail("segmented a file over the limit"))
    with pytest.raises(ArticleTooLarge, match="bytes"):
        load_article(str(path), limits=replace(ArticleLimits(), max_bytes=1000))


def test_an_article_with_too_many_sentences_is_refused(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text(" ".join(f"Kalimat nomor {i} berisi beberapa kata." for i in range(60)), encoding="utf-8")
    with pytest.raises(ArticleTooLarge, match="60 sentences"):
        load_article(str(path), limits=replace(ArticleLimits(), max_sentences=50))


def test_a_binary_file_is_refused_with_a_clear_line(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"Kalimat. " * 50)
    with pytest.raises(ArticleError, match="binary"):
        load_article(str(path))


def test_the_read_pipeline_reports_each_step_as_it_starts(tmp_path):
    """The one pipeline (the CLI, the bot and the library read through it) tells a progress callback its steps."""
    path = tmp_path / "kabar.txt"
    path.write_text(" ".join(f"Kalimat nomor {i} tentang banjir di kota kami hari ini." for i in range(6)), "utf-8")
    stages = []
    assert load_article(str(path), limits=ArticleLimits(min_words=1), progress=stages.append).sentences
    assert stages == ["fetching", "cleaning"]
    stages.clear()
    with pytest.raises(ArticleError):
        load_article(str(tmp_path / "missing.txt"), progress=stages.append)
    assert stages == ["fetching"]


# --- one long paragraph (issue 22, defect 3): the splitter's work is bounded --------------------------


def _one_paragraph(size: int) -> str:
    """About `size` characters of varied sentences in one paragraph, no line break."""
    sentences, n = [], 0
    while sum(map(len, sentences)) < size:
        n += 1
        sentences.append(f"On day {n % 28 + 1} the harbour held {n * 3} ships, and officials said {n} more were due. ")
    return "".join(sentences).strip()


def _exact(text: str, sentences) -> None:
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_a_one_paragraph_file_of_a_megabyte_is_refused_within_seconds(tmp_path):
    path = tmp_path / "one-paragraph.txt"
    path.write_text(_one_paragraph(1_000_000), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ArticleTooLarge, match="sentences") as refused:
        load_article(str(path))
    assert time.monotonic() - started < 15  # the quadratic splitter took minutes
    assert refused.value.size > 10_000  # the whole file's sentences, estimated, not the bound plus one


def test_a_long_paragraph_within_the_bounds_is_split_in_seconds_into_exact_slices():
    text = _one_paragraph(400_000)
    started = time.monotonic()
    article = parse_article(text)
    assert time.monotonic() - started < 15  # the quadratic splitter took about 35 s (250 KB: 14 s)
    _exact(article.text, article.sentences)
    assert len(article.sentences) == text.count("due.")  # cut between sentences: each one found whole
    assert {s.paragraph for s in article.sentences} == {1}
    assert [s.sentence for s in article.sentences] == list(range(1, len(article.sentences) + 1))


def test_a_paragraph_without_sentence_ends_or_spaces_is_cut_into_exact_slices():
    text = "Opening sentence here. " + "x" * 50_000 + " closing words without an end"
    sentences = segment(text)
    _exact(text, sentences)
    assert "".join(s.text for s in sentences).replace(" ", "") == text.replace(" ", "")


def test_past_the_time_budget_the_linear_rule_splits_into_exact_slices():
    text = "First one here. Second one (quoted) follows! Third?\n\nA new paragraph. Its end."
    linear = segment(text, budget_s=0)
    _exact(text, linear)
    assert [s.text for s in linear] == [s.text for s in segment(text)]
    assert [s.id for s in linear] == ["1.1", "1.2", "1.3", "2.1", "2.2"]


@pytest.mark.parametrize("size", [10, 100, 4000])
def test_chunks_join_back_into_the_paragraph_and_respect_the_size(size):
    paragraph = _one_paragraph(20_000) + " " + "y" * 9000
    pieces = chunks(paragraph, size)
    assert "".join(pieces) == paragraph
    assert all(0 < len(p) <= size for p in pieces)


# --- hostile documents (issue 22, "Also to test") ---------------------------------------------------

_REPORT = " ".join(f"The harbour held {n} ships on day {n % 28 + 1}, officials said." for n in range(20))


def test_a_byte_order_mark_does_not_become_part_of_the_first_sentence(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + _REPORT.encode())
    first = load_article(str(path)).sentences[0]
    assert first.text == "The harbour held 0 ships on day 1, officials said."


@pytest.mark.parametrize(
    "head",
    [b"%PDF-1.4\n", b"{\\rtf1\\ansi ", b"GIF89a"],
    ids=["an ASCII-only PDF", "RTF", "a GIF header"],
)
def test_a_txt_that_is_really_a_document_format_without_nul_bytes_is_refused(tmp_path, head):
    path = tmp_path / "report.txt"
    path.write_bytes(head + "\n".join(f"({s}) Tj" for s in _REPORT.split(". ")).encode())
    with pytest.raises(ArticleError, match="not text"):
        load_article(str(path))
    with pytest.raises(ArticleError, match="not text"):
        load_article("report.txt", document=path.read_bytes())


# --- an .html of 100,000 tiny paragraphs (issue 22): refused before trafilatura parses it ------------


def _page(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return f"<html><head><title>Harbour</title></head><body><article>{body}</article></body></html>".encode()


@pytest.fixture
def extractions(monkeypatch):
    """Every page trafilatura is asked to parse (it parses them as usual)."""
    import trafilatura

    seen: list[int] = []
    real = trafilatura.bare_extraction

    def spy(html, *args, **kwargs):
        seen.append(len(html))
        return real(html, *args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    return seen


def test_an_html_of_a_hundred_thousand_tiny_paragraphs_is_refused_before_it_is_parsed(tmp_path, extractions):
    hostile = _page([f"w{i}" for i in range(100_000)])  # 1.3 MB, well under the byte limit
    assert len(hostile) < ArticleLimits().max_bytes
    with pytest.raises(ArticleTooLarge, match="HTML elements") as refused:
        load_article("tiny.html", document=hostile)
    assert refused.value.size > ArticleLimits().max_html_elements
    path = tmp_path / "tiny.html"
    path.write_bytes(hostile)
    with pytest.raises(ArticleTooLarge, match="HTML elements"):
        load_article(str(path))
    assert extractions == []  # trafilatura spent ~21 s on it before it was refused


def test_a_long_article_page_within_the_element_bound_still_reads(extractions):
    paragraphs = [
        f"On day {n % 28 + 1} the harbour held {n * 3} ships, and officials said {n} more were due."
        for n in range(1500)
    ]
    article = load_article("long.html", document=_page(paragraphs))
    assert len(article.sentences) == 1500
    assert len(extractions) == 1


# --- a 10 MB .html (issue 22, "Also to test"): refused by its size, before it is read or parsed -------


def test_a_ten_megabyte_html_file_or_document_is_refused_by_its_size_before_it_is_parsed(
    tmp_path, monkeypatch, extractions
):
    paragraph = "<p>The harbour held 40 ships on Monday, officials said, and 12 more were due.</p>\n"
    page = _page([paragraph] * (10_000_000 // len(paragraph)))
    assert len(page) > 2 * ArticleLimits().max_bytes  # 10 MB, twice the default KUTIP_FETCH_MAX_BYTES
    path = tmp_path / "big.html"
    path.write_bytes(page)
    monkeypatch.setattr("index.ingest.segment", lambda text: pytest.fail("segmented a file over the limit"))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self} whole"))
    with pytest.raises(ArticleTooLarge, match=f"has {len(page)} bytes, over the 5000000-bytes limit"):
        load_article(str(path))
    with pytest.raises(ArticleTooLarge, match=f"has {len(page)} bytes, over the 5000000-bytes limit"):
        load_article("big.html", document=page)  # a document sent to the bot
    assert extractions == []
