"""Synthetic indicators and ECS events for the matching benchmark, seeded so runs repeat.

About 15% of the events carry a value that hits an indicator, across every kind: exact IPv4,
an address inside a CIDR, an exact domain, a subdomain, a URL and a SHA-256.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from indicia.matching.types import IndicatorEntry

TLDS = ("com", "net", "org", "io", "info", "ru", "cn", "xyz", "top", "de")
VALID_FROM = datetime(2024, 1, 1, tzinfo=UTC)
EVENT_START = datetime(2024, 6, 1, tzinfo=UTC)
HIT_RATE = 0.15


@dataclass
class Universe:
    """The generated indicators, kept by kind so events can pick hits from them."""

    entries: list[IndicatorEntry] = field(default_factory=list)
    ipv4: list[str] = field(default_factory=list)
    cidrs: list[tuple[int, int]] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)


def _ipv4(number: int) -> str:
    return ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0))


def _public_ipv4(rng: random.Random) -> int:
    # Keep to 11.0.0.0-223.255.255.255 so no generated value is a placeholder or multicast.
    return rng.randrange(11 << 24, 224 << 24)


def _label(rng: random.Random, low: int = 4, high: int = 12) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=rng.randint(low, high)))


def _domain(rng: random.Random) -> str:
    return f"{_label(rng)}.{rng.choice(TLDS)}"


def _url(rng: random.Random, host: str) -> str:
    scheme = rng.choice(("http", "https"))
    return f"{scheme}://{host}/{_label(rng)}/{_label(rng, 3, 8)}.php?id={rng.randrange(10**6)}"


def _sha256(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def _cidr_prefix(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.002:
        return rng.randint(8, 15)
    if roll < 0.05:
        return rng.randint(16, 23)
    return rng.randint(24, 30)


def _add(universe: Universe, rng: random.Random, kind: str, value: str) -> None:
    until = None if rng.random() < 0.7 else VALID_FROM + timedelta(days=rng.randint(200, 900))
    universe.entries.append(
        IndicatorEntry(
            indicator_id=f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            kind=kind,
            value=value,
            valid_from=VALID_FROM + timedelta(seconds=rng.randrange(86400 * 30)),
            valid_until=until,
            confidence=rng.choice((None, 30, 60, 85, 100)),
        )
    )


def make_indicators(count: int, seed: int = 7) -> Universe:
    """Generate ``count`` indicators: 30% IPv4, 5% CIDR, 30% domains, 15% URLs, 20% SHA-256."""
    rng = random.Random(seed)
    universe = Universe()
    for _ in range(count):
        roll = rng.random()
        if roll < 0.30:
            value = _ipv4(_public_ipv4(rng))
            universe.ipv4.append(value)
            _add(universe, rng, "ipv4-addr", value)
        elif roll < 0.35:
            prefix = _cidr_prefix(rng)
            network = _public_ipv4(rng) & ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
            universe.cidrs.append((network, prefix))
            _add(universe, rng, "ipv4-addr", f"{_ipv4(network)}/{prefix}")
        elif roll < 0.65:
            value = _domain(rng)
            universe.domains.append(value)
            _add(universe, rng, "domain-name", value)
        elif roll < 0.80:
            value = _url(rng, _domain(rng))
            universe.urls.append(value)
            _add(universe, rng, "url", value)
        else:
            value = _sha256(rng)
            universe.sha256.append(value)
            _add(universe, rng, "sha256", value)
    return universe


def _hit_ip(universe: Universe, rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(universe.ipv4)
    network, prefix = rng.choice(universe.cidrs)
    return _ipv4(network + rng.randrange(1 << (32 - prefix)))


def _hit_domain(universe: Universe, rng: random.Random) -> str:
    domain = rng.choice(universe.domains)
    return domain if rng.random() < 0.5 else f"{_label(rng, 2, 6)}.{domain}"


def _network_event(universe: Universe, rng: random.Random, hit: bool) -> dict[str, object]:
    destination = _hit_ip(universe, rng) if hit else _ipv4(_public_ipv4(rng))
    return {
        "source": {"ip": _ipv4(_public_ipv4(rng)), "port": rng.randrange(1024, 65536)},
        "destination": {"ip": destination, "port": rng.choice((80, 443, 53, 22, 8080))},
        "event": {"category": "network", "action": "allow"},
    }


def _dns_event(universe: Universe, rng: random.Random, hit: bool) -> dict[str, object]:
    name = _hit_domain(universe, rng) if hit else f"www.{_domain(rng)}"
    return {
        "source": {"ip": _ipv4(_public_ipv4(rng))},
        "dns": {"question": {"name": name}, "type": "query"},
        "event": {"category": "network", "action": "dns-query"},
    }


def _http_event(universe: Universe, rng: random.Random, hit: bool) -> dict[str, object]:
    if hit and rng.random() < 0.5:
        url = rng.choice(universe.urls)
    elif hit:
        url = _url(rng, _hit_domain(universe, rng))
    else:
        url = _url(rng, _domain(rng))
    host = url.split("/")[2]
    return {
        "source": {"ip": _ipv4(_public_ipv4(rng))},
        "url": {"full": url, "domain": host},
        "http": {"request": {"method": "GET"}, "response": {"status_code": 200}},
        "event": {"category": "web", "action": "access"},
    }


def _file_event(universe: Universe, rng: random.Random, hit: bool) -> dict[str, object]:
    digest = rng.choice(universe.sha256) if hit else _sha256(rng)
    return {
        "host": {"ip": _ipv4(_public_ipv4(rng)), "name": f"ws-{rng.randrange(5000)}"},
        "file": {"hash": {"sha256": digest}, "name": f"{_label(rng)}.exe"},
        "event": {"category": "file", "action": "creation"},
    }


EVENT_MAKERS = ((0.40, _network_event), (0.65, _dns_event), (0.85, _http_event), (1.0, _file_event))


def make_events(universe: Universe, count: int, seed: int = 11) -> Iterator[dict[str, object]]:
    """Yield ``count`` nested ECS documents; about HIT_RATE of them carry an indicator's value."""
    rng = random.Random(seed)
    for number in range(count):
        roll = rng.random()
        maker = next(make for limit, make in EVENT_MAKERS if roll < limit)
        document = maker(universe, rng, rng.random() < HIT_RATE)
        stamp = EVENT_START + timedelta(milliseconds=number * 7)
        yield {"@timestamp": stamp.isoformat().replace("+00:00", "Z"), **document}


def write_events(universe: Universe, count: int, path: Path) -> None:
    """Write the events as ECS JSON lines."""
    with path.open("wb") as out:
        for document in make_events(universe, count):
            out.write(orjson.dumps(document) + b"\n")


def cef_line(document: dict[str, object]) -> str:
    """Render one generated document as a CEF line carrying the same values."""
    pairs = {"rt": document["@timestamp"]}
    for prefix, key in (("source", "src"), ("destination", "dst"), ("host", "dvc")):
        part = document.get(prefix)
        if isinstance(part, dict) and "ip" in part:
            pairs[key] = part["ip"]
    for path, key in ((("dns", "question", "name"), "dhost"), (("url", "full"), "request")):
        value: object = document
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str):
            pairs[key] = value.replace("\\", "\\\\").replace("=", "\\=")
    file_part = document.get("file")
    if isinstance(file_part, dict):
        pairs["fileHash"] = file_part["hash"]["sha256"]
    extension = " ".join(f"{key}={value}" for key, value in pairs.items())
    return f"CEF:0|Indicia|Bench|1.0|100|synthetic event|3|{extension}"
