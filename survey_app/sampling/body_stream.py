"""A request body as a binary file the feed parser can read line by line without buffering it.

The parser looks at the head of a file and then rewinds (``check_file``); a request stream cannot
seek. ``HeadRewindStream`` keeps the first ``head`` bytes in memory so the stream can go back to
the start while it has not gone past them, and reads the rest straight from the source (which
must have ``read`` and ``readline``, as werkzeug's request stream and ``gzip.GzipFile`` do).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from .feed import HEAD_BYTES


class HeadRewindStream:
    def __init__(self, source, head: int = HEAD_BYTES) -> None:
        self._source = source
        chunks, size = [], 0
        while size < head:
            chunk = source.read(head - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        self._head = b"".join(chunks)
        self._pos = 0

    def seekable(self) -> bool:
        return self._pos <= len(self._head)

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET or not 0 <= pos <= len(self._head) or not self.seekable():
            raise io.UnsupportedOperation("only the head of the stream can be re-read")
        self._pos = pos
        return pos

    def read(self, size: int = -1) -> bytes:
        head = b""
        if self._pos < len(self._head):
            end = len(self._head) if size < 0 else min(len(self._head), self._pos + size)
            head = self._head[self._pos : end]
            self._pos = end
            if size >= 0:
                size -= len(head)
        tail = self._source.read(size) if size != 0 else b""
        self._pos += len(tail)
        return head + tail

    def readline(self) -> bytes:
        if self._pos < len(self._head):
            end = self._head.find(b"\n", self._pos)
            if end >= 0:
                line = self._head[self._pos : end + 1]
                self._pos = end + 1
                return line
            line = self._head[self._pos :] + self._source.readline()
        else:
            line = self._source.readline()
        self._pos += len(line)
        return line

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line
