"""The ways MCP messages arrive: stdio, Streamable HTTP, legacy HTTP+SSE, and their sessions and stores."""
