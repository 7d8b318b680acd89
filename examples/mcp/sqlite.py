"""A SQLite MCP server: read-only queries with bound parameters.

    MCP_SQLITE_DB=app.db conduit mcp examples.mcp.sqlite:mcp

The database is opened read-only (``mode=ro`` URI), statements must be a single
SELECT/WITH/EXPLAIN, and values are always bound as parameters (``?`` or ``:name``):
SQL is never built from strings. Without MCP_SQLITE_DB a small in-memory sample is used.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from conduit.mcp import MCPServer

DB_PATH = os.environ.get("MCP_SQLITE_DB")
MAX_ROWS = 500

mcp = MCPServer("sqlite", version="1.0.0", instructions="Read-only SQL over one SQLite database.")


def _connect() -> sqlite3.Connection:
    if DB_PATH:
        connection = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, check_same_thread=False)
    else:
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.executescript(
            "CREATE TABLE cities(name TEXT, country TEXT, population INTEGER);"
            "INSERT INTO cities VALUES ('Paris','FR',2102650),('Lyon','FR',522250),('Berlin','DE',3755251);")
    connection.execute("PRAGMA query_only = ON")  # belt and braces: no writes even in memory
    return connection


_db = _connect()


def _check_read_only(sql: str) -> None:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if head not in ("SELECT", "WITH", "EXPLAIN"):
        raise ValueError("only SELECT, WITH and EXPLAIN statements are allowed")
    if not sqlite3.complete_statement(sql.rstrip().rstrip(";") + ";") or ";" in sql.strip().rstrip(";"):
        raise ValueError("exactly one statement is allowed")


@mcp.tool(read_only=True, idempotent=True)
def query(sql: str, params: list[Any] | dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one read-only SQL statement with bound parameters.

    Args:
        sql: A single SELECT/WITH/EXPLAIN statement using ? or :name placeholders
        params: Values bound to the placeholders (a list for ?, an object for :name)
    """
    _check_read_only(sql)
    cursor = _db.execute(sql, params or ())
    columns = [d[0] for d in cursor.description or ()]
    rows = cursor.fetchmany(MAX_ROWS + 1)
    return {"columns": columns, "rows": [list(r) for r in rows[:MAX_ROWS]], "truncated": len(rows) > MAX_ROWS}


@mcp.tool(read_only=True, idempotent=True)
def list_tables() -> list[str]:
    """Names of the tables in the database."""
    return [r[0] for r in _db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


@mcp.resource("sqlite://schema/{table}", mime_type="text/plain", description="A table's CREATE statement")
def table_schema(table: str) -> str:
    row = _db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if row is None:
        raise ValueError(f"no table {table!r}")
    return row[0]


if __name__ == "__main__":
    mcp.run_stdio()
