"""A SQLite MCP server: read-only queries with bound parameters, bounded in time and size.

    MCP_SQLITE_DB=app.db conduit mcp examples.mcp.sqlite:mcp

Read-only is enforced by SQLite itself, not by reading the SQL: every statement is
compiled under an authorizer that allows reads only (no write, no PRAGMA, no ATTACH,
no schema change), on a connection opened ``mode=ro`` when a file is served. A text check
in front only gives a clearer message. (Why not the text check alone: SQLite runs a
pragma while preparing it, so ``EXPLAIN PRAGMA query_only = OFF`` used to pass a
"starts with EXPLAIN" check and switch the guard off.)

Each query gets its own connection, so a slow one never makes the others wait, and a
progress handler that stops it at its deadline (``MCP_SQLITE_TIMEOUT`` seconds, default 5)
or as soon as the request is cancelled (``notifications/cancelled``, or the server shutting
down on stdin EOF). Answers are capped at ``MAX_ROWS`` rows and ``MCP_SQLITE_MAX_BYTES``
bytes (default 1 MB; SQLite refuses any single value larger than that), with
``truncated: true`` when rows were left out. Values are always bound as parameters
(``?`` or ``:name``): SQL is never built from strings. Without MCP_SQLITE_DB a small
in-memory sample is used.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import time
from typing import Any

import trio

from conduit.mcp import MCPServer

DB_PATH = os.environ.get("MCP_SQLITE_DB")
TIMEOUT_SECONDS = float(os.environ.get("MCP_SQLITE_TIMEOUT", "5"))
MAX_BYTES = int(os.environ.get("MCP_SQLITE_MAX_BYTES", "1000000"))
MAX_ROWS = 500
_SAMPLE_URI = f"file:conduit-sqlite-sample-{os.getpid()}?mode=memory&cache=shared"

mcp = MCPServer("sqlite", version="1.0.0", instructions="Read-only SQL over one SQLite database.")

# What a read needs; everything else (INSERT, UPDATE, DELETE, CREATE, PRAGMA, ATTACH, ...) is denied.
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                      getattr(sqlite3, "SQLITE_RECURSIVE", 33)})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit"})
active_queries = 0  # queries whose thread is still running (read by the tests)
_active_lock = threading.Lock()


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
    if action not in _ALLOWED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _sample_keeper() -> sqlite3.Connection | None:
    """The in-memory sample lives as long as this connection (shared cache, by URI)."""
    if DB_PATH:
        return None
    keeper = sqlite3.connect(_SAMPLE_URI, uri=True, check_same_thread=False)
    keeper.executescript(
        "CREATE TABLE IF NOT EXISTS cities(name TEXT, country TEXT, population INTEGER);"
        "DELETE FROM cities;"
        "INSERT INTO cities VALUES ('Paris','FR',2102650),('Lyon','FR',522250),('Berlin','DE',3755251);")
    return keeper


_keeper = _sample_keeper()


def _connect() -> sqlite3.Connection:
    """A fresh read-only connection: ``mode=ro`` for a file, query_only, the read authorizer."""
    uri = f"file:{DB_PATH}?mode=ro" if DB_PATH else _SAMPLE_URI
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")  # before the authorizer, which denies every PRAGMA
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_BYTES)
    connection.set_authorizer(_authorizer)
    return connection


def _check_read_only(sql: str) -> None:
    """A clear message for the common mistakes; the authorizer is what actually refuses."""
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if head not in ("SELECT", "WITH", "EXPLAIN", "VALUES"):
        raise ValueError("only SELECT, WITH, VALUES and EXPLAIN statements are allowed")
    if not sqlite3.complete_statement(sql.rstrip().rstrip(";") + ";") or ";" in sql.strip().rstrip(";"):
        raise ValueError("exactly one statement is allowed")


def _cell(value: Any) -> Any:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 8


def _execute(sql: str, params: Any, stop: threading.Event) -> dict[str, Any]:
    global active_queries
    deadline = time.monotonic() + TIMEOUT_SECONDS
    connection = _connect()
    # Called every 1,000 SQLite VM steps: a non-zero answer aborts the statement.
    connection.set_progress_handler(lambda: stop.is_set() or time.monotonic() > deadline, 1000)
    with _active_lock:
        active_queries += 1
    try:
        cursor = connection.execute(sql, params or ())
        columns = [d[0] for d in cursor.description or ()]
        rows: list[list[Any]] = []
        size = 0
        truncated = False
        for row in cursor:
            size += sum(_size(v) for v in row)
            if len(rows) >= MAX_ROWS or size > MAX_BYTES:
                truncated = True
                break
            rows.append([_cell(v) for v in row])
        return {"columns": columns, "rows": rows, "truncated": truncated}
    except sqlite3.OperationalError as exc:
        if str(exc) == "interrupted":
            reason = "cancelled" if stop.is_set() else f"took longer than {TIMEOUT_SECONDS:g} s"
            raise ValueError(f"query stopped: it {reason}") from None
        raise ValueError(f"query refused: {exc}") from None
    except sqlite3.DatabaseError as exc:  # e.g. "not authorized", "string or blob too big"
        raise ValueError(f"query refused: {exc}") from None
    finally:
        connection.close()
        with _active_lock:
            active_queries -= 1


@mcp.tool(read_only=True, idempotent=True)
async def query(sql: str, params: list[Any] | dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one read-only SQL statement with bound parameters.

    Args:
        sql: A single SELECT/WITH/VALUES/EXPLAIN statement using ? or :name placeholders
        params: Values bound to the placeholders (a list for ?, an object for :name)
    """
    _check_read_only(sql)
    stop = threading.Event()
    try:
        # abandon_on_cancel: a cancelled request returns at once; the progress handler
        # sees ``stop`` within 1,000 VM steps and the thread ends its query.
        return await trio.to_thread.run_sync(_execute, sql, params, stop, abandon_on_cancel=True)
    finally:
        stop.set()


@mcp.tool(read_only=True, idempotent=True)
def list_tables() -> list[str]:
    """Names of the tables in the database."""
    connection = _connect()
    try:
        return [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    finally:
        connection.close()


@mcp.resource("sqlite://schema/{table}", mime_type="text/plain", description="A table's CREATE statement")
def table_schema(table: str) -> str:
    connection = _connect()
    try:
        row = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (table,)).fetchone()
    finally:
        connection.close()
    if row is None:
        raise LookupError(f"no table {table!r}")
    return row[0]


if __name__ == "__main__":
    mcp.run_stdio()
