import ipaddress
import socket
import tracemalloc
import zlib
from dataclasses import replace

import pytest

from base.errors import ArticleError, ArticleTooLarge, FetchFailed, FetchRefused, FetchTooLarge
from bot.wiring.factory import fetch_policy
from bot.wiring.settings import Settings
from index.fetch import FetchPolicy, check_url
from index.ingest import load_article
from tests.local_http import self_signed, serve

PAGE = (
    b"<html><head><title>Pelabuhan dibuka</title></head><body><nav>Beranda | Dunia</nav><article>"
    b"<h1>Pelabuhan dibuka kembali</h1><p>Pelabuhan dibuka kembali pada hari Senin setelah dua minggu perbaikan.</p>"
    b"<p>Petugas mengatakan 40 kapal menunggu di luar.</p>"
    b"<p>Kapal-kapal itu membawa beras, semen dan bahan bakar untuk pulau-pulau di sekitar pelabuhan. "
    b"Pemerintah daerah berjanji bahwa antrean akan selesai sebelum akhir pekan ini.</p></article>"
    b"<footer>Hak cipta</footer></body></html>"
)


def policy(**changes) -> FetchPolicy:
    """The policy `make run` uses (Settings' defaults), with `changes`."""
    return replace(fetch_policy(Settings(_env_file=None)), **changes)


LOOPBACK_OK = policy(allow_private=True, timeout_s=2)


def test_html_page_over_http_is_ingested_with_its_url():
    with serve({"/news": (200, "text/html; charset=utf-8", PAGE)}) as base:
        article = load_article(f"{base}/news", LOOPBACK_OK)
    assert "Petugas mengatakan 40 kapal menunggu di luar." in [s.text for s in article.sentences]
    assert article.source_url == f"{base}/news"
    assert article.language == "id"


def test_redirects_are_followed_and_checked():
    with serve({"/old": (302, "text/html", b"/news"), "/news": (200, "text/html", PAGE)}) as base:
        article = load_article(f"{base}/old", LOOPBACK_OK)
    assert article.origin == f"{base}/news"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.txt", "gopher://x/"])
def test_non_http_schemes_are_refused(url):
    with pytest.raises(FetchRefused, match="only http and https"):
        load_article(url, policy())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a",
        "http://10.1.2.3/a",
        "http://169.254.169.254/latest",
        "http://[::1]/a",
        "http://192.168.0.1/",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused_by_default(url):
    with pytest.raises(FetchRefused, match="non-public"):
        check_url(url, policy())


# (IPv6 literal, what it leads to): every form that carries an IPv4 address is judged by that address.
INTERNAL_IPV6_FORMS = [
    ("64:ff9b::a9fe:a9fe", "NAT64 well-known prefix, 169.254.169.254 (cloud metadata)"),
    ("64:ff9b::7f00:1", "NAT64 well-known prefix, 127.0.0.1"),
    ("64:ff9b::a00:1", "NAT64 well-known prefix, 10.0.0.1"),
    ("64:ff9b:1::7f00:1", "NAT64 local-use prefix, 127.0.0.1 at the /96 position"),
    ("64:ff9b:1:808:8:800::", "NAT64 local-use prefix, 8.8.8.8 at the /48 position: the prefix is local"),
    ("2002:7f00:1::", "6to4, 127.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4, 169.254.169.254"),
    ("2002:c0a8:1::", "6to4, 192.168.0.1"),
    ("::127.0.0.1", "IPv4-compatible, 127.0.0.1"),
    ("::169.254.169.254", "IPv4-compatible, 169.254.169.254"),
    ("::ffff:127.0.0.1", "IPv4-mapped, 127.0.0.1"),
    ("::ffff:169.254.169.254", "IPv4-mapped, 169.254.169.254"),
    ("::ffff:0:7f00:1", "IPv4-translated (SIIT), 127.0.0.1"),
    ("::ffff:0:a9fe:a9fe", "IPv4-translated (SIIT), 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, obfuscated client 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo, obfuscated client 8.8.8.8: Teredo is not global"),
    ("fec0::1", "site-local (deprecated)"),
    ("fc00::1", "unique local"),
    ("fe80::1", "link-local"),
    ("ff0e::1", "global-scope multicast"),
    ("100::1", "discard prefix"),
    ("::", "unspecified"),
]
PUBLIC_IPV6_FORMS = [
    ("64:ff9b::808:808", "NAT64 well-known prefix, 8.8.8.8: what DNS64 answers on an IPv6-only host"),
    ("2002:808:808::1", "6to4, 8.8.8.8"),
    ("::ffff:8.8.8.8", "IPv4-mapped, 8.8.8.8"),
    ("2606:4700:4700::1111", "native global IPv6"),
]


@pytest.mark.parametrize(("literal", "form"), INTERNAL_IPV6_FORMS, ids=[f for _, f in INTERNAL_IPV6_FORMS])
def test_internal_addresses_in_ipv6_forms_are_refused(literal, form):
    with pytest.raises(FetchRefused, match="non-public"):
        check_url(f"http://[{literal}]/latest", policy())


@pytest.mark.parametrize(("literal", "form"), PUBLIC_IPV6_FORMS, ids=[f for _, f in PUBLIC_IPV6_FORMS])
def test_public_addresses_in_ipv6_forms_pass(literal, form):
    assert check_url(f"http://[{literal}]/", policy()) == [str(ipaddress.ip_address(literal))]


def test_a_name_resolving_to_nat64_metadata_is_refused(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(FetchRefused, match="non-public"):
        check_url("http://metadata.example.org/latest", policy())


def test_loopback_is_refused_even_when_the_server_is_there():
    with serve({"/news": (200, "text/html", PAGE)}) as base, pytest.raises(FetchRefused):
        load_article(f"{base}/news", policy())


def test_oversized_pages_are_refused():
    with serve({"/big": (200, "text/plain", b"a " * 5000)}) as base, pytest.raises(FetchRefused, match="limit"):
        load_article(f"{base}/big", policy(allow_private=True, max_bytes=1000))


def test_http_errors_and_unreachable_hosts_are_clear_failures():
    with serve({}) as base, pytest.raises(FetchFailed, match="HTTP 404"):
        load_article(f"{base}/missing", LOOPBACK_OK)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(FetchFailed, match="cannot fetch"):
        load_article(f"http://127.0.0.1:{closed_port}/x", LOOPBACK_OK)


def test_slow_servers_time_out():
    with serve({"/slow": (200, "text/plain", b"late")}, delay_s=1.5) as base, pytest.raises(FetchFailed):
        load_article(f"{base}/slow", policy(allow_private=True, timeout_s=0.3))


PUBLIC = "93.184.216.34"


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_fetched(monkeypatch):
    """DNS rebinding: the first answer is public, every later one 127.0.0.1. Kutip must connect to
    the address it checked, never to what a second lookup says."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    lookups, connects = [], []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    def connect(sock, address):
        connects.append(address[0])
        if address[0] == PUBLIC:  # stands in for the public host, which a test cannot reach
            raise ConnectionRefusedError("refused")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket.socket, "connect", connect)
    hits: list[str] = []
    with serve({"/news": (200, "text/html", PAGE)}, requests=hits) as base:
        port = base.rsplit(":", 1)[1]
        with pytest.raises(FetchFailed):
            load_article(f"http://rebind.example:{port}/news", policy(timeout_s=2))
    assert hits == [], "the page was fetched from loopback"
    assert connects and set(connects) == {PUBLIC}


def test_the_checked_address_is_used_with_the_original_host_header(monkeypatch):
    """The pinned connection still names the site: Host header (and SNI for https) are the hostname."""
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "news.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 80))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    hits: list[str] = []
    with serve({"/news": (200, "text/html", PAGE)}, requests=hits) as base:
        port = base.rsplit(":", 1)[1]
        article = load_article(f"http://news.example:{port}/news", LOOPBACK_OK)
    assert article.origin == f"http://news.example:{port}/news"
    assert hits == [f"news.example:{port} /news"]


def test_https_to_the_checked_address_verifies_the_certificate_of_the_hostname(monkeypatch, tmp_path):
    """SNI and certificate checks use the hostname although the connection goes to the pinned IP."""
    import httpx

    server_tls, client_tls = self_signed(tmp_path, "news.example")
    real_getaddrinfo, real_client = socket.getaddrinfo, httpx.AsyncClient

    def resolver(host, port, *args, **kwargs):
        if host in ("news.example", "other.example"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 443))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr("index.fetch.httpx.AsyncClient", lambda **kw: real_client(verify=client_tls, **kw))
    hits: list[str] = []
    with serve({"/news": (200, "text/html", PAGE)}, requests=hits, tls=server_tls) as base:
        port = base.rsplit(":", 1)[1]
        article = load_article(f"https://news.example:{port}/news", LOOPBACK_OK)
        assert article.origin == f"https://news.example:{port}/news"
        assert hits == [f"news.example:{port} /news"]
        # The same server under a name its certificate does not carry is refused.
        with pytest.raises(FetchFailed, match="certificate|CERTIFICATE|hostname"):
            load_article(f"https://other.example:{port}/news", LOOPBACK_OK)


def test_a_slow_drip_is_cut_off_at_the_total_deadline():
    import time

    from tests.local_http import drip

    with drip(every_s=0.2, chunks=25) as base:  # 5 s in all
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="2.0 s"):
            load_article(f"{base}/drip", policy(allow_private=True, timeout_s=2))
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"the fetch ran {elapsed:.1f} s past a 2 s deadline"


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://[::1/x", "http://example.org:port/"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(FetchRefused, match="malformed"):
        load_article(url, policy())


def test_a_binary_download_is_refused():
    body = b"%PDF-1.7\n\x00\x01\x02" + b"stream " * 100
    with serve({"/a.pdf": (200, "application/pdf", body)}) as base, pytest.raises(ArticleError, match="binary"):
        load_article(f"{base}/a.pdf", LOOPBACK_OK)


# --- a gzip bomb (issue 22, "Also to test"): the byte limit counts decompressed bytes, as they come ---


def _compressed(data: bytes, encoding: str, repeat: int = 1) -> bytes:
    """`data` repeated `repeat` times, compressed as HTTP's `encoding` (gzip; deflate is zlib-wrapped)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
    return b"".join([packer.compress(data) for _ in range(repeat)] + [packer.flush()])


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_refused_by_the_decompressed_size_without_inflating_it(encoding):
    bomb = _compressed(bytes(1 << 20), encoding, repeat=200)  # 200 MiB of zeros
    assert len(bomb) < 300_000  # about 200 KB on the wire, far under the limit
    limit = policy().max_bytes
    with serve({"/bomb.html": (200, "text/html", bomb)}, headers={"Content-Encoding": encoding}) as base:
        tracemalloc.start()
        try:
            with pytest.raises(FetchRefused, match=f"over the {limit}-byte limit"):
                load_article(f"{base}/bomb.html", replace(LOOPBACK_OK, timeout_s=10))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Decoding a whole network read at once held about 64 MB (a 64 KB read of zeros inflates 1,000-fold).
    assert peak < 3 * limit, f"{peak / 1e6:.0f} MB held for a {limit / 1e6:.0f} MB limit"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw deflate"])
def test_a_compressed_page_under_the_limit_is_read(encoding):
    if encoding == "raw deflate":  # what some servers send as "deflate"
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, header = packer.compress(PAGE) + packer.flush(), "deflate"
    else:
        body, header = _compressed(PAGE, encoding), encoding
    with serve({"/news": (200, "text/html", body)}, headers={"Content-Encoding": header}) as base:
        article = load_article(f"{base}/news", LOOPBACK_OK)
    assert "Petugas mengatakan 40 kapal menunggu di luar." in [s.text for s in article.sentences]


def test_an_unknown_content_encoding_is_a_clear_failure():
    served = serve({"/news": (200, "text/html", PAGE)}, headers={"Content-Encoding": "br"})
    with served as base, pytest.raises(FetchFailed, match="encoding"):
        load_article(f"{base}/news", LOOPBACK_OK)


def test_a_gzip_body_of_several_members_is_read_whole():
    half = len(PAGE) // 2
    body = _compressed(PAGE[:half], "gzip") + _compressed(PAGE[half:], "gzip")
    with serve({"/news": (200, "text/html", body)}, headers={"Content-Encoding": "gzip"}) as base:
        article = load_article(f"{base}/news", LOOPBACK_OK)
    assert "Petugas mengatakan 40 kapal menunggu di luar." in [s.text for s in article.sentences]


def test_a_broken_compressed_body_is_a_clear_failure():
    broken = _compressed(PAGE, "gzip")[:10] + b"\xff" * 40  # a gzip header, then no valid deflate block
    served = serve({"/news": (200, "text/html", broken)}, headers={"Content-Encoding": "gzip"})
    with served as base, pytest.raises(FetchFailed, match="compressed body is broken"):
        load_article(f"{base}/news", LOOPBACK_OK)


def test_a_compressed_page_inflated_in_many_pieces_is_read_whole():
    paragraphs = [f"<p>Kalimat nomor {i} tentang pelabuhan yang dibuka kembali hari ini.</p>" for i in range(1500)]
    page = f"<html><body><article>{''.join(paragraphs)}</article></body></html>".encode()
    assert len(page) > 100_000  # several of the inflater's 64 KiB pieces
    with serve({"/news": (200, "text/html", _compressed(page, "gzip"))}, headers={"Content-Encoding": "gzip"}) as base:
        article = load_article(f"{base}/news", replace(LOOPBACK_OK, timeout_s=20))
    assert len(article.sentences) == len(paragraphs)
    assert article.sentences[-1].text == "Kalimat nomor 1499 tentang pelabuhan yang dibuka kembali hari ini."


# --- a 10 MB .html (issue 22, "Also to test"): refused with a size error, before it is parsed ----------


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/octet-stream"])
def test_a_ten_megabyte_page_is_refused_with_the_size_error_before_it_is_parsed(monkeypatch, content_type):
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *a, **k: pytest.fail("parsed a page over the limit"))
    page = b"<html><body><article>" + b"<p>The harbour held 40 ships on Monday.</p>\n" * 230_000 + b"</article>"
    assert len(page) > 2 * policy().max_bytes  # 10 MB, twice the default KUTIP_FETCH_MAX_BYTES
    with serve({"/big.html": (200, content_type, page)}) as base:
        with pytest.raises(FetchTooLarge, match=f"is {len(page)} bytes, over the 5000000-byte limit") as refused:
            load_article(f"{base}/big.html", LOOPBACK_OK)  # by its Content-Length
        # Counted as it arrives when the length is not declared: a gzip body (Content-Length is the wire's).
        served = serve(
            {"/big.html": (200, content_type, _compressed(page, "gzip"))}, headers={"Content-Encoding": "gzip"}
        )
        with served as gzipped, pytest.raises(FetchTooLarge, match="is over the 5000000-byte limit"):
            load_article(f"{gzipped}/big.html", LOOPBACK_OK)
    assert isinstance(refused.value, ArticleTooLarge) and refused.value.limit == 5_000_000


# --- a misleading MIME type (issue 22, "Also to test"): the body decides, not the Content-Type --------


@pytest.mark.parametrize(
    "body, match",
    [
        (b"%PDF-1.4\n(The harbour held 40 ships.) Tj\n" * 20, "is a PDF, not text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"Kalimat. " * 50, "binary"),
    ],
    ids=["an ASCII-only PDF", "a PNG"],
)
@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"])
def test_a_document_served_as_text_or_html_is_refused_by_what_it_is(body, match, content_type):
    with serve({"/a.html": (200, content_type, body)}) as base, pytest.raises(ArticleError, match=match):
        load_article(f"{base}/a.html", LOOPBACK_OK)


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
def test_an_html_page_served_as_another_type_is_still_read_as_html(content_type):
    with serve({"/news": (200, content_type, PAGE)}) as base:
        article = load_article(f"{base}/news", LOOPBACK_OK)
    texts = [s.text for s in article.sentences]
    assert "Petugas mengatakan 40 kapal menunggu di luar." in texts
    assert not any("<p>" in t or "Beranda" in t or "Hak cipta" in t for t in texts)  # markup and page chrome gone
