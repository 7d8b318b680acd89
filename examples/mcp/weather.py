"""A weather MCP server on bundled sample data (examples/mcp/data/weather.json; offline).

    conduit mcp examples.mcp.weather:mcp --http --port 3000
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Literal

from conduit.mcp import Context, MCPServer

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "weather.json").read_text())

mcp = MCPServer("weather", version="1.0.0", instructions="Sample weather for a few cities (static data).")


@dataclasses.dataclass
class Current:
    city: str
    temperature: float
    unit: str
    condition: str
    humidity: int


def _city(name: str) -> dict:
    entry = DATA.get(name.strip().lower())
    if entry is None:
        raise ValueError(f"unknown city {name!r}; known: {', '.join(sorted(DATA))}")
    return entry


@mcp.tool(read_only=True, idempotent=True)
def current_weather(city: str, unit: Literal["c", "f"] = "c") -> Current:
    """Current conditions in a city.

    Args:
        city: City name, e.g. Paris
        unit: c for Celsius, f for Fahrenheit
    """
    entry = _city(city)
    now = entry["current"]
    temperature = now["temperature_c"] if unit == "c" else round(now["temperature_c"] * 9 / 5 + 32, 1)
    return Current(entry["name"], temperature, unit.upper(), now["condition"], now["humidity"])


@mcp.tool(read_only=True, idempotent=True)
async def forecast(city: str, days: int = 3, ctx: Context | None = None) -> list[dict]:
    """A few days of forecast for a city.

    Args:
        city: City name
        days: Number of days (1-3)
    """
    entry = _city(city)
    if ctx is not None:
        await ctx.info(f"forecast for {entry['name']}")
    return entry["forecast"][:max(1, min(days, 3))]


@mcp.resource("weather://cities", mime_type="application/json", description="Cities with sample data")
def cities() -> list[str]:
    return [entry["name"] for entry in DATA.values()]


@mcp.prompt(description="Ask for a packing list suited to a city's forecast")
def packing_list(city: str) -> str:
    """Packing advice.

    Args:
        city: Where you are going
    """
    return f"Look at the forecast for {city} (use the forecast tool) and suggest what to pack."


@mcp.completion("packing_list", "city")
def complete_city(value: str, context: dict[str, str]) -> list[str]:
    return [e["name"] for e in DATA.values() if e["name"].lower().startswith(value.lower())]


if __name__ == "__main__":
    mcp.run_stdio()
