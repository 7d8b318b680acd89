"""``conduit mcp module:attr [--http --host H --port N]``: run an MCPServer.

The top-level ``conduit`` CLI dispatches here with the arguments after ``mcp``. Over
stdio (the default) the process speaks MCP on stdin/stdout; with ``--http`` it mounts
the server on a fresh Conduit app at ``--path`` (default ``/mcp``) and serves it, bound
to 127.0.0.1 unless ``--host`` says otherwise; ``--session-store redis://...`` lets several
such processes serve one session.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

__all__ = ["main", "load_server"]


def load_server(target: str) -> Any:
    """Import ``module:attr`` (attr defaults to ``mcp``) from the current directory."""
    module_name, _, attr = target.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    obj = module
    for part in (attr or "mcp").split("."):
        obj = getattr(obj, part)
    if callable(obj) and not hasattr(obj, "tools"):
        obj = obj()  # a factory
    return obj


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="conduit mcp", description="Run an MCP server.")
    parser.add_argument("target", help="module:attribute of an MCPServer (or a factory returning one)")
    parser.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--path", default="/mcp")
    parser.add_argument("--stateless", action="store_true", help="no sessions (horizontal scaling)")
    parser.add_argument("--allowed-host", action="append", default=None,
                        help="extra Host header value to accept (behind a proxy); repeatable")
    parser.add_argument("--legacy-sse", action="store_true", help="also serve the 2024-11-05 HTTP+SSE transport")
    parser.add_argument("--session-store", metavar="URL", default=None,
                        help="share sessions between processes through Redis (redis://host:port/db)")
    args = parser.parse_args(argv)
    try:
        server = load_server(args.target)
    except (ImportError, AttributeError) as exc:
        print(f"conduit mcp: cannot load {args.target!r}: {exc}", file=sys.stderr)
        return 2
    if not args.http:
        server.run_stdio()
        return 0
    from conduit import Conduit
    from conduit.mcp.transports.http import mount

    options: dict[str, Any] = {}
    if args.session_store:
        if not args.session_store.startswith(("redis://", "rediss://", "unix://")):
            print(f"conduit mcp: --session-store must be a redis:// URL, not {args.session_store!r}", file=sys.stderr)
            return 2
        from conduit.mcp.transports.store import RedisSessionStore
        options["session_store"] = RedisSessionStore(url=args.session_store)
    app = Conduit()
    mount(app, args.path, server, stateless=args.stateless, allowed_hosts=args.allowed_host,
          legacy_sse=args.legacy_sse, **options)
    # Said once the address is bound (a busy port is then only the one `error:` line).
    app.on_startup(lambda: print(f"MCP server {server.name!r} at http://{args.host}:{args.port}{args.path}",
                                 file=sys.stderr))
    app.run(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
