"""Serve, over stdio, a proxy of the MCP server given on the command line.

``python proxy_server.py URL`` or ``python proxy_server.py -- COMMAND ARGS...``.
"""

import sys

from conduit.mcp import MCPServer

target = sys.argv[2:] if sys.argv[1] == "--" else sys.argv[1]
MCPServer.proxy(target).run_stdio()
