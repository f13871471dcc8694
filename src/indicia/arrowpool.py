"""Which allocator Arrow uses while the batch engine works.

Arrow's default pool (mimalloc in the pyarrow wheels) marks its arenas for transparent huge
pages. Where the kernel's THP setting is ``madvise`` (and its defrag setting, as by default,
``madvise`` too), the first touch of each 2 MiB page is a huge-page fault that zeroes, and may
compact for, the whole page. A match builds and drops hundreds of megabytes of short-lived
columns, so on such a host those faults were a third of the benchmark's run (1.5 s of system
time in 4.3 s for 2,000,000 events); on the C library's malloc they were 0.6 s, and the user
time was the same. Buffers remember the pool they came from, so switching is safe.

The default pool is one setting for the whole process: matches running at once on several
threads share one switch, and the pool before the first of them returns after the last.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import pyarrow as pa

from indicia.shared_setting import SharedSetting


def _use_malloc() -> pa.MemoryPool:
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    return previous


_MALLOC = SharedSetting(_use_malloc, pa.set_memory_pool)


def system_allocator() -> AbstractContextManager[None]:
    """Arrow allocates from the C library's malloc inside the block; the old pool after it."""
    return _MALLOC.held()
