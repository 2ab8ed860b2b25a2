"""Download an article page without letting the URL reach what it must not (OWASP SSRF).

An admin's ``ragbot add URL`` runs on the bot's machine: a page that redirects to
``http://127.0.0.1:…/secret`` or to a cloud metadata address would have that answer
indexed and quoted to any user. So, on every hop (the URL and each redirect):

- only ``http``/``https``, and no credentials in the URL (they would be printed);
- the host is resolved here and every address it resolves to must be public: loopback,
  private, link-local (metadata), shared, multicast, reserved and unspecified addresses are
  refused, IPv4 and IPv6 alike, including IPv4 inside IPv6 (mapped, 6to4, Teredo, NAT64);
- the connection goes to the address that was checked, so a second DNS answer cannot
  swap it (DNS rebinding). TLS still verifies the certificate against the host name.

One overall deadline bounds the whole download (resolution, connection, headers, every
read, redirects included), not each read: a server dripping a byte every few seconds is
cut off. The size cap holds on the bytes actually received and, for gzip/deflate, on the
bytes after decompression (a gzip bomb stops at the cap). ``allow_private`` turns the
address check off, for tests and intranets that mean it; ``allowed_hosts`` does for
the host names listed only (an intranet news server).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BadArticle
from ..options import FetchSettings

if TYPE_CHECKING:
    import httpcore
    import httpx

USER_AGENT = "ragbot/0.1 (+article ingestion)"
REDIRECTS = (301, 302, 303, 307, 308)
# Content types that can be articles, and the file suffix each is stored under.
ARTICLE_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
}
# IPv6 prefixes that carry an IPv4 address: the IPv4 one is checked too.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class Page:
    url: str  # where the body came from, after redirects (never with credentials)
    content_type: str
    body: bytes


class _Refused(Exception):
    """A hop refused by policy; becomes a :class:`BadArticle` naming the URL asked for."""


def display_url(url: str) -> str:
    """``url`` fit to print: any ``user:password@`` replaced by ``***@``.

    A password with an unescaped ``/`` (``http://me:pa/ss@host/``) is still one: whatever
    precedes an ``@`` of the path is hidden when a ``:`` comes before it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    head = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority = head.split("/", 1)[0]
    if "@" in authority:
        cut = authority.rindex("@")
    elif "@" in head and ":" in head[: head.rindex("@")]:
        cut = head.rindex("@")
    else:
        return url
    return f"{scheme}{sep}***{rest[cut:]}"


def fetch(url: str, settings: FetchSettings) -> Page:
    """Download ``url`` under the rules above; :class:`BadArticle` with a one-line reason otherwise."""
    import httpcore

    label = display_url(url)
    deadline = time.monotonic() + settings.timeout
    backend = _guarded_backend(deadline, allow_private=settings.allow_private, allowed_hosts=settings.allowed_hosts)
    try:
        target = _checked_url(url)
        with httpcore.ConnectionPool(network_backend=backend, retries=0) as pool:
            for _ in range(settings.max_redirects + 1):
                left = _left(deadline)
                extensions = {"timeout": {"connect": left, "read": left, "write": left, "pool": left}}
                headers = [
                    (b"User-Agent", USER_AGENT.encode()),
                    (b"Accept", b"text/html, application/xhtml+xml, text/plain, text/markdown;q=0.9"),
                    (b"Accept-Encoding", b"gzip, deflate"),
                ]
                with pool.stream("GET", str(target), headers=headers, extensions=extensions) as response:
                    if response.status in REDIRECTS:
                        location = _header(response.headers, b"location")
                        if not location:
                            raise _Refused(f"HTTP {response.status} redirect without a Location")
                        target = _checked_url(location, base=target)
                        continue
                    if response.status >= 400:
                        raise _Refused(f"download failed: HTTP {response.status}")
                    if response.status != 200:
                        raise _Refused(f"download failed: unexpected HTTP {response.status}")
                    kind = _header(response.headers, b"content-type").split(";")[0].strip().lower()
                    if kind not in ARTICLE_TYPES:  # refused before the body is downloaded
                        raise _Refused(f"not an article page (content type {kind or 'unknown'!r})")
                    body = _read_body(response, settings.max_bytes, deadline)
                    return Page(url=str(target), content_type=kind, body=body)
            raise _Refused(f"more than {settings.max_redirects} redirects")
    except _Refused as err:
        raise BadArticle(label, str(err)) from None
    except httpcore.TimeoutException:
        raise BadArticle(label, f"download not finished within {settings.timeout:g} s (the overall limit)") from None
    except (
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
        httpcore.ProxyError,
        OSError,
    ) as err:
        raise BadArticle(label, f"download failed: {type(err).__name__}") from None


def _checked_url(url: str, base: httpx.URL | None = None) -> httpx.URL:
    import httpx

    try:
        target = base.join(url) if base is not None else httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        raise _Refused("not a valid URL") from None
    hop = "redirect to a" if base is not None else "a"
    if target.scheme not in ("http", "https"):
        raise _Refused(f"{hop} {target.scheme or 'relative'!r} URL; only http and https are fetched")
    if target.userinfo:
        raise _Refused(f"{hop} URL with credentials (user:password@); refused, never sent")
    if not target.host:
        raise _Refused(f"{hop} URL without a host")
    return target.copy_with(fragment=None)


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


def _read_body(response: httpcore.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, decompressed, with the size cap enforced on what arrives (never on what is announced)."""
    announced = _header(response.headers, b"content-length")
    if announced.isdigit() and int(announced) > max_bytes:
        raise _Refused(f"page larger than {max_bytes} bytes ({announced} announced); refused")
    encoding = _header(response.headers, b"content-encoding").lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        # 16+: gzip header; 32+: zlib or gzip header, detected.
        decoder: Any = zlib.decompressobj((16 if "gzip" in encoding else 32) + zlib.MAX_WBITS)
    elif encoding in ("", "identity"):
        decoder = None
    else:
        raise _Refused(f"content encoding {encoding!r} is not supported")
    parts: list[bytes] = []
    received = size = 0
    for chunk in response.iter_stream():
        _left(deadline)
        received += len(chunk)
        if received > max_bytes:
            raise _Refused(f"page larger than {max_bytes} bytes; refused")
        if decoder is not None:
            try:
                chunk = decoder.decompress(chunk, max_bytes + 1 - size)
            except zlib.error:
                raise _Refused(f"{encoding} data that does not decompress") from None
            if decoder.unconsumed_tail:
                raise _Refused(f"page larger than {max_bytes} bytes once decompressed; refused")
        size += len(chunk)
        if size > max_bytes:
            raise _Refused(f"page larger than {max_bytes} bytes once decompressed; refused")
        parts.append(chunk)
    if decoder is not None:
        if not decoder.eof:
            raise _Refused(f"{encoding} data cut short")
        parts.append(decoder.flush())
        if size + len(parts[-1]) > max_bytes:
            raise _Refused(f"page larger than {max_bytes} bytes once decompressed; refused")
    return b"".join(parts)


def _left(deadline: float) -> float:
    import httpcore

    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("overall download deadline")
    return left


# --- addresses -----------------------------------------------------------------------


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` must not be fetched from (e.g. "loopback"), or None for a public address."""
    embedded: list[ipaddress.IPv4Address] = []
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)  # ::ffff:a.b.c.d reaches exactly a.b.c.d
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64 or ip in _NAT64_LOCAL:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for candidate in (*embedded, ip):  # the IPv4 inside first: it says what is really reached
        for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
            if getattr(candidate, f"is_{name}"):
                return name.replace("_", "-")
        if not candidate.is_global:
            return "non-public"
    return None


def _resolve(host: str, port: int, deadline: float) -> list[str]:
    """Addresses of ``host`` (getaddrinfo, in a thread so the deadline holds while DNS hangs)."""
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as err:
            found.append(err)

    worker = threading.Thread(target=lookup, name="ragbot-dns", daemon=True)
    worker.start()
    worker.join(_left(deadline))
    if not found:  # the deadline passed while resolving
        import httpcore

        raise httpcore.ConnectTimeout("overall download deadline")
    if isinstance(found[0], OSError):
        raise _Refused(f"cannot resolve host {host!r}")
    addresses = list(dict.fromkeys(info[4][0] for info in found[0]))
    if not addresses:
        raise _Refused(f"cannot resolve host {host!r}")
    return addresses


def _network_classes() -> tuple[type, type]:
    import httpcore

    class DeadlineStream(httpcore.NetworkStream):
        """A connection whose every operation ends by the overall deadline."""

        def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
            self._inner = inner
            self._deadline = deadline

        def _timeout(self, timeout: float | None) -> float:
            left = _left(self._deadline)
            return left if timeout is None else min(timeout, left)

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, self._timeout(timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, self._timeout(timeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
            upgraded = self._inner.start_tls(ssl_context, server_hostname, self._timeout(timeout))
            return DeadlineStream(upgraded, self._deadline)

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class GuardedBackend(httpcore.NetworkBackend):
        """Resolves, checks every address, connects to a checked one: nothing else decides where."""

        def __init__(self, deadline: float, *, allow_private: bool, allowed_hosts: frozenset[str]) -> None:
            self._inner = httpcore.SyncBackend()
            self._deadline = deadline
            self._allow_private = allow_private
            self._allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            addresses = _resolve(host, port, self._deadline)
            if not self._allow_private and host.lower() not in self._allowed_hosts:
                for address in addresses:
                    problem = address_problem(ipaddress.ip_address(address.split("%", 1)[0]))
                    if problem:
                        kind = f"{'an' if problem[0] in 'aeiou' else 'a'} {problem} address"
                        what = f"{host} is {kind}"
                        if host != address:
                            what = f"{host} resolves to {kind} ({address})"
                        raise _Refused(f"{what}; refused (RAGBOT_ALLOW_PRIVATE_URLS=true allows it)")
            last: Exception | None = None
            for address in addresses:
                left = _left(self._deadline)
                try:
                    stream = self._inner.connect_tcp(
                        address,
                        port,
                        timeout=left if timeout is None else min(timeout, left),
                        local_address=local_address,
                        socket_options=socket_options,
                    )
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                    last = err
                    continue
                return DeadlineStream(stream, self._deadline)
            assert last is not None
            raise last

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    return DeadlineStream, GuardedBackend


def _guarded_backend(deadline: float, *, allow_private: bool, allowed_hosts: frozenset[str]) -> httpcore.NetworkBackend:
    return _network_classes()[1](deadline, allow_private=allow_private, allowed_hosts=allowed_hosts)
