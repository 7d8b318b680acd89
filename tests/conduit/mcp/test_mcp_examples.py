"""The example servers: filesystem confinement, read-only SQL with bound params, sample weather."""

from __future__ import annotations

import os

import pytest
import trio

from conduit.mcp.protocol import Connection

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


@pytest.mark.parametrize("sql", ["DELETE FROM cities", "SELECT 1; DROP TABLE cities", "UPDATE cities SET name='x'",
                                 "WITH x AS (SELECT 1) DELETE FROM cities"])
def test_sqlite_refuses_writes(sqlite, sql):
    assert call(sqlite.mcp, "query", {"sql": sql}).get("isError") is True
    assert call(sqlite.mcp, "query", {"sql": "SELECT count(*) FROM cities"})["structuredContent"]["rows"] == [[3]]


def test_weather_sample_data(load_mcp_example):
    weather = load_mcp_example("weather")
    result = call(weather.mcp, "current_weather", {"city": "Paris", "unit": "f"})
    assert result["structuredContent"]["unit"] == "F"
    assert call(weather.mcp, "current_weather", {"city": "Atlantis"}).get("isError") is True
    assert len(call(weather.mcp, "forecast", {"city": "tokyo", "days": 2})["structuredContent"]["result"]) == 2
