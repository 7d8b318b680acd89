"""Issue 26, item 1: an option nobody reads is a TypeError at registration, naming the nearest known one.

Before: ``@app.get("/x", status_cod=201)`` and ``totally_made_up_option=1`` were accepted and did
nothing. After: every route decorator, ``APIRouter``, ``app.predict``, ``app.mount_mcp`` and
``@mcp.tool`` checks its keywords.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings, strategies as st

from conduit import APIRouter, Conduit, TestClient
from conduit.routing.options import ROUTE_OPTIONS


def test_status_cod_typo_names_status_code():
    app = Conduit()
    with pytest.raises(TypeError, match=r"'status_cod' \(did you mean 'status_code'\?\)"):
        @app.post("/items", status_cod=201)
        async def create():
            return {}
    assert all(r.pattern != "/items" for r in app.router.routes)  # nothing half-registered


def test_totally_made_up_option_lists_the_known_ones():
    app = Conduit()
    with pytest.raises(TypeError, match="totally_made_up_option") as info:
        app.add_route("/x", lambda: {}, ["GET"], totally_made_up_option=1)
    assert "status_code" in str(info.value)  # no close match: the known options are listed


def test_router_refuses_at_its_decorator_not_at_include():
    router = APIRouter(prefix="/r")
    with pytest.raises(TypeError, match="'respons_model' .*'response_model'"):
        @router.get("/a", respons_model=dict)
        async def a():
            return {}


def test_every_known_option_is_accepted():
    app = Conduit()
    app.get("/ok", status_code=201, tags=["t"], summary="s", description="d", deprecated=True,
            include_in_schema=True, operation_id="ok", responses={}, errors=(404,), max_body_size=10,
            run_in_thread=False, name="ok", response_model=None)(lambda: {"a": 1})
    with TestClient(app) as client:
        assert client.get("/ok").status_code == 201


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=20))
def test_any_unknown_keyword_is_refused_by_name(option):
    app = Conduit()
    if option in ROUTE_OPTIONS:
        return
    with pytest.raises(TypeError, match=repr(option).replace("\\", "\\\\")):
        app.add_route("/x", lambda: {}, ["GET"], **{option: 1})


def test_mcp_tool_typo_names_the_option():
    from conduit.mcp import MCPServer

    mcp = MCPServer("t")
    with pytest.raises(TypeError, match=r"@mcp.tool got an unknown option 'read_onyl' \(did you mean 'read_only'\?\)"):
        @mcp.tool(read_onyl=True)
        def add(a: int, b: int) -> int:
            return a + b
    with pytest.raises(TypeError, match="'descripton'"):
        mcp.add_tool(lambda: 1, descripton="x")


def test_mount_mcp_typo_names_the_option():
    from conduit.mcp import MCPServer

    app = Conduit()
    with pytest.raises(TypeError, match=r"app.mount_mcp got an unknown option 'statless' \(did you mean 'stateless'\?\)"):
        app.mount_mcp("/mcp", MCPServer("t"), statless=True)


def test_predict_typo_names_the_option():
    pytest.importorskip("sklearn", reason="app.predict needs scikit-learn (the ml extra)")
    from sklearn.linear_model import LogisticRegression

    X = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]]
    model = LogisticRegression().fit(X, [0, 1, 1, 0])
    app = Conduit()
    with pytest.raises(TypeError, match=r"app.predict got an unknown option 'max_batchsize' \(did you mean 'max_batch_size'\?\)"):
        app.predict("/p", model, max_batchsize=8)
    with pytest.raises(TypeError, match="only apply with stream=True"):
        app.predict("/p", model, chunk_size=8)
