"""Worker processes that read, validate and project a large STIX file while the importer writes.

Every worker reads the whole file, the same way, so all of them see the same parts in the same
order: runs of objects parsed together, and the notices and rejections between them. Worker
``k`` of ``n`` validates and projects the parts numbered ``k``, ``k + n``, ... and sends what
became of each record; :func:`pipelined` takes the parts from the workers in turn, so the
importer gets them in file order, exactly as if it had read the records itself: same batches,
same rejections and notices, same rule for breaks.

Parsing is about a tenth of a worker's work, so two workers cost little more CPU than one and
spread it over two cores. The writer is the critical path: the workers run at a lower priority
and take the CPU it leaves. Measured on two shared cores, a million indicators (medians of
three): 15.3 s, against 16.8 s with one worker and 15.6 s with two at the writer's priority.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import marshal
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from indicia.errors import IndiciaError, InputError
from indicia.feeds.records import Notice, Rejection, StixRecord
from indicia.feeds.stix_file import ObjectRun, read_stix_runs
from indicia.stix.objects import validate_object
from indicia.stix.patterns import extract_observables
from indicia.store import Prepared
from indicia.store.projection import as_prepared, prepared_fields

__all__ = ["Failed", "can_fork", "pipelined", "source_from_notice", "stix_fields"]

WORKERS = 2  # where there is more than one core
_PR_SET_PDEATHSIG = 1  # prctl(2)
_NICENESS = 5  # added to a worker's: the writer comes first
_MESSAGE_RECORDS = 2000  # records per message from a worker
_QUEUE_MESSAGES = 16  # messages received ahead of the writer, per worker (about 25 MB)
_PIPE_BYTES = 4 << 20  # about three messages
_END = "end"
_MARSHALLED, _PICKLED = b"m", b"p"  # the first byte of a message


@dataclass(frozen=True, slots=True)
class Failed:
    """A STIX record a worker rejected: where it was and why."""

    where: str
    reason: str


# What the importer gets: a run of prepared objects, or one record's outcome.
Piece = list[Prepared] | Failed | Rejection | Notice


@dataclass(frozen=True, slots=True)
class _WorkerError:
    """Why a worker stopped before the end of the file."""

    message: str
    error: BaseException | None = None  # the exception itself, when it pickles


def stix_fields(obj: dict[str, Any], source: str | None) -> tuple[Any, ...]:
    """Validate and project a STIX object: the fields of its Prepared, as a plain tuple."""
    validate_object(obj)
    found = None
    if obj.get("type") == "indicator" and obj.get("pattern_type") == "stix":
        found = extract_observables(obj["pattern"], object_id=obj.get("id"))
    return prepared_fields(obj, source, found)


def can_fork() -> bool:
    """Whether workers can start: fork starts one in milliseconds with everything imported.

    spawn would take longer than a mid-sized file's import; without fork, files are read
    in the importer's own process.
    """
    return "fork" in multiprocessing.get_all_start_methods()


def worker_count() -> int:
    """How many workers read a file: one on a single core, else :data:`WORKERS`."""
    return WORKERS if (os.cpu_count() or 1) > 1 else 1


# -- in a worker -----------------------------------------------------------------------------


def worker_parts(path: str, source: str | None, index: int, count: int) -> Iterator[list[Any]]:
    """The pieces of each part of the file that worker ``index`` of ``count`` handles.

    A piece is a list of prepared objects (as plain tuples) or one other outcome: a Failed,
    or the reader's own Rejection or Notice.
    """
    for number, item in enumerate(read_stix_runs(path)):
        if isinstance(item, Notice):
            source = source_from_notice(item) or source  # every worker follows the source
        if number % count == index:
            yield _pieces(item, source)


def source_from_notice(notice: Notice) -> str | None:
    """The source a Sentinel upload body names in its ``sourcesystem`` notice, if this is one."""
    prefix = "sourcesystem: "
    return notice.message[len(prefix) :] if notice.message.startswith(prefix) else None


def _pieces(item: Any, source: str | None) -> list[Any]:
    if type(item) is ObjectRun:
        return _run_pieces(item, source)
    if isinstance(item, StixRecord):
        outcome = _outcome(item.obj, item.position, source)
        return [[outcome]] if type(outcome) is tuple else [outcome]
    return [item]


def _run_pieces(run: ObjectRun, source: str | None) -> list[Any]:
    pieces: list[Any] = []
    rows: list[tuple[Any, ...]] = []
    for index, value in enumerate(run.values):
        if type(value) is dict:
            try:
                rows.append(stix_fields(value, source))
                continue
            except IndiciaError as exc:
                outcome: Any = Failed(str(run.position(index)), str(exc))
        else:
            outcome = run.record(index)  # a Rejection: not a JSON object
        if rows:
            pieces.append(rows)
            rows = []
        pieces.append(outcome)
    if rows:
        pieces.append(rows)
    return pieces


def _outcome(obj: dict[str, Any], where: Any, source: str | None) -> Any:
    try:
        return stix_fields(obj, source)
    except IndiciaError as exc:
        return Failed(str(where), str(exc))


def work(
    path: str,
    source: str | None,
    out: Any,
    index: int = 0,
    count: int = 1,
    inherited: Sequence[Any] = (),
) -> None:
    """A worker process: read the file and send the outcomes of its parts, in messages.

    ``inherited`` are the reading ends of the pipes the fork copied (its own, and the earlier
    workers'): closed at once, so when the importer dies the next send fails and the worker
    ends instead of blocking on a pipe nobody reads.
    """
    for conn in inherited:
        conn.close()
    _die_with_parent()
    # The writer is the import's critical path: the workers take the CPU it leaves.
    os.nice(_NICENESS)
    # The inherited heap is never garbage here; fewer, later collections keep the reader fast.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    message: list[Any] = []
    records = 0
    try:
        for pieces in worker_parts(path, source, index, count):
            message.append(pieces)
            records += sum(len(piece) if type(piece) is list else 1 for piece in pieces)
            if records >= _MESSAGE_RECORDS:
                out.send_bytes(encode(message))
                message, records = [], 0
        end: Any = _END
    except IndiciaError as exc:
        end = _WorkerError(str(exc))
    except BaseException as exc:  # sent to the importer, which raises it
        end = _WorkerError(f"{type(exc).__name__}: {exc}", _picklable(exc))
    message.append(end)
    out.send_bytes(encode(message))
    out.close()


def encode(message: list[Any]) -> bytes:
    """A message as bytes: marshal when it holds only rows (quicker both ways), else pickle.

    The bytes only ever pass from a worker to the process that forked it.
    """
    try:
        return _MARSHALLED + marshal.dumps(message, 4)
    except ValueError:  # a rejection, notice or error: objects marshal cannot write
        return _PICKLED + pickle.dumps(message, pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> list[Any]:
    """The message :func:`encode` made."""
    body = memoryview(data)[1:]
    parts: list[Any] = marshal.loads(body) if data[:1] == _MARSHALLED else pickle.loads(body)
    return parts


def _picklable(exc: BaseException) -> BaseException | None:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


# -- in the importer -------------------------------------------------------------------------


@dataclass(slots=True)
class _Feed:
    """One worker, and the messages a thread of this process receives from it."""

    worker: Any
    conn: Any
    messages: queue.Queue[bytes | None]
    receiver: threading.Thread | None = None


def pipelined(path: str | Path, source: str | None) -> Generator[Piece, None, None]:
    """Yield what the workers made of each record of a STIX file, in file order."""
    context = multiprocessing.get_context("fork")
    count = worker_count()
    stop = threading.Event()
    feeds: list[_Feed] = []
    try:
        for index in range(count):
            feeds.append(_start(context, str(path), source, index, count, feeds))
        for feed in feeds:  # threads only once every worker is forked: a fork copies no thread
            feed.receiver = threading.Thread(target=_receive, args=(feed, stop), daemon=True)
            feed.receiver.start()
        yield from _merged(feeds, str(path))
    finally:
        stop.set()
        for feed in feeds:
            _finish(feed)


def _die_with_parent() -> None:
    """On Linux, have the kernel end this worker when the importer dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl: the closed pipe ends still end the worker
        return
    if os.getppid() == 1:  # the importer died before the request was made
        os._exit(1)


def _start(
    context: Any, path: str, source: str | None, index: int, count: int, earlier: list[_Feed]
) -> _Feed:
    receiving, sending = context.Pipe(duplex=False)
    _widen(receiving)
    inherited = [receiving, *(feed.conn for feed in earlier)]
    worker = context.Process(
        target=work,
        args=(path, source, sending, index, count, inherited),
        name="indicia-import",
        daemon=True,
    )
    worker.start()
    sending.close()  # the worker holds the only writing end: its exit is the reader's EOF
    return _Feed(worker, receiving, queue.Queue(maxsize=_QUEUE_MESSAGES))


def _finish(feed: _Feed) -> None:
    if feed.worker.is_alive():
        feed.worker.kill()
    feed.worker.join()
    if feed.receiver is not None:
        feed.receiver.join()
    feed.conn.close()


def _widen(conn: Any) -> None:
    """Let the pipe hold a whole message, so a worker seldom waits for this process to read.

    Linux only (F_SETPIPE_SZ); the size is capped by /proc/sys/fs/pipe-max-size, 1 MiB by
    default, and elsewhere the pipe keeps its size.
    """
    setting = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setting is None:
        return
    for size in (_PIPE_BYTES, 1 << 20):
        try:
            fcntl.fcntl(conn.fileno(), setting, size)
            return
        except OSError:
            continue


def _receive(feed: _Feed, stop: threading.Event) -> None:
    """Move a worker's messages into its queue, so the worker never waits on a write."""
    while not stop.is_set():
        try:
            data: bytes | None = feed.conn.recv_bytes()
        except (EOFError, OSError):
            data = None
        while not stop.is_set():
            try:
                feed.messages.put(data, timeout=0.1)
                break
            except queue.Full:
                continue
        if data is None:
            return


def _merged(feeds: list[_Feed], path: str) -> Iterator[Piece]:
    """The pieces of every part, taking the parts from the workers in turn."""
    streams = [_parts(feed, path) for feed in feeds]
    for number in itertools.count():
        part = next(streams[number % len(streams)], None)
        if part is None:  # that worker's file ended, so the others' did too
            return
        yield from part


def _parts(feed: _Feed, path: str) -> Iterator[list[Piece]]:
    while True:
        data = feed.messages.get()
        if data is None:
            feed.worker.join()
            reason = f"the import worker stopped (exit code {feed.worker.exitcode})"
            raise InputError(path, reason)
        for part in decode(data):
            if type(part) is list:
                yield [list(map(as_prepared, p)) if type(p) is list else p for p in part]
            elif part == _END:
                return
            else:
                raise part.error or IndiciaError(part.message)
