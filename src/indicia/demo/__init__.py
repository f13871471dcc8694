"""``indicia demo``: the main job on the embedded default, on real published data.

A fresh SQLite store gets the bundled sample intelligence (OASIS STIX examples, plus any
``--intel`` files: ``make demo`` adds FireEye/Mandiant's published SUNBURST indicators), the two
indicators an analyst records by hand in the reference walkthrough, and a retro-hunt over the
bundled real sample logs, among them training-lab logs of SUNBURST C2 traffic. The logs are
years old, so the run is a hunt: every indicator valid now, over older logs.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from indicia.importer import ImportDefaults, Importer, ImportReport
from indicia.matching.run import MatchOptions, MatchReport, match_logs
from indicia.services import Classification, add_indicator, list_intel
from indicia.store import Store
from indicia.store.indicators import IndicatorQuery

# The reference walkthrough: an IP an analyst found on AbuseIPDB, and the SUNBURST C2 apex
# domain that FireEye and Microsoft published in their December 2020 advisories.
HAND_MADE: tuple[tuple[str, str, Classification], ...] = (
    (
        "123.56.220.219",
        "ipv4-addr",
        Classification(
            name="Web App Attack",
            tlp="amber",
            kill_chains=["lockheed:reconnaissance"],
            severity="medium",
            confidence=80,
            tags=["web-attack"],
            source="AbuseIPDB",
        ),
    ),
    (
        "avsvmcloud.com",
        "domain-name",
        Classification(
            name="SUNBURST C2 domain",
            tlp="clear",
            kill_chains=["lockheed:command-and-control"],
            severity="high",
            confidence=95,
            tags=["sunburst", "unc2452"],
            source="FireEye advisory",
            indicator_types=["malicious-activity", "attribution"],
            valid_from=datetime(2019, 1, 1, tzinfo=UTC),
        ),
    ),
)


@dataclass(slots=True)
class DemoResult:
    """What the demo did, for the CLI to show."""

    database: Path
    imported: ImportReport
    hand_made: list[str]
    matched: MatchReport
    intel: list[dict[str, Any]]


def bundled(kind: str) -> list[Path]:
    """The bundled sample files of one kind (``intel`` or ``logs``), sorted."""
    folder = resources.files("indicia.demo") / "data" / kind
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.is_file())


def fresh_store(home: Path) -> tuple[Store, Path]:
    """An empty SQLite store in ``home/demo`` (any earlier demo store is removed first)."""
    folder = home / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "indicia.db"
    return Store.open(f"sqlite:///{path}"), path


def run_demo(home: Path, extra_intel: Sequence[Path] = ()) -> DemoResult:
    """Import, record by hand, hunt, and list: the whole walkthrough on a fresh store."""
    store, path = fresh_store(home)
    try:
        importer = Importer(store, ImportDefaults(source="OASIS examples"))
        importer.import_paths(bundled("intel"))
        importer.defaults = ImportDefaults(source="Mandiant")
        report = importer.import_paths(extra_intel)
        made = [add_indicator(store, v, c, kind=k)["id"] for v, k, c in HAND_MADE]
        matched = match_logs(store, bundled("logs"), MatchOptions(hunt=True))
        intel = list_intel(store, IndicatorQuery(sort="-alerts", limit=15))
    finally:
        store.close()
    return DemoResult(path, report, made, matched, intel)
