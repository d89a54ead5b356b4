"""Pure checks for the live service's network inputs, independent of any web framework:
which Host and Origin headers to accept, whether a token matches, and whether a line sent
to the CSV port is an HTTP request (a browser page can POST to any loopback port).

The rules are the console's (``opencram.console.app``): a browser page of another site
sends its own ``Origin``, so a websocket whose Origin is not the server it connects to is
refused; on loopback only the loopback names are accepted in ``Host`` (a page whose name
was re-pointed at 127.0.0.1 still sends its own name: DNS rebinding); and off loopback a
token is required.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_HEADER = "x-opencram-token"
TOKEN_QUERY = "token"
MIN_TOKEN_CHARS = 8

# an HTTP/1.x request line ("POST / HTTP/1.1"), or a header line a client sends
_HTTP_LINE = re.compile(
    rb"^\s*(?:(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PRI)\s+\S+"
    rb"(?:\s+HTTP/\d(?:\.\d)?)?\s*$"
    rb"|[A-Za-z][A-Za-z0-9-]*:\s.*$"
    rb"|.*\sHTTP/\d(?:\.\d)?\s*$)",
    re.IGNORECASE,
)


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    return (urlsplit("//" + host_header.strip()).hostname or "").lower()


def host_allowed(host_header: str | None, names: frozenset[str] | None) -> bool:
    """True when ``names`` is None (any host) or the Host header names one of them."""
    if names is None:
        return True
    return host_header is not None and host_name(host_header) in names


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """True unless the request names an Origin other than the host it was sent to (no
    Origin: not sent by a browser page, e.g. a command-line client)."""
    if origin is None:
        return True
    if host_header is None:
        return False
    return urlsplit(origin.strip()).netloc.lower() == host_header.strip().lower()


def presented_token(headers, path: str) -> str | None:
    """The token a client presents: ``Authorization: Bearer``, the ``X-Opencram-Token``
    header, or the ``token`` query parameter. ``headers`` is any mapping with ``get``."""
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    given = headers.get(TOKEN_HEADER)
    if given:
        return given.strip()
    values = parse_qs(urlsplit(path).query).get(TOKEN_QUERY)
    return values[0] if values else None


def token_matches(given: str | None, token: str | None) -> bool:
    """True when no token is required, or ``given`` is it (constant-time compare)."""
    if token is None:
        return True
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def trusted_hosts(listen_host: str) -> frozenset[str] | None:
    """Host names to accept when listening on ``listen_host``: the loopback names on
    loopback (DNS rebinding), else any (the token guards it)."""
    if is_loopback(listen_host):
        return LOOPBACK_NAMES | {listen_host.strip("[]").lower()}
    return None


def looks_like_http(line: bytes) -> bool:
    """True for an HTTP request line or header line (never a plot CSV line, whose cells
    are numbers and a sensor id separated by commas)."""
    return _HTTP_LINE.match(line) is not None
