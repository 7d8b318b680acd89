"""The official SDK's server (``mcp`` 2.x ``MCPServer``) for the client and proxy tests.

``python sdk_server.py stdio`` or ``python sdk_server.py http PORT`` (uvicorn, 127.0.0.1).
"""

import sys

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

mcp = MCPServer("sdk-peer")


class Answer(BaseModel):
    name: str


@mcp.tool()
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
async def count(steps: int, ctx: Context) -> str:
    """Report progress for each step and log once."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps)
    await ctx.info("counted")
    return f"counted {steps}"


@mcp.tool()
async def slow(seconds: float) -> str:
    """Sleep, so a client can cancel the call."""
    await anyio.sleep(seconds)
    return "done"


@mcp.tool()
async def ask_name(ctx: Context) -> str:
    """Elicit a name from the user."""
    result = await ctx.elicit("Your name?", schema=Answer)
    return f"hello {result.data.name}" if result.action == "accept" else result.action


@mcp.resource("data://greeting")
def greeting() -> str:
    """A fixed greeting."""
    return "hello from the SDK"


@mcp.prompt()
def greet(name: str) -> str:
    """Greet someone."""
    return f"Say hello to {name}"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        mcp.run("stdio")
    else:
        uvicorn.run(mcp.streamable_http_app(json_response=False), host="127.0.0.1", port=int(sys.argv[2]),
                    log_level="error")
