"""Export stored objects as a STIX 2.1 bundle, keeping TLP promises.

An object marked above the consumer's highest allowed TLP level is withheld and counted, never
sent. The official TLP marking definitions the exported objects reference travel with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indicia.stix.markings import (
    TLP_LEVELS,
    is_tlp_marking_id,
    marking_by_id,
    normalize_tlp,
    tlp_of,
)
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
    found = (marking_by_id(ref) for ref in sorted(refs - present))
    return [marking for marking in found if marking is not None]


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
