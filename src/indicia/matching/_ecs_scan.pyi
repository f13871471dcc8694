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

def ipv4_numbers(
    length: int, offset: int, validity: Any, offsets: Any, data: Any
) -> tuple[Any, Any]: ...
def positions(count: int) -> Any: ...
def fast_names(length: int, offset: int, validity: Any, offsets: Any, data: Any) -> Any: ...
def fast_urls(
    length: int, offset: int, validity: Any, offsets: Any, data: Any
) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]: ...
def suffixes(
    k: int, length: int, offset: int, validity: Any, offsets: Any, data: Any
) -> tuple[Any, Any, Any]: ...
