"""Matching benchmark: the batch engine against a plain-Python matcher, on one core.

Generates indicators and ECS JSON-lines events into bench/.work/ (kept between runs), then
measures end to end (file read to alerts written) the batch engine, a plain-Python baseline
(orjson per line, dict look-ups, a label walk, pytricia), the msgspec decode floor, and CEF
parsing. Progress goes to stderr; the figures are one JSON object on the last stdout line.
"""

from __future__ import annotations

import os

# One core: set before DuckDB, Arrow or any BLAS is loaded.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import duckdb  # noqa: E402
import msgspec  # noqa: E402
import orjson  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytricia  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from indicia.logs.cef import FORMAT as CEF  # noqa: E402
from indicia.matching.batch import BatchEngine  # noqa: E402
from indicia.matching.fields import FIELD_KINDS, PLACEHOLDER_VALUES_LOWER, URL_FIELDS  # noqa: E402
from indicia.matching.types import IndicatorEntry  # noqa: E402
from match_gen import Universe, cef_line, make_events, make_indicators, write_events  # noqa: E402

WORK = Path(__file__).parent / ".work"
SIZES = {"quick": (100_000, 200_000, 20_000), "full": (1_000_000, 2_000_000, 200_000)}


class Timer:
    """Wall time and this process's CPU time (all threads): CPU time stays honest when other
    work shares the machine, wall time is what a user waits."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def rates(prefix: str, count: int, timer: Timer) -> dict[str, float]:
    """``<prefix>_per_s`` from CPU time, ``<prefix>_per_s_wall`` from wall time."""
    return {f"{prefix}_per_s": count / timer.cpu, f"{prefix}_per_s_wall": count / timer.wall}


def log(message: str) -> None:
    """Progress to stderr (this is an entry point, not library code)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class JsonlAlertSink:
    """Writes a match table as JSON lines; stands in for the store's alert writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con = duckdb.connect(config={"threads": 1})
        self._con.execute("SET TimeZone = 'UTC'")

    def write(self, matches: pa.Table) -> None:
        self._con.register("alerts", matches)
        # Event times as RFC 3339 text, as STIX and the store write them (strftime is also
        # about twice as fast as DuckDB's own JSON rendering of a TIMESTAMPTZ).
        stamp = "strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_time"
        self._con.execute(
            f"COPY (SELECT * REPLACE ({stamp}) FROM alerts) TO '{self.path}' (FORMAT json)"
        )
        self._con.unregister("alerts")


def run_batch(universe: Universe, events: Path, count: int) -> dict[str, Any]:
    """Load the index, then time file read to alerts written."""
    engine = BatchEngine()
    started = time.perf_counter()
    engine.load(universe.entries)
    load_s = time.perf_counter() - started
    log(f"batch index: {len(universe.entries)} entries in {load_s:.2f} s")

    with Timer() as timer:
        result = engine.match_jsonl(events)
        JsonlAlertSink(WORK / "alerts_batch.jsonl").write(result.matches)
    log(
        f"batch: {count} events, {result.matches.num_rows} matches, {timer.cpu:.2f} s CPU, "
        f"{timer.wall:.2f} s wall"
    )
    return {
        **rates("events", count, timer),
        "batch_matches": result.matches.num_rows,
        "index_load_s": load_s,
        "bytes_per_indicator": engine.index.nbytes / engine.index.count,
    }


class Baseline:
    """Plain Python: orjson per line, dicts, a label walk for subdomains, pytricia for CIDRs."""

    def __init__(self, entries: list[IndicatorEntry]) -> None:
        self.exact: dict[tuple[str, str], list[IndicatorEntry]] = {}
        self.domains: dict[str, list[IndicatorEntry]] = {}
        self.networks = pytricia.PyTricia(32)
        for entry in entries:
            if entry.kind == "ipv4-addr" and "/" in entry.value:
                # has_key is the exact prefix; `in` would be a longest-prefix look-up.
                if not self.networks.has_key(entry.value):
                    self.networks[entry.value] = []
                self.networks[entry.value].append(entry)
            elif entry.kind == "domain-name":
                self.domains.setdefault(entry.value, []).append(entry)
            else:
                kind = "ip" if entry.kind == "ipv4-addr" else entry.kind
                self.exact.setdefault((kind, entry.value), []).append(entry)

    def match_file(self, path: Path, out: Path) -> int:
        found = 0
        with path.open("rb") as stream, out.open("wb") as sink:
            for line in stream:
                for alert in self.match_document(orjson.loads(line)):
                    sink.write(orjson.dumps(alert) + b"\n")
                    found += 1
        return found

    def match_document(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        hits: list[tuple[str, IndicatorEntry, str]] = []
        self._walk(document, FIELD_TREE, hits)
        if not hits:
            return []
        stamp = document.get("@timestamp")
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else datetime.now(UTC)
        return [
            {"field": name, "matched_value": value, "id": entry.indicator_id}
            for name, entry, value in hits
            if entry.valid_from <= moment
            and (entry.valid_until is None or moment < entry.valid_until)
        ]

    def _walk(self, node: dict[str, Any], tree: dict[str, Any], hits: list[Any]) -> None:
        # Only keys the field table knows are visited, nested or dotted alike.
        for key, value in node.items():
            branch = tree.get(key)
            if branch is None:
                continue
            if isinstance(branch, dict):
                if isinstance(value, dict):
                    self._walk(value, branch, hits)
            elif isinstance(value, str):
                self._value(branch, value, hits)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        self._value(branch, item, hits)

    def _value(self, leaf: tuple[str, str], raw: str, hits: list[Any]) -> None:
        name, group = leaf
        if len(raw) <= 9 and raw.strip().lower() in PLACEHOLDER_VALUES_LOWER:
            return
        if group == "ip":
            hits.extend((name, e, raw) for e in self.exact.get(("ip", raw), ()))
            self._cidrs(name, raw, hits)
        elif group == "domain":
            self._domain(name, raw.lower().rstrip("."), hits)
        elif group == "url":
            hits.extend((name, e, raw) for e in self.exact.get(("url", raw), ()))
            self._domain(name, raw.split("/", 3)[2], hits)
        else:
            hits.extend((name, e, raw) for e in self.exact.get((group, raw.lower()), ()))

    def _domain(self, name: str, host: str, hits: list[Any]) -> None:
        domains = self.domains
        start = 0
        while True:
            for entry in domains.get(host[start:], ()):
                hits.append((name, entry, host))
            start = host.find(".", start) + 1
            if start == 0 or host.find(".", start) < 0:
                return

    def _cidrs(self, name: str, address: str, hits: list[Any]) -> None:
        try:
            key = self.networks.get_key(address)
        except ValueError:
            return
        while key is not None:
            hits.extend((name, entry, address) for entry in self.networks[key])
            key = self.networks.parent(key)


def _field_tree() -> dict[str, Any]:
    """Nested and dotted spellings of every matched field, leaves (field, family)."""
    tree: dict[str, Any] = {}
    for name, kinds in FIELD_KINDS.items():
        group = (
            "url"
            if name in URL_FIELDS
            else {"ipv4-addr": "ip", "domain-name": "domain"}.get(kinds[0], kinds[0])
        )
        tree[name] = (name, group)
        node = tree
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = (name, group)
    return tree


FIELD_TREE = _field_tree()


def run_baseline(universe: Universe, events: Path, count: int) -> dict[str, Any]:
    baseline = Baseline(universe.entries)
    with Timer() as timer:
        found = baseline.match_file(events, WORK / "alerts_baseline.jsonl")
    log(f"baseline: {count} events, {found} matches, {timer.cpu:.2f} s CPU")
    return {**rates("baseline_events", count, timer), "baseline_matches": found}


class _Host(msgspec.Struct):
    ip: str | None = None
    port: int | None = None


class _Question(msgspec.Struct):
    name: str | None = None


class _Dns(msgspec.Struct):
    question: _Question | None = None


class _Url(msgspec.Struct):
    full: str | None = None
    domain: str | None = None


class _Hash(msgspec.Struct):
    sha256: str | None = None


class _File(msgspec.Struct):
    hash: _Hash | None = None


class _Document(msgspec.Struct, rename={"timestamp": "@timestamp"}):
    timestamp: str | None = None
    source: _Host | None = None
    destination: _Host | None = None
    host: _Host | None = None
    dns: _Dns | None = None
    url: _Url | None = None
    file: _File | None = None


def run_decode_floor(events: Path, count: int) -> dict[str, Any]:
    decoder = msgspec.json.Decoder(_Document)
    with Timer() as timer, events.open("rb") as stream:
        for line in stream:
            decoder.decode(line)
    log(f"msgspec decode floor: {count / timer.cpu:,.0f} events/s")
    return rates("decode_floor_events", count, timer)


_CEF_RE = re.compile(r"^CEF:(\d+)\|((?:[^|\\]|\\.)*)\|" + r"((?:[^|\\]|\\.)*)\|" * 5 + r"(.*)$")
_CEF_PAIR_RE = re.compile(r"(\w+)=((?:[^=\\]|\\.)*?)(?=\s+\w+=|\s*$)")


def run_cef(universe: Universe, count: int) -> dict[str, Any]:
    path = WORK / f"events_{count}.cef"
    if not path.exists():
        with path.open("w", encoding="utf-8") as out:
            for document in make_events(universe, count, seed=23):
                out.write(cef_line(document) + "\n")
    lines = path.read_text(encoding="utf-8").splitlines()

    with Timer() as cef:
        parsed = sum(1 for _ in CEF.parse(enumerate(lines, 1), str(path)))
    with Timer() as regex:
        matched = sum(1 for line in lines if _cef_regex(line) is not None)
    log(f"CEF: indicia {parsed} lines in {cef.cpu:.2f} s, regex {matched} in {regex.cpu:.2f} s")
    return rates("cef_lines", count, cef) | rates("cef_baseline_lines", count, regex)


def _cef_regex(line: str) -> dict[str, str] | None:
    header = _CEF_RE.match(line)
    if header is None:
        return None
    return {key: value.replace("\\=", "=") for key, value in _CEF_PAIR_RE.findall(header[8])}


def prepare(indicators: int, events: int) -> tuple[Universe, Path]:
    WORK.mkdir(exist_ok=True)
    started = time.perf_counter()
    universe = make_indicators(indicators)
    path = WORK / f"events_{indicators}_{events}.jsonl"
    if not path.exists():
        log(f"writing {events} events to {path}")
        write_events(universe, events, path)
    log(f"prepared {indicators} indicators in {time.perf_counter() - started:.1f} s")
    return universe, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    args = parser.parse_args()
    indicators, events, cef_lines = SIZES["quick" if args.quick else "full"]

    universe, path = prepare(indicators, events)
    figures: dict[str, Any] = {"indicators": indicators, "events": events}
    figures |= run_batch(universe, path, events)
    figures |= run_baseline(universe, path, events)
    figures |= run_decode_floor(path, events)
    figures |= run_cef(universe, cef_lines)

    figures["ratio_vs_baseline"] = figures["events_per_s"] / figures["baseline_events_per_s"]
    figures["ratio_vs_decode_floor"] = (
        figures["events_per_s"] / figures["decode_floor_events_per_s"]
    )
    figures["same_matches"] = figures["batch_matches"] == figures["baseline_matches"]
    if not figures["same_matches"]:
        log("MISMATCH: the batch engine and the baseline found different match counts")
    print(
        orjson.dumps(
            {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
        ).decode()
    )


if __name__ == "__main__":
    main()
