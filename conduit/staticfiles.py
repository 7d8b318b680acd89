"""A directory of files served under a URL prefix: ``app.mount("/static", StaticFiles(directory="static"))``.

Owns the mapping from a URL path to a file under the root, and refuses everything
that would leave the root: ``..`` segments (also percent-encoded: the router decodes
``%2e%2e`` and ``%2f`` before this sees them), backslashes, NUL bytes, and symlinks
whose target lies outside the root (unless ``follow_symlinks=True``). Refusals and
missing files are both 404, so a probe learns nothing about the disk. The HTTP
rules for the file itself (validators, 304, ranges) are :class:`~conduit.http.files.FileResponse`'s.
"""

from __future__ import annotations

import os
import stat as stat_module

from .exceptions import NotFound
from .http.files import FileResponse
from .http.request import Request
from .http.response import RedirectResponse, Response


class StaticFiles:
    """Serve the files under ``directory``.

    ``index`` names the file served for a directory (``None``: directories are 404);
    a directory asked for without a trailing slash is redirected to it, so relative
    links in the index resolve. ``check_dir`` fails at construction when the directory
    does not exist (a startup error, not a run of 404s). ``html=True`` is Starlette's
    HTML mode: a directory serves its ``index.html`` and a missing file the root's
    ``404.html`` (with status 404) when there is one.
    """

    methods = ("GET", "HEAD")

    def __init__(self, directory: str | os.PathLike, *, index: str | None = "index.html",
                 follow_symlinks: bool = False, check_dir: bool = True, html: bool = False):
        self.directory = os.fspath(directory)
        self.root = os.path.realpath(self.directory)
        if check_dir and not os.path.isdir(self.root):
            raise RuntimeError(f"StaticFiles directory {self.directory!r} does not exist or is not a directory")
        self.html = html
        self.index = "index.html" if html and index is None else index
        self.follow_symlinks = follow_symlinks

    def resolve(self, subpath: str) -> tuple[str, os.stat_result] | None:
        """The real path and stat of the file ``subpath`` names, or None if refused or missing."""
        if "\x00" in subpath or "\\" in subpath:
            return None
        parts = [part for part in subpath.split("/") if part not in ("", ".")]
        if ".." in parts:
            return None
        candidate = os.path.join(self.root, *parts)
        real = candidate if self.follow_symlinks else os.path.realpath(candidate)
        if not self.follow_symlinks and os.path.commonpath([self.root, real]) != self.root:
            return None
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            return None
        return real, info

    async def serve(self, request: Request, path: str) -> Response:
        """The handler the mount calls with the rest of the URL path after the prefix."""
        try:
            return self._serve(request, path)
        except NotFound:
            if not self.html:
                raise
            found = self.resolve("404.html")
            if found is None or not stat_module.S_ISREG(found[1].st_mode):
                raise
            return FileResponse(found[0], status_code=404, stat_result=found[1])

    def _serve(self, request: Request, path: str) -> Response:
        found = self.resolve(path)
        if found is None:
            raise NotFound(detail="file not found")
        real, info = found
        if stat_module.S_ISDIR(info.st_mode):
            if self.index is None:
                raise NotFound(detail="file not found")
            if not request.raw_path.endswith(b"/"):
                query = b"?" + request.query_string if request.query_string else b""
                return RedirectResponse((request.raw_path + b"/" + query).decode("latin-1"), 308)
            found = self.resolve(path.rstrip("/") + "/" + self.index)
            if found is None or not stat_module.S_ISREG(found[1].st_mode):
                raise NotFound(detail="file not found")
            real, info = found
        elif not stat_module.S_ISREG(info.st_mode):
            raise NotFound(detail="file not found")
        return FileResponse(real, stat_result=info)


__all__ = ["StaticFiles"]
