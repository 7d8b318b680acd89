"""A server with the 1,000-tool catalogue behind tool search, for tests/conduit/mcp/test_tool_search.py.

Every tool answers ``called <name>``; ``catalogue_help`` is pinned. Run as a script, it
serves over stdio.
"""

from __future__ import annotations

import json
import pathlib

from conduit.mcp import MCPServer

CATALOGUE = pathlib.Path(__file__).resolve().parents[2] / "data" / "mcp" / "tool_catalogue.json"


def _answer(name: str):
    def run(**arguments) -> str:
        return f"called {name} with {sorted(arguments)}"
    return run


def build() -> MCPServer:
    mcp = MCPServer("catalogue", tool_search=True, pinned=["catalogue_help"])

    @mcp.tool()
    def catalogue_help() -> str:
        "What this server offers: search_tools finds the tool for a task among a thousand."
        return "use search_tools"

    for tool in json.loads(CATALOGUE.read_text()):
        mcp.add_tool(_answer(tool["name"]), name=tool["name"], title=tool["title"],
                     description=tool["description"], input_schema=tool["inputSchema"])
    return mcp


if __name__ == "__main__":
    build().run_stdio()
