"""A filesystem MCP server confined to one root directory, read-only by default.

    python examples/mcp/filesystem.py /some/dir            # stdio
    MCP_FS_ROOT=/some/dir conduit mcp examples.mcp.filesystem:mcp --http --port 3000
    MCP_FS_WRITABLE=1 ...                                   # also expose write_file

Every path is resolved (symlinks included) and must stay inside the root: ``..``
traversal, absolute paths and symlinks that lead out of the root are refused.
"""

from __future__ import annotations

import os
import pathlib
import sys
from typing import Annotated

from conduit.mcp import Field, MCPServer

ROOT = pathlib.Path(os.environ.get("MCP_FS_ROOT") or (sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1
                                                      else os.getcwd())).resolve()
MAX_READ_BYTES = 1_000_000

mcp = MCPServer("filesystem", version="1.0.0", instructions=f"Files under {ROOT} (read-only unless enabled).")


class PathRefused(ValueError):
    pass


def confine(relative: str, root: pathlib.Path = ROOT) -> pathlib.Path:
    """Resolve ``relative`` under ``root``; refuse absolute paths and anything escaping it."""
    if not relative or "\x00" in relative:
        raise PathRefused("path must be a non-empty relative path")
    candidate = pathlib.PurePosixPath(relative)
    if candidate.is_absolute() or pathlib.PureWindowsPath(relative).drive:
        raise PathRefused(f"absolute paths are refused: {relative!r}")
    resolved = (root / candidate).resolve()  # follows symlinks
    if resolved != root and root not in resolved.parents:
        raise PathRefused(f"path leaves the root: {relative!r}")
    return resolved


@mcp.tool(read_only=True)
def list_directory(path: Annotated[str, Field(description="Directory, relative to the root")] = ".") -> list[str]:
    """List a directory's entries (directories end with '/')."""
    directory = confine(path)
    if not directory.is_dir():
        raise PathRefused(f"not a directory: {path!r}")
    return sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())


@mcp.tool(read_only=True)
def read_file(path: Annotated[str, Field(description="File, relative to the root")]) -> str:
    """Read a UTF-8 text file."""
    file = confine(path)
    if not file.is_file():
        raise PathRefused(f"not a file: {path!r}")
    if file.stat().st_size > MAX_READ_BYTES:
        raise PathRefused(f"file larger than {MAX_READ_BYTES} bytes")
    return file.read_text(encoding="utf-8", errors="replace")


@mcp.resource("file:///{+path}", mime_type="text/plain", description="A file under the root")
def file_resource(path: str) -> str:
    return read_file(path)


if os.environ.get("MCP_FS_WRITABLE") == "1":
    @mcp.tool(destructive=True)
    def write_file(path: str, content: str) -> str:
        """Write a UTF-8 text file (only when MCP_FS_WRITABLE=1)."""
        file = confine(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content, encoding="utf-8")
        return f"wrote {len(content)} characters to {path}"


if __name__ == "__main__":
    mcp.run_stdio()
