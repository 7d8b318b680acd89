"""``UploadFile``: one uploaded file, in memory or spooled to disk.

The file is a :class:`tempfile.SpooledTemporaryFile`: small uploads stay in memory,
larger ones roll over to an anonymous temporary file (unlinked at creation, so
closing it frees the disk). Once on disk every read, write and seek runs in a worker
thread, so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import tempfile
from typing import Any

from ..anyloop import run_in_thread

from ..http.datastructures import Headers


class UploadFile:
    """An uploaded file: ``filename``, ``content_type``, ``size``, ``headers`` and async IO."""

    def __init__(self, file: Any = None, *, filename: str | None = None, content_type: str | None = None,
                 headers: Headers | None = None, size: int = 0, spool_max_size: int = 1024 * 1024):
        self.file = file if file is not None else tempfile.SpooledTemporaryFile(max_size=spool_max_size)
        self.filename = filename
        self.content_type = content_type or "application/octet-stream"
        self.headers = headers if headers is not None else Headers()
        #: Bytes written so far (the whole upload once the form is parsed).
        self.size = size

    @property
    def on_disk(self) -> bool:
        """Whether the file rolled over from memory to a temporary file."""
        return bool(getattr(self.file, "_rolled", True))

    @property
    def closed(self) -> bool:
        return bool(self.file.closed)

    async def _run(self, fn, *args):
        if self.on_disk:
            return await run_in_thread(fn, *args)
        return fn(*args)

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        await self._run(self.file.write, data)

    async def read(self, size: int = -1) -> bytes:
        return await self._run(self.file.read, size)

    async def seek(self, offset: int) -> None:
        await self._run(self.file.seek, offset)

    async def close(self) -> None:
        if not self.file.closed:
            await self._run(self.file.close)

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, size={self.size}, content_type={self.content_type!r})"


__all__ = ["UploadFile"]
