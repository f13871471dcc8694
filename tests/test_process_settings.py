"""Process-wide settings a match changes for its run (Arrow's pool, the collector), restored."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from indicia.arrowpool import system_allocator
from indicia.gctune import fewer_collections
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


def test_matches_on_two_threads_leave_the_pool_as_it_was(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"source": {"ip": "203.0.113.7"}}\n' * 3000)
    before = pa.default_memory_pool().backend_name
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        engine = BatchEngine()
        barrier.wait()
        try:
            for _ in range(10):
                engine.match_jsonl(events)
        except BaseException as exc:  # reported below; a thread's error is lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert pa.default_memory_pool().backend_name == before


def test_nested_blocks_switch_once_and_restore_after_the_outer() -> None:
    before = pa.default_memory_pool().backend_name
    with system_allocator():
        with system_allocator():
            pass
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before


def test_fewer_collections_keeps_a_callers_freeze_and_restores_the_threshold() -> None:
    threshold = gc.get_threshold()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            with fewer_collections():
                assert gc.get_threshold()[0] >= 50_000
            assert gc.get_threshold()[0] >= 50_000
        assert gc.get_freeze_count() == frozen
        assert gc.get_threshold() == threshold
    finally:
        gc.unfreeze()


def test_fewer_collections_freezes_for_the_run_and_thaws_after() -> None:
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
