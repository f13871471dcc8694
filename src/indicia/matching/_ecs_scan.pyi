# The C scanner's interface (src/indicia/matching/_ecs_scan.c).
from collections.abc import Sequence
from typing import Any

VALUE: int
PORT: int
TIME: int
ABSENT: int

class Scanner:
    def __init__(self, spellings: Sequence[tuple[tuple[bytes, ...], int]]) -> None: ...
    def scan(
        self, data: bytes | bytearray | memoryview
    ) -> tuple[int, list[tuple[Any, Any]]] | None: ...
