"""Export stored objects as a STIX 2.1 bundle, keeping TLP promises.

An object marked above the consumer's highest allowed TLP level is withheld and counted, never
sent. The official TLP marking definitions the exported objects reference travel with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indicia.errors import StixError
from indicia.stix.markings import TLP_LEVELS, is_tlp_marking_id, normalize_tlp, tlp_marking, tlp_of
from indicia.store import Store

_RANK = {level: rank for rank, level in enumerate(TLP_LEVELS)}


@dataclass(slots=True)
class BundleExport:
    """The bundle and how many objects the TLP ceiling held back."""

    bundle: dict[str, Any]
    withheld: int = 0
    withheld_ids: list[str] = field(default_factory=list)


def _allowed(obj: dict[str, Any], ceiling: int) -> bool:
    level = tlp_of(obj)
    return level is None or _RANK[level] <= ceiling


def _markings_for(objs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    present = {o["id"] for o in objs}
    refs = {ref for o in objs for ref in o.get("object_marking_refs", ()) if is_tlp_marking_id(ref)}
    return [_marking(ref) for ref in sorted(refs - present)]


def _marking(ref: str) -> dict[str, Any]:
    from indicia.stix.markings import level_of_marking_id

    level = level_of_marking_id(ref)
    assert level is not None  # is_tlp_marking_id said so
    for version in (2, 1):
        try:
            candidate = tlp_marking(level, version=version)
        except StixError:  # TLP 1.0 has no amber+strict
            continue
        if candidate["id"] == ref:
            return candidate
    raise AssertionError(f"no official marking for {ref}")


def export_bundle(
    store: Store, *, types: Sequence[str] | None = None, max_tlp: str = "red"
) -> BundleExport:
    """A bundle of the current objects (of ``types``) at or below ``max_tlp``."""
    ceiling = _RANK[normalize_tlp(max_tlp)]
    kept: list[dict[str, Any]] = []
    result = BundleExport(bundle={})
    for obj in store.all_objects(types):
        if _allowed(obj, ceiling):
            kept.append(obj)
        else:
            result.withheld += 1
            result.withheld_ids.append(obj["id"])
    kept.extend(_markings_for(kept))
    result.bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": kept}
    return result
