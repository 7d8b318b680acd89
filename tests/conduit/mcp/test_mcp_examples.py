"""The example servers: filesystem confinement, read-only SQL with bound params, sample weather."""

from __future__ import annotations

import os

import pytest
import trio

from conduit.mcp.protocol.dispatcher import Connection

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def call(server, name, arguments):
    async def go():
        connection = Connection(server)
        await connection.handle(INIT)
        return await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": name, "arguments": arguments}})
    return trio.run(go)["result"]


@pytest.fixture
def filesystem(tmp_path, monkeypatch, load_mcp_example):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink(tmp_path, root / "outside")
    monkeypatch.setenv("MCP_FS_ROOT", str(root))
    monkeypatch.delenv("MCP_FS_WRITABLE", raising=False)
    return load_mcp_example("filesystem")


def test_filesystem_reads_inside_the_root(filesystem):
    assert call(filesystem.mcp, "read_file", {"path": "sub/a.txt"})["content"][0]["text"] == "hello"
    listing = call(filesystem.mcp, "list_directory", {"path": "."})
    assert listing["structuredContent"]["result"] == ["escape.txt", "outside/", "sub/"]
    assert "write_file" not in filesystem.mcp.tools  # read-only by default


@pytest.mark.parametrize("path", ["../secret.txt", "sub/../../secret.txt", "/etc/passwd", "escape.txt",
                                  "outside/secret.txt", ""])
def test_filesystem_refuses_escapes(filesystem, path):
    result = call(filesystem.mcp, "read_file", {"path": path})
    assert result.get("isError") is True
    assert "top secret" not in result["content"][0]["text"]


@pytest.fixture
def sqlite(monkeypatch, load_mcp_example):
    monkeypatch.delenv("MCP_SQLITE_DB", raising=False)
    return load_mcp_example("sqlite")


def test_sqlite_bound_parameters(sqlite):
    result = call(sqlite.mcp, "query", {"sql": "SELECT name FROM cities WHERE country = ? ORDER BY name",
                                         "params": ["FR"]})
    assert result["structuredContent"]["rows"] == [["Lyon"], ["Paris"]]
    injected = call(sqlite.mcp, "query", {"sql": "SELECT name FROM cities WHERE country = ?",
                                           "params": ["FR' OR '1'='1"]})
    assert injected["structuredContent"]["rows"] == []


WRITES = ["DELETE FROM cities", "SELECT 1; DROP TABLE cities", "UPDATE cities SET name='x'",
          "WITH x AS (SELECT 1) DELETE FROM cities", "EXPLAIN PRAGMA query_only = OFF",
          "EXPLAIN QUERY PLAN PRAGMA writable_schema = ON", "WITH x AS (SELECT 1) INSERT INTO cities SELECT 'a','b',1",
          "EXPLAIN ATTACH DATABASE ':memory:' AS other", "SELECT load_extension('x')"]


@pytest.mark.parametrize("sql", WRITES)
def test_sqlite_refuses_writes(sqlite, sql):
    assert call(sqlite.mcp, "query", {"sql": sql}).get("isError") is True
    assert call(sqlite.mcp, "query", {"sql": "SELECT count(*) FROM cities"})["structuredContent"]["rows"] == [[3]]


def test_sqlite_pragma_cannot_switch_the_guard_off(sqlite):
    """Issue 13: EXPLAIN PRAGMA ran the pragma at prepare time, then WITH ... DELETE deleted rows."""
    assert call(sqlite.mcp, "query", {"sql": "EXPLAIN PRAGMA query_only = OFF"}).get("isError") is True
    result = call(sqlite.mcp, "query", {"sql": "WITH x AS (SELECT 1) DELETE FROM cities"})
    assert result.get("isError") is True
    assert call(sqlite.mcp, "query", {"sql": "SELECT count(*) FROM cities"})["structuredContent"]["rows"] == [[3]]


def test_sqlite_file_database_is_opened_read_only(tmp_path, monkeypatch, load_mcp_example):
    import sqlite3

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t(x INTEGER)")
        db.execute("INSERT INTO t VALUES (1), (2)")
    monkeypatch.setenv("MCP_SQLITE_DB", str(path))
    module = load_mcp_example("sqlite")
    for sql in WRITES[:4] + ["EXPLAIN PRAGMA query_only = OFF"]:
        assert call(module.mcp, "query", {"sql": sql.replace("cities", "t")}).get("isError") is True
    assert call(module.mcp, "query", {"sql": "SELECT sum(x) FROM t"})["structuredContent"]["rows"] == [[3]]
    assert call(module.mcp, "list_tables", {})["structuredContent"]["result"] == ["t"]


FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_sqlite_deadline_stops_a_runaway_query(monkeypatch, load_mcp_example):
    monkeypatch.delenv("MCP_SQLITE_DB", raising=False)
    monkeypatch.setenv("MCP_SQLITE_TIMEOUT", "0.3")
    module = load_mcp_example("sqlite")
    result = call(module.mcp, "query", {"sql": FOREVER})
    assert result.get("isError") is True and "longer than 0.3 s" in result["content"][0]["text"]
    assert module.active_queries == 0
    assert call(module.mcp, "query", {"sql": "SELECT count(*) FROM cities"})["structuredContent"]["rows"] == [[3]]


def test_sqlite_cancellation_stops_the_query(monkeypatch, load_mcp_example):
    monkeypatch.delenv("MCP_SQLITE_DB", raising=False)
    monkeypatch.setenv("MCP_SQLITE_TIMEOUT", "600")
    module = load_mcp_example("sqlite")

    async def go():
        connection = Connection(module.mcp)
        await connection.handle(INIT)
        answers = []

        async def run_forever():
            answers.append(await connection.handle({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                                    "params": {"name": "query", "arguments": {"sql": FOREVER}}}))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_forever)
            while module.active_queries == 0:
                await trio.sleep(0.01)
            # Other queries do not wait behind it (one connection per query).
            other = await connection.handle({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {
                "name": "query", "arguments": {"sql": "SELECT count(*) FROM cities"}}})
            assert other["result"]["structuredContent"]["rows"] == [[3]]
            await connection.handle({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                     "params": {"requestId": 9}})
        assert answers == [None]  # a cancelled request gets no response
        with trio.fail_after(60):  # the thread ends its query: the progress handler saw the cancel
            while module.active_queries:
                await trio.sleep(0.01)
    trio.run(go)


def test_sqlite_process_exits_on_stdin_eof_during_a_runaway_query(tmp_path):
    import json
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[3]
    env = dict(os.environ, MCP_SQLITE_TIMEOUT="600",
               PYTHONPATH=os.pathsep.join([str(root), str(root / "kernels")]))
    env.pop("MCP_SQLITE_DB", None)
    lines = [INIT, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "query", "arguments": {"sql": FOREVER}}}]
    proc = subprocess.run([sys.executable, str(root / "examples" / "mcp" / "sqlite.py")], env=env, cwd=tmp_path,
                          input="".join(json.dumps(m) + "\n" for m in lines).encode(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout.splitlines()[0])["result"]["serverInfo"]["name"] == "sqlite"


def test_sqlite_caps_rows_and_bytes(monkeypatch, load_mcp_example):
    monkeypatch.delenv("MCP_SQLITE_DB", raising=False)
    monkeypatch.setenv("MCP_SQLITE_MAX_BYTES", "100000")
    module = load_mcp_example("sqlite")
    many = call(module.mcp, "query", {"sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                                             "LIMIT 100000) SELECT x FROM c"})["structuredContent"]
    assert len(many["rows"]) == module.MAX_ROWS and many["truncated"] is True
    wide = call(module.mcp, "query", {"sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                                             "LIMIT 50) SELECT printf('%.*c', 30000, 'x') FROM c"})
    wide = wide["structuredContent"]
    assert wide["truncated"] is True and sum(len(r[0]) for r in wide["rows"]) <= 100000
    huge = call(module.mcp, "query", {"sql": "SELECT zeroblob(40000000)"})
    assert huge.get("isError") is True and "too big" in huge["content"][0]["text"]


def test_weather_sample_data(load_mcp_example):
    weather = load_mcp_example("weather")
    result = call(weather.mcp, "current_weather", {"city": "Paris", "unit": "f"})
    assert result["structuredContent"]["unit"] == "F"
    assert call(weather.mcp, "current_weather", {"city": "Atlantis"}).get("isError") is True
    assert len(call(weather.mcp, "forecast", {"city": "tokyo", "days": 2})["structuredContent"]["result"]) == 2
