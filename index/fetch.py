"""Fetches an article URL safely: http(s) only, public addresses only, with a timeout and a size cap."""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from base.errors import FetchFailed, FetchRefused

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchPolicy:
    """Limits on fetching; built from Settings (bot/wiring/factory.py), where the defaults live."""

    timeout_s: float
    max_bytes: int
    allow_private: bool


@dataclass(frozen=True)
class Fetched:
    url: str
    body: str
    content_type: str


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse schemes other than http(s), and hosts resolving to non-public addresses unless allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}")
    if not parts.hostname:
        raise FetchRefused(f"the URL has no host: {url}")
    if policy.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 0, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailed(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise FetchRefused(f"{parts.hostname} resolves to a non-public address ({address}); refused")


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET `url`, following redirects by hand so that every hop is checked."""
    with httpx.Client(timeout=policy.timeout_s, follow_redirects=False) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            check_url(url, policy)
            try:
                with client.stream("GET", url, headers={"User-Agent": "Kutip/0.1 (article QA)"}) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise FetchFailed(f"{url} answered HTTP {response.status_code}")
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > policy.max_bytes:
                        raise FetchRefused(f"{url} is {declared} bytes, over the {policy.max_bytes}-byte limit")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > policy.max_bytes:
                            raise FetchRefused(f"{url} is over the {policy.max_bytes}-byte limit")
                    encoding = response.encoding or "utf-8"
                    logger.info("fetched %s (%d bytes)", url, len(body))
                    return Fetched(
                        url=url,
                        body=body.decode(encoding, errors="replace"),
                        content_type=response.headers.get("content-type", ""),
                    )
            except httpx.HTTPError as exc:
                raise FetchFailed(f"cannot fetch {url}: {exc.__class__.__name__}: {exc}") from exc
    raise FetchFailed(f"{url}: more than {_MAX_REDIRECTS} redirects")
