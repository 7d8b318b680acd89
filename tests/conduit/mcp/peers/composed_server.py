"""A parent MCPServer with a "weather" server mounted on it (composition tests, stdio).

``python composed_server.py`` serves it over stdio.
"""

from conduit.mcp import Context, MCPServer, resource_link


def weather_server() -> MCPServer:
    weather = MCPServer("weather")

    @weather.tool()
    async def forecast(city: str, ctx: Context) -> str:
        """Tomorrow's weather for a city."""
        await ctx.report_progress(1, 2)
        await ctx.info(f"forecasting {city}")
        await ctx.report_progress(2, 2)
        return f"sunny in {city}"

    @weather.tool()
    def station_link(station: int):
        """A link to a station's resource."""
        return [resource_link(f"data://stations/{station}", f"station {station}"),
                resource_link("https://example.org/x", "elsewhere")]

    @weather.resource("data://stations")
    def stations() -> str:
        return "1,2,7"

    @weather.resource("data://stations/{station_id}")
    def station(station_id: int) -> str:
        return f"station {station_id}"

    @weather.completion("data://stations/{station_id}", "station_id")
    def complete_station(value: str, context: dict) -> list[str]:
        return [s for s in ("1", "2", "7") if s.startswith(value)]

    @weather.prompt()
    def brief(city: str) -> str:
        """Ask for a weather brief."""
        return f"Brief me on {city}"

    return weather


def composed() -> tuple[MCPServer, MCPServer]:
    parent = MCPServer("parent")

    @parent.tool()
    def hello(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    weather = weather_server()
    parent.mount(weather, prefix="weather")
    return parent, weather


if __name__ == "__main__":
    composed()[0].run_stdio()
