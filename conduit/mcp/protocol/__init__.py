"""The sans-IO MCP protocol: JSON-RPC framing, the two eras, the dispatcher and its handlers."""
