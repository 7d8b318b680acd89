"""FastMCP 4's server for the client and proxy tests.

``python fastmcp_server.py stdio`` or ``python fastmcp_server.py http PORT`` (127.0.0.1).
"""

import sys

import anyio
from fastmcp import Context, FastMCP

mcp = FastMCP("fastmcp-peer")


@mcp.tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool
async def count(steps: int, ctx: Context) -> str:
    """Report progress for each step and log once."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps)
    await ctx.info("counted")
    return f"counted {steps}"


@mcp.tool
async def slow(seconds: float) -> str:
    """Sleep, so a client can cancel the call."""
    await anyio.sleep(seconds)
    return "done"


@mcp.resource("data://greeting")
def greeting() -> str:
    """A fixed greeting."""
    return "hello from FastMCP"


@mcp.prompt
def greet(name: str) -> str:
    """Greet someone."""
    return f"Say hello to {name}"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        mcp.run("stdio", show_banner=False)
    else:
        mcp.run("http", host="127.0.0.1", port=int(sys.argv[2]), show_banner=False, log_level="error")
