"""conduit routes MODULE:APP --check: shadowing, trailing slashes, path-like parameters, binding."""

import subprocess
import sys
import textwrap

from conduit import Conduit
from conduit.routing.checks import check_app


def quiet_app():
    return Conduit(openapi_url=None, docs_url=None)


def test_clean_app_has_no_findings():
    from examples.rest_api import app

    assert check_app(app) == []


def test_empty_catch_all_shadowed():
    app = quiet_app()
    app.get("/a/{x}")(lambda x: None)
    app.get("/a/{x}/{rest:path}")(lambda x, rest: None)
    app.get("/a/*tail")(lambda tail: None)
    findings = check_app(app)
    assert [f.level for f in findings] == ["error"]
    assert "/a/*tail" in findings[0].route and "reachable only when the catch-all is empty" in findings[0].message


def test_unreachable_route():
    app = quiet_app()
    app.get("/a/")(lambda: None)
    app.get("/a/{x}")(lambda x: None)
    app.get("/a/{x}/{rest:path}")(lambda x, rest: None)
    app.get("/a/*tail")(lambda tail: None)
    errors = [f for f in check_app(app) if f.level == "error"]
    assert len(errors) == 1 and "/a/*tail" in errors[0].route and "unreachable for GET" in errors[0].message


def test_partly_shadowed_is_a_warning():
    app = quiet_app()
    app.get("/items/{id:int}")(lambda id: None)
    app.get("/items/{slug}")(lambda slug: None)
    findings = check_app(app)
    assert [f.level for f in findings] == ["warning"]
    assert "/items/{slug}" in findings[0].route and "'7' goes to /items/{id:int}" in findings[0].message


def test_trailing_slash_and_path_like_params():
    app = quiet_app()
    app.get("/users")(lambda: None)
    app.get("/users/")(lambda: None)

    @app.get("/orders")
    def orders(order_id: int):
        return None

    findings = check_app(app)
    assert {f.level for f in findings} == {"warning"}
    messages = " ".join(f.message for f in findings)
    assert "trailing slash" in messages and "'/users'" in messages and "'/users/'" in messages
    assert "'order_id' looks like a path parameter" in messages


def test_reachable_priorities_are_not_flagged():
    app = quiet_app()
    app.get("/items/{id:int}")(lambda id: None)
    app.get("/items/new")(lambda: None)
    app.get("/items/*rest")(lambda rest: None)
    assert check_app(app) == []


def run_cli(tmp_path, source):
    (tmp_path / "checked_app.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "conduit.cli", "routes", "checked_app:app", "--check"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_cli_exit_codes(tmp_path):
    bad = run_cli(tmp_path, """
        from conduit import Conduit
        app = Conduit()
        app.get("/a/{x}")(lambda x: None)
        app.get("/a/{x}/{rest:path}")(lambda x, rest: None)
        app.get("/a/*tail")(lambda tail: None)
        app.get("/b")(lambda: None)
        app.get("/b/")(lambda: None)
    """)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "error: GET /a/*tail" in bad.stdout and "warning:" in bad.stdout


def test_cli_unbindable_handler(tmp_path):
    result = run_cli(tmp_path, """
        from conduit import Conduit
        app = Conduit()
        class Opaque: pass
        @app.get("/x")
        def x(thing: Opaque):
            return None
    """)
    assert result.returncode == 1
    assert "error: route '/x'" in result.stdout and "'thing' cannot be bound" in result.stdout


def test_cli_clean(tmp_path):
    result = run_cli(tmp_path, """
        from conduit import Conduit
        app = Conduit()
        app.get("/a/{id:int}")(lambda id: None)
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout
