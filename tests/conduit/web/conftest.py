"""Shared fixtures: one live server per test module, an httpx client per test."""

from __future__ import annotations

import httpx
import pytest

from conduit import LiveServer


@pytest.fixture(scope="module")
def server(request):
    """The module's ``make_app()`` on a real socket."""
    with LiveServer(request.module.make_app()) as live:
        yield live


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url) as http:
        yield http
