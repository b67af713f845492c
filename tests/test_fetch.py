import socket
from dataclasses import replace

import pytest

from base.errors import FetchFailed, FetchRefused
from bot.wiring.factory import fetch_policy
from bot.wiring.settings import Settings
from index.fetch import FetchPolicy, check_url
from index.ingest import load_article
from tests.local_http import serve

PAGE = (
    b"<html><head><title>Pelabuhan dibuka</title></head><body><nav>Beranda | Dunia</nav><article>"
    b"<h1>Pelabuhan dibuka kembali</h1><p>Pelabuhan dibuka kembali pada hari Senin setelah dua minggu perbaikan.</p>"
    b"<p>Petugas mengatakan 40 kapal menunggu di luar.</p></article><footer>Hak cipta</footer></body></html>"
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
