"""Fetches an article URL safely: http(s) only, public addresses only, one deadline, and a size cap.

Every hop (the first URL and each redirect) is resolved once, every address it resolves to is checked,
and the connection goes to a checked address, with the hostname kept in the Host header and in TLS
SNI. A second lookup by the HTTP client could answer differently (DNS rebinding) and is never made.
The whole download, redirects included, runs under one asyncio deadline: a server that drips one
byte at a time is cut off at `timeout_s`, not at `timeout_s` per read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from base.errors import FetchFailed, FetchRefused

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5
_USER_AGENT = "Kutip/0.1 (article QA)"


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
            "GET", target, headers={"User-Agent": _USER_AGENT, **headers}, extensions=extensions
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
                raise FetchRefused(f"{url} is {declared} bytes, over the {policy.max_bytes}-byte limit")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > policy.max_bytes:
                    raise FetchRefused(f"{url} is over the {policy.max_bytes}-byte limit")
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
