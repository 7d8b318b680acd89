"""MCP tasks: task records and their bounded table, and running tools as tasks."""
