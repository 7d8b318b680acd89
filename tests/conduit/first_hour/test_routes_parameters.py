"""Issue 26, item 8: ``conduit routes`` lists every parameter; ``--check`` analyses query parameters.

Before: only path parameters were shown. After: path, query, header, cookie, body, form and file
inputs with their type and constraints; ``--check`` warns about unbounded pagination, unbounded
search text and int-looking parameters typed ``str``, each with the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest

from conduit import Conduit, File, Form, Header, Query, UploadFile
from conduit.cli import routes_table
from conduit.routing.checks import check_app

ROOT = Path(__file__).resolve().parents[3]


class Item(dict):
    pass


def _app() -> Conduit:
    app = Conduit()

    @app.get("/items/{item_id:int}")
    def read(item_id: int, page: int = 1, limit: int = 10, q: str = "", user_id: str | None = None,
             x_token: Annotated[str, Header(max_length=64)] = "") -> dict:
        return {}

    @app.get("/good")
    def good(page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10,
             q: Annotated[str, Query(max_length=200)] = "", cursor: Annotated[str, Query(max_length=64)] = "") -> dict:
        return {}

    @app.post("/upload")
    async def upload(title: Annotated[str, Form(min_length=1)], file: Annotated[UploadFile, File()]) -> dict:
        return {}

    @app.post("/items")
    def create(item: dict[str, int]) -> dict:
        return {}

    return app


def test_every_parameter_is_listed_with_type_and_constraints():
    rows = {(row[0], row[1]): row[3] for row in routes_table(_app())}
    read = rows[("GET", "/items/{item_id:int}")]
    for part in ("path item_id: int", "query page: int = 1", "query limit: int = 10", "query q: str = ''",
                 "query user_id: str | None = None", "header x-token: str [max_length=64] = ''"):
        assert part in read, read
    assert "query limit: int [ge=1, le=100] = 10" in rows[("GET", "/good")]
    assert rows[("POST", "/upload")] == "form title: str [min_length=1]; file file: UploadFile"
    assert rows[("POST", "/items")] == "body item: dict[str, int]"


def test_check_flags_each_query_problem_with_its_fix():
    messages = [f.message for f in check_app(_app()) if f.route.startswith("GET /items/")]
    assert any("'page' has no lower bound" in m and "Query(ge=1)" in m for m in messages), messages
    assert any("'limit' is unbounded" in m and "Query(ge=1, le=100)" in m for m in messages), messages
    assert any("search query 'q' has no length limit" in m and "max_length=200" in m for m in messages), messages
    assert any("'user_id' looks like an integer but is typed str" in m and "user_id: int" in m for m in messages)
    assert not [f for f in check_app(_app()) if f.route.startswith("GET /good")]


def test_routes_check_json_from_the_command_line(tmp_path):
    (tmp_path / "paged.py").write_text("from conduit import Conduit\napp = Conduit()\n"
                                       "@app.get('/list')\ndef listing(page: int = 1, per_page: int = 20): ...\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "kernels")]))
    done = subprocess.run([sys.executable, "-m", "conduit.cli", "routes", "paged:app", "--check", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    text = json.dumps(report)
    assert "'per_page' is unbounded" in text and "query page: int = 1" in text
