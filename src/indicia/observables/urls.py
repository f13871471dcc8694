"""Canonical URLs per RFC 3986 section 6.2.2 (syntax-based normalisation) and 6.2.3 (scheme-based).

Scheme and host are lower case, the host is canonical as a domain or IP address, the default
port is dropped, percent-encoding uses upper-case hex and unreserved characters are decoded,
characters a URI cannot hold (non-ASCII, spaces, ``|``...) are percent-encoded as UTF-8
(RFC 3987 3.1), dot segments are removed, an empty path is ``/``, the fragment is dropped
(it never leaves the client) and the query is kept.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from indicia.errors import ObservableError
from indicia.observables.names import normalize_domain
from indicia.observables.net import looks_like_ipv4, normalize_ipv4, normalize_ipv6

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_FIX_RE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_PORT_RE = re.compile(r"[0-9]{1,5}", re.ASCII)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def normalize_url(raw: str) -> str:
    """Return the canonical form of an absolute URL with a host."""
    value = raw.strip()
    match = _SCHEME_RE.match(value)
    if match is None:
        raise ObservableError(raw, _missing_scheme_rule(value))

    scheme = match.group(1).lower()
    rest = value[match.end() :]
    rest, _, _fragment = rest.partition("#")
    authority, path, query = _split_rest(rest)

    authority = _normalize_authority(raw, scheme, authority)
    path = _remove_dot_segments(_normalize_percent(raw, path)) or "/"
    if query is not None:
        path = f"{path}?{_normalize_percent(raw, query)}"
    return f"{scheme}://{authority}{path}"


def _missing_scheme_rule(value: str) -> str:
    if looks_like_ipv4(value):
        return "a URL given as an IPv4 address; a URL needs a scheme and a host (http://...)"
    if ":" not in value and "/" not in value and "." in value:
        return "a URL given as a domain name; a URL needs a scheme and a host (http://...)"
    return "a URL needs a scheme and a host (scheme://host/path, RFC 3986 3)"


def _split_rest(rest: str) -> tuple[str, str, str | None]:
    # RFC 3986 3.2: the authority ends at the first '/', '?' or '#'.
    cut = len(rest)
    for mark in "/?":
        index = rest.find(mark)
        if index != -1 and index < cut:
            cut = index
    authority, tail = rest[:cut], rest[cut:]
    path, question, query = tail.partition("?")
    return authority, path, query if question else None


def _normalize_authority(raw: str, scheme: str, authority: str) -> str:
    userinfo, at, host_port = authority.rpartition("@")
    host, port = _split_port(raw, host_port)
    host = _normalize_host(raw, host)

    # RFC 3986 6.2.3: an empty port or the scheme's default port is the same as none.
    if port and int(port) != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{int(port)}"
    if at:
        return f"{_normalize_percent(raw, userinfo)}@{host}"
    return host


def _split_port(raw: str, host_port: str) -> tuple[str, str]:
    if host_port.startswith("["):
        host, bracket, after = host_port.partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ObservableError(
                raw, "a URL's IPv6 host must be written [address] (RFC 3986 3.2.2)"
            )
        host, port = host + "]", after[1:]
    else:
        host, _, port = host_port.partition(":")

    if port and (not _PORT_RE.fullmatch(port) or int(port) > 65535):
        raise ObservableError(raw, "a URL port must be a number from 0 to 65535")
    return host, port


def _normalize_host(raw: str, host: str) -> str:
    if not host:
        raise ObservableError(raw, "a URL needs a host (RFC 3986 3.2.2)")
    try:
        if host.startswith("["):
            address = normalize_ipv6(host[1:-1])
            return address if "." in address else f"[{address}]"
        if looks_like_ipv4(host):
            return normalize_ipv4(host)
        # RFC 3986 3.2.2: a reg-name may be percent-encoded UTF-8; compare it decoded.
        return normalize_domain(unquote(host, errors="strict") if "%" in host else host)
    except (ObservableError, UnicodeDecodeError) as exc:
        rule = exc.rule if isinstance(exc, ObservableError) else "bad percent-encoding"
        raise ObservableError(raw, f"the URL host is not valid: {rule}") from None


def _normalize_percent(raw: str, part: str) -> str:
    if part.isascii() and "%" not in part and _FIX_RE.search(part) is None:
        return part
    try:
        return _FIX_RE.sub(_fix_escape, part)
    except UnicodeEncodeError:
        raise ObservableError(raw, "a URL holds characters that are not valid Unicode") from None


def _fix_escape(match: re.Match[str]) -> str:
    text = match.group()
    if text[0] == "%" and len(text) == 3:
        # RFC 3986 6.2.2.1 and 6.2.2.2: upper-case hex; decode unreserved characters.
        char = chr(int(text[1:], 16))
        return char if char in _UNRESERVED else text.upper()
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, for a path that is empty or starts with '/' (it follows an authority):
    # a dot segment is a whole segment, so it always follows a '/'.
    if "/." not in path:
        return path
    segments = path.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments and segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)
