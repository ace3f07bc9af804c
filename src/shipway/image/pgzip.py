"""gzip written by several threads at once, as ``pigz`` does: a layer of ~150 MB takes
seconds to compress on one core, and zlib lets other threads run while it works.

The input is cut into blocks of ``BLOCK`` bytes, counted from the start of the stream
(never by how the writes come); each block is deflated on its own, primed with the last
32 KiB of the block before it (so the ratio stays within a fraction of a percent of
one stream's), and ends with a sync flush, the last with the stream's end. The blocks,
joined in order, are one ordinary deflate stream in one gzip member (RFC 1952), with no
name and a zero timestamp: any gzip reader reads it, and the same input always gives the
same bytes, whatever the number of threads or the size of the writes.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import BinaryIO, Protocol

BLOCK = 1 << 20
#: What a block is primed with: deflate's window.
WINDOW = 32 << 10
#: zlib's default memory level, as Python's gzip module uses.
MEM_LEVEL = 8


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def threads() -> int:
    """Compressing threads: one a core (the writer's own work is light)."""
    return max(1, min(8, os.cpu_count() or 1))


class ParallelGzip:
    """A write-only file object; ``close`` (or the ``with`` block's end) ends the stream."""

    def __init__(self, out: Sink | BinaryIO, level: int = 6, workers: int | None = None):
        self.out = out
        self.level = level
        self.crc = 0
        self.size = 0
        self._buffer = bytearray()
        self._previous = b""
        self._workers = workers or threads()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="gzip")
        self._pending: deque[Future[bytes]] = deque()
        self._closed = False
        xfl = 2 if level == 9 else 4 if level == 1 else 0
        # magic, deflate, no flags, mtime 0, extra flags, OS "unknown": as gzip.GzipFile
        out.write(struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, xfl, 255))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        length = len(data)
        self.crc = zlib.crc32(data, self.crc)
        self.size += length
        self._buffer += data
        if len(self._buffer) >= BLOCK:
            view = memoryview(self._buffer)
            whole = len(view) - len(view) % BLOCK
            for start in range(0, whole, BLOCK):
                self._submit(bytes(view[start : start + BLOCK]), last=False)
            view.release()
            del self._buffer[:whole]
        return length

    def flush(self) -> None:
        """Nothing to do: blocks are written whole, in order, as they are compressed."""

    def _submit(self, block: bytes, last: bool) -> None:
        self._pending.append(self._pool.submit(_deflate, block, self._previous, last, self.level))
        self._previous = block[-WINDOW:]
        # Bounded memory: at most two blocks a thread are in flight.
        while len(self._pending) > 2 * self._workers:
            self.out.write(self._pending.popleft().result())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()
            while self._pending:
                self.out.write(self._pending.popleft().result())
            self.out.write(struct.pack("<II", self.crc, self.size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> ParallelGzip:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:  # the stream is abandoned: stop the threads, write nothing more
            self._closed = True
            self._pool.shutdown(cancel_futures=True)


def _deflate(block: bytes, previous: bytes, last: bool, level: int) -> bytes:
    wbits, strategy = -zlib.MAX_WBITS, zlib.Z_DEFAULT_STRATEGY  # raw deflate: no header
    if previous:
        compressor = zlib.compressobj(level, zlib.DEFLATED, wbits, MEM_LEVEL, strategy, previous)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, wbits, MEM_LEVEL, strategy)
    end = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    return compressor.compress(block) + compressor.flush(end)
