"""Fetches an article URL safely: http(s) only, public addresses only, one deadline, and a size cap.

Every hop (the first URL and each redirect) is resolved once, every address it resolves to is checked,
and the connection goes to a checked address, with the hostname kept in the Host header and in TLS
SNI. A second lookup by the HTTP client could answer differently (DNS rebinding) and is never made.
The whole download, redirects included, runs under one asyncio deadline: a server that drips one
byte at a time is cut off at `timeout_s`, not at `timeout_s` per read. The size cap counts the body
after decompression, inflated a bounded piece at a time, so a compression bomb is refused at the cap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from base.errors import FetchFailed, FetchRefused, FetchTooLarge

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5
_USER_AGENT = "Kutip/0.1 (article QA)"
# The encodings _Inflater decodes; httpx would offer brotli or zstd too once their packages are installed,
# and inflate a whole network read at once (a 64 KB read of a bomb is 64 MB).
_ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 1 << 16  # inflated at a time


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


class _Inflater:
    """Decodes a body's Content-Encoding (none, gzip or deflate) and counts the decoded bytes: at most
    `limit` + 1 bytes are ever inflated, whatever the ratio, before FetchRefused."""

    def __init__(self, url: str, content_encoding: str, limit: int) -> None:
        self._url, self._limit, self._total = url, limit, 0
        encoding = content_encoding.strip().lower()
        if encoding in ("", "identity"):
            self._wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = zlib.MAX_WBITS | 16
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped, as the RFC says; raw deflate is tried on a bad header
        else:
            raise FetchFailed(f"{url} is sent in an encoding Kutip cannot decode ({content_encoding[:50]!r})")
        self._decompressor = zlib.decompressobj(self._wbits) if self._wbits is not None else None
        self._started = False

    def _count(self, piece: bytes) -> bytes:
        self._total += len(piece)
        if self._total > self._limit:
            raise FetchTooLarge(self._url, self._total, self._limit, complete=False)
        return piece

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of `raw`, at most 64 KiB each, counted against the limit as they are inflated."""
        if self._decompressor is None:
            yield self._count(raw)
            return
        while True:
            size = min(self._limit - self._total + 1, _PIECE)
            try:
                piece = self._decompressor.decompress(raw, size)
            except zlib.error as exc:
                if self._wbits == zlib.MAX_WBITS and not self._started:
                    self._wbits = -zlib.MAX_WBITS  # "deflate" sent without its zlib header, as some servers do
                    self._decompressor = zlib.decompressobj(self._wbits)
                    continue
                raise FetchFailed(f"{self._url}: its compressed body is broken ({exc})") from exc
            self._started = True
            yield self._count(piece)
            if self._decompressor.eof:
                # gzip allows several members one after another; other bytes after the end are ignored.
                rest = self._decompressor.unused_data
                if self._wbits != zlib.MAX_WBITS | 16 or not rest.startswith(b"\x1f\x8b"):
                    return
                self._decompressor, raw = zlib.decompressobj(self._wbits), rest
                continue
            raw = self._decompressor.unconsumed_tail
            if not raw and len(piece) < size:
                return  # the input is used up, and no inflated output waits inside the decompressor


def _split(url: str) -> tuple[SplitResult, str, int | None]:
    """(parts, hostname, port) of `url`; a malformed URL (bad port, broken IPv6 literal) is refused."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:
        raise FetchRefused(f"malformed URL {url[:200]!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}")
    if not hostname:
        raise FetchRefused(f"the URL has no host: {url[:200]}")
    return parts, hostname, port


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, and that a host may route to it:
# NAT64's well-known prefix (RFC 6052; a DNS64 resolver on an IPv6-only host answers with these for every
# IPv4-only site, so a public one must pass), SIIT's IPv4-translated form (RFC 2765), the deprecated
# IPv4-compatible form (RFC 4291), and IPv4-mapped. Each is judged by the IPv4 address it carries.
_EMBEDS_LAST_32 = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0/96"),
)
# Refused whatever they carry, as IANA lists them not globally reachable: Teredo (its client address is
# obfuscated and its relays can reach anything), NAT64's local-use prefix (RFC 8215; the IPv4 address
# may sit at any of six positions, chosen by the operator), and the deprecated site-local prefix.
_NEVER_PUBLIC = (
    ipaddress.ip_network("2001::/32"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("fec0::/10"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (6to4, NAT64, IPv4-translated, -compatible or -mapped), if any."""
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _EMBEDS_LAST_32):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a connection to `address` can only reach the public internet: globally routable, not
    multicast, and, for an IPv6 form that carries an IPv4 address, that IPv4 address public too."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def check_url(url: str, policy: FetchPolicy) -> list[str]:
    """The checked addresses to connect to for `url`, resolved once.

    Refuses schemes other than http(s), malformed URLs, and hosts with any non-public address.
    """
    _, hostname, port = _split(url)
    try:
        infos = socket.getaddrinfo(hostname, port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {hostname}: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not policy.allow_private and not is_public(address):
            raise FetchRefused(f"{hostname} resolves to a non-public address ({address}); refused")
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise FetchFailed(f"cannot resolve {hostname}: no address")
    return addresses


def _pinned(url: str, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, object]]:
    """The request for `url` sent to `address`: the URL's host swapped for the IP, the name kept for the
    server (Host header) and for certificate checks (SNI)."""
    target = httpx.URL(url)
    headers = {"Host": target.netloc.decode("ascii")}
    extensions: dict[str, object] = (
        {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
    )
    return target.copy_with(host=address), headers, extensions


async def _get(client: httpx.AsyncClient, url: str, policy: FetchPolicy) -> tuple[str | None, Fetched | None]:
    """One hop: (redirect target, None) or (None, the page)."""
    addresses = check_url(url, policy)
    attempts = [_pinned(url, a) for a in addresses]
    for i, (target, headers, extensions) in enumerate(attempts):
        request = client.build_request(
            "GET",
            target,
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": _ACCEPT_ENCODING, **headers},
            extensions=extensions,
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.ConnectError:
            if i + 1 < len(attempts):
                continue  # the next checked address of the same host
            raise
        try:
            if response.is_redirect and "location" in response.headers:
                return urljoin(url, response.headers["location"]), None
            if response.status_code >= 400:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > policy.max_bytes:
                raise FetchTooLarge(url, declared, policy.max_bytes, complete=True)
            # Raw bytes, decoded here: httpx's own decoding inflates each read whole before it can be counted.
            inflater = _Inflater(url, response.headers.get("content-encoding", ""), policy.max_bytes)
            body = bytearray()
            async for raw in response.aiter_raw():
                for piece in inflater.feed(raw):
                    body.extend(piece)
            encoding = response.encoding or "utf-8"
            logger.info("fetched %s (%d bytes)", url, len(body))
            text = body.decode(encoding, errors="replace")
            return None, Fetched(url=url, body=text, content_type=response.headers.get("content-type", ""))
        finally:
            await response.aclose()
    raise FetchFailed(f"cannot fetch {url}: no address to connect to")  # check_url returns at least one


async def _fetch(url: str, policy: FetchPolicy) -> Fetched:
    try:
        async with asyncio.timeout(policy.timeout_s):
            async with httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False) as client:
                for _ in range(_MAX_REDIRECTS + 1):
                    try:
                        redirect, fetched = await _get(client, url, policy)
                    except (httpx.HTTPError, httpx.InvalidURL) as exc:
                        raise FetchFailed(f"cannot fetch {url}: {exc.__class__.__name__}: {exc}") from exc
                    if fetched is not None:
                        return fetched
                    url = redirect or url
    except TimeoutError as exc:
        raise FetchFailed(f"{url} did not finish within {policy.timeout_s:.1f} s") from exc
    raise FetchFailed(f"{url}: more than {_MAX_REDIRECTS} redirects")


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET `url`, following redirects by hand so that every hop is checked, all within `policy.timeout_s`."""
    _split(url)  # a malformed URL is refused before anything starts
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_fetch(url, policy))
    # Called from inside an event loop's thread: run on a loop of its own instead of nesting.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _fetch(url, policy)).result()
