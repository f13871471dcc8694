"""The batch engine's Arrow work runs on the C library's allocator, and the old pool returns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from indicia.arrowpool import system_allocator
from indicia.matching.batch import BatchEngine


def test_system_allocator_inside_the_block_and_the_old_pool_after() -> None:
    before = pa.default_memory_pool()
    with system_allocator():
        assert pa.default_memory_pool().backend_name == "system"
        column = pa.array(["203.0.113.7"] * 1000)
    assert pa.default_memory_pool().backend_name == before.backend_name
    # A buffer made inside the block is still readable (and freed by its own pool) after it.
    assert column[999].as_py() == "203.0.113.7"


def test_old_pool_returns_when_the_block_raises() -> None:
    before = pa.default_memory_pool().backend_name
    with pytest.raises(ValueError, match="boom"), system_allocator():
        raise ValueError("boom")
    assert pa.default_memory_pool().backend_name == before


def test_a_match_leaves_the_default_pool_as_it_was(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"source": {"ip": "203.0.113.7"}}\n')
    before = pa.default_memory_pool().backend_name
    engine = BatchEngine()
    engine.match_jsonl(events)
    engine.match_table(pa.table({"source.ip": ["203.0.113.7"]}))
    assert pa.default_memory_pool().backend_name == before
