"""Benchmark: import a generated bundle of indicators into a fresh SQLite store, end to end.

Measures indicators/s for parse, validate, canonicalise and upsert, peak memory, and in the same
run the stix2 library's ``parse`` rate on a sample of the same objects (the baseline). Prints
progress on stderr and the figures as one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson

KINDS = ("ipv4", "cidr", "domain", "url", "sha256", "md5", "email", "ipv6")


def _value(rng: random.Random, kind: str, i: int) -> str:
    if kind == "ipv4":
        return (
            f"[ipv4-addr:value = '{rng.randint(1, 223)}.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']"
        )
    if kind == "cidr":
        return f"[ipv4-addr:value = '{rng.randint(1, 223)}.{i >> 8 & 255}.{i & 255}.0/24']"
    if kind == "domain":
        return f"[domain-name:value = 'host{i}.bad{i % 9973}.example']"
    if kind == "url":
        return f"[url:value = 'http://cdn{i % 7919}.example.net/p/{i}.php?id={i}']"
    if kind == "sha256":
        return f"[file:hashes.'SHA-256' = '{rng.getrandbits(256):064x}']"
    if kind == "md5":
        return f"[file:hashes.MD5 = '{rng.getrandbits(128):032x}']"
    if kind == "email":
        return f"[email-addr:value = 'sender{i}@mail{i % 997}.example.org']"
    return f"[ipv6-addr:value = '2001:db8:{i >> 16 & 0xFFFF:x}:{i & 0xFFFF:x}::1']"


def _indicators(count: int, seed: int = 7) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        yield {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "created": "2024-05-01T10:00:00.000Z",
            "modified": "2024-05-01T10:00:00.000Z",
            "name": f"generated {kind} {i}",
            "indicator_types": ["malicious-activity"],
            "pattern": _value(rng, kind, i),
            "pattern_type": "stix",
            "valid_from": "2024-05-01T10:00:00Z",
            "confidence": rng.randint(10, 100),
            "labels": ["bench", kind],
            "kill_chain_phases": [
                {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}
            ],
        }


def write_bundle(path: Path, count: int) -> None:
    """Write a bundle object by object, so generation needs no memory to speak of."""
    with path.open("wb") as out:
        out.write(
            b'{"type": "bundle", "id": "bundle--'
            + str(uuid.uuid4()).encode()
            + b'", "objects": [\n'
        )
        for n, obj in enumerate(_indicators(count)):
            out.write((b",\n" if n else b"") + orjson.dumps(obj))
        out.write(b"\n]}\n")


def stix2_baseline(path: Path, sample: int) -> float:
    """The stix2 library's parse rate on the first ``sample`` objects of the bundle."""
    import ijson
    import stix2

    with path.open("rb") as handle:
        objs = [
            obj for _, obj in zip(range(sample), ijson.items(handle, "objects.item"), strict=False)
        ]
    start = time.perf_counter()
    for obj in objs:
        stix2.parse(obj, allow_custom=True)
    return sample / (time.perf_counter() - start)


def run_import(path: Path, home: Path) -> tuple[float, float, dict[str, object]]:
    """Import the bundle into a fresh store; returns elapsed and CPU seconds, and the report."""
    from indicia.importer import Importer
    from indicia.store import Store

    store = Store.open(f"sqlite:///{home / 'indicia.db'}")
    start = time.perf_counter()
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    report = Importer(store).import_paths([path])
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, cpu, report.as_dict()


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 indicators (under a minute)")
    parser.add_argument("--count", type=int, default=None)
    args = parser.parse_args()
    count = args.count or (100_000 if args.quick else 1_000_000)
    sample = 2_000 if args.quick else 10_000

    with tempfile.TemporaryDirectory(prefix="indicia-bench-") as work:
        path = Path(work) / "bundle.json"
        print(f"writing {count} indicators to {path}", file=sys.stderr)
        write_bundle(path, count)
        size_mb = os.path.getsize(path) / 1e6
        print(f"bundle {size_mb:.0f} MB; stix2 baseline on {sample}", file=sys.stderr)
        baseline = stix2_baseline(path, sample)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"baseline {baseline:.0f}/s; importing", file=sys.stderr)
        elapsed, cpu_main, report = run_import(path, Path(work))
        cpu_worker = _cpu_seconds(resource.RUSAGE_CHILDREN)  # the import's worker processes
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest

    from indicia.import_workers import worker_count

    workers = worker_count()
    if report["created"] != count or report["rejected"]:
        print(f"import did not store every indicator: {report}", file=sys.stderr)
        sys.exit(1)
    rate = count / elapsed
    figures = {
        "indicators": count,
        "seconds": round(elapsed, 2),
        "indicators_per_s": round(rate),
        "baseline_per_s": round(baseline),
        "ratio": round(rate / baseline, 1),
        "peak_rss_mb": round(peak_mb),
        # The largest worker process's peak, and this process's with every worker's (an upper
        # bound of the import's).
        "workers": workers,
        "worker_peak_rss_mb": round(worker_mb),
        "peak_rss_with_worker_mb": round(peak_mb + workers * worker_mb),
        # CPU seconds of the import in this process and in the workers together: on a busy
        # machine the rate falls while these stay, which tells a slow machine from a slow import.
        "cpu_s_main": round(cpu_main, 2),
        "cpu_s_worker": round(cpu_worker, 2),
        "rss_before_import_mb": round(rss_before),
        "bundle_mb": round(size_mb),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
