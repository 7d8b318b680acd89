"""The app's limits: set on ``Conduit(...)``, overridden by server options and ``conduit run`` flags."""

from __future__ import annotations

import httpx
import pytest

from conduit import Conduit, Request
from conduit.server.config import ServerConfig
from conduit.testing.client import LiveServer

from _process import ServerProcess


def _echo_app(**limits) -> Conduit:
    app = Conduit(**limits)

    @app.post("/echo")
    async def echo(request: Request):
        return {"size": len(await request.body())}

    return app


def test_defaults_equal_the_server_defaults():
    app = Conduit()
    assert (app.max_body_size, app.handler_timeout, app.websocket_max_message_size) == (1 << 20, 30.0, 1 << 20)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("max_body_size", 0, "max_body_size must be a whole number of bytes >= 1"),
    ("max_body_size", 1.5, "max_body_size must be a whole number of bytes >= 1"),
    ("websocket_max_message_size", -1, "websocket_max_message_size must be a whole number"),
    ("handler_timeout", 0, "handler_timeout must be > 0 seconds"),
    ("handler_timeout", float("nan"), "handler_timeout must be > 0 seconds"),
])
def test_bad_limits_are_refused_naming_the_limit(option, value, message):
    with pytest.raises(ValueError, match=message):
        Conduit(**{option: value})


def test_a_limit_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match="max_body_size must be a number, got '1MB'"):
        Conduit(max_body_size="1MB")


def test_the_app_limit_applies_on_the_server():
    with LiveServer(_echo_app(max_body_size=1000)) as live:
        assert httpx.post(live.url + "/echo", content=b"x" * 1000).json() == {"size": 1000}
        assert httpx.post(live.url + "/echo", content=b"x" * 1001).status_code == 413


def test_a_server_option_overrides_the_app_limit_while_it_serves():
    app = _echo_app(max_body_size=1000)
    with LiveServer(app, max_body_size=5000) as live:
        assert httpx.post(live.url + "/echo", content=b"x" * 4000).json() == {"size": 4000}
        assert app.max_body_size == 5000
    assert app.max_body_size == 1000  # restored when the server stops


def test_server_config_leaves_app_limits_to_the_app_unless_given():
    assert ServerConfig().app_limits() == {}
    assert ServerConfig(handler_timeout=2.0).app_limits() == {"handler_timeout": 2.0}
    with pytest.raises(ValueError, match="max_body_size must be >= 1"):
        ServerConfig.from_options(max_body_size=0)


@pytest.mark.slow
def test_conduit_run_flags_override_the_app_limits():
    with ServerProcess("_limits_app:app") as server:
        server.wait_ready()
        assert httpx.post(server.url + "/echo", content=b"x" * 101).status_code == 413
    with ServerProcess("_limits_app:app", "--max-body-size", "200", "--handler-timeout", "1") as server:
        server.wait_ready()
        assert httpx.post(server.url + "/echo", content=b"x" * 150).json() == {"size": 150}
        assert httpx.post(server.url + "/echo", content=b"x" * 201).status_code == 413
        # issue 21: a sync handler sleeping 3 s answered 200 after 3 s under --handler-timeout 1
        assert httpx.get(server.url + "/sleep-sync", timeout=30).status_code == 504
