"""One MCP server per part of issue 25, for the client x transport table (test_parts_matrix.py).

``python parts_server.py PART [API_URL]`` serves one part over stdio; ``parts_app(api_url,
model_dir)`` mounts every part at ``/PART`` on one app for Streamable HTTP. The parts:
composition (with tools that unmount and mount again at run time), a proxy of the official
SDK's stdio server, ``from_app`` and ``from_openapi`` of the shop app, a lazily registered
model as a tool, the three built-in middleware plus a custom one, and tool search over the
1,000-tool catalogue.
"""

from __future__ import annotations

import importlib.util
import logging
import pathlib
import sys
import tempfile
from typing import Any

PEERS = pathlib.Path(__file__).resolve().parent
PARTS = ("compose", "proxy", "from_app", "from_openapi", "model", "middleware", "search")


def _peer(name: str, path: pathlib.Path = PEERS) -> Any:
    """A sibling script as a module (the test folders are not packages)."""
    spec = importlib.util.spec_from_file_location(f"parts_{name}", path / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def compose() -> Any:
    composed = _peer("composed_server")
    parent, weather = composed.composed()

    @parent.tool()
    def unmount_weather() -> str:
        """Take the weather server away (clients are told the list changed)."""
        parent.unmount("weather")
        return "unmounted"

    @parent.tool()
    def mount_weather() -> str:
        """Mount the weather server again."""
        parent.mount(weather, prefix="weather")
        return "mounted"

    return parent


def middleware() -> Any:
    from conduit.mcp import MCPServer, RateLimit, RequestLog, ResponseCache

    mcp = MCPServer("middleware")
    records: list[dict[str, Any]] = []
    calls = {"count": 0}

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append({"method": record.mcp_method, "target": record.mcp_target,
                            "outcome": record.mcp_outcome, "code": record.mcp_error_code})

    logger = logging.getLogger("parts.requests")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(Keep())

    def signed(next_handler):
        """A custom middleware: every tool result says it went through here."""
        async def handler(call):
            result = await next_handler(call)
            if call.method == "tools/call" and isinstance(result, dict):
                result = {**result, "content": [*result["content"], {"type": "text", "text": "signed"}]}
            return result
        return handler

    mcp.add_middleware(RequestLog(logger))
    mcp.add_middleware(RateLimit(rate=None, tools={"limited": (2, 3600)}))
    mcp.add_middleware(ResponseCache(ttl_seconds=3600))
    mcp.add_middleware(signed)

    @mcp.tool(read_only=True)
    def counter(key: str) -> int:
        """How many times the tool body ran (a cached answer does not run it)."""
        calls["count"] += 1
        return calls["count"]

    @mcp.tool()
    def limited() -> str:
        """Allowed twice per caller per hour."""
        return "allowed"

    @mcp.tool()
    def request_log(last: int) -> dict:
        """The last request-log records of this server."""
        return {"records": records[-last:]}

    return mcp


def model(model_dir: str) -> Any:
    import joblib

    from conduit.mcp import MCPServer
    from conduit.ml.serve.registry import ModelRegistry

    path = pathlib.Path(model_dir) / "clf.joblib"
    joblib.dump(_peer("model_server").fitted()[0], path)
    registry = ModelRegistry()
    registry.register("clf", str(path), lazy=True)
    mcp = MCPServer("models")
    mcp.add_model_tool(registry, "clf")
    return mcp


def build(part: str, api_url: str, model_dir: str) -> Any:
    from conduit.mcp import MCPServer

    launch = _peer("launch")
    if part == "compose":
        return compose()
    if part == "proxy":
        return MCPServer.proxy(launch.stdio_command("sdk"), env=launch.env())
    if part == "from_app":
        return MCPServer.from_app(_peer("shop_app").build_app(), headers={"x-api-key": "k3y"})
    if part == "from_openapi":
        spec = _peer("shop_app").build_app().openapi()
        return MCPServer.from_openapi(spec, base_url=api_url, headers={"x-api-key": "k3y"})
    if part == "model":
        return model(model_dir)
    if part == "middleware":
        return middleware()
    if part == "search":
        return _peer("catalogue_server", PEERS.parent).build()
    raise ValueError(f"no part named {part!r} (the parts are {PARTS})")


def parts_app(api_url: str, model_dir: str) -> Any:
    from conduit import Conduit

    app = Conduit()
    for part in PARTS:
        app.mount_mcp(f"/{part}", build(part, api_url, model_dir))
    return app


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        build(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:9", folder).run_stdio()
