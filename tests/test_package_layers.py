"""Which package of ``conduit`` may import which (issue 21: the layout shows the faces).

The layers, bottom up: the sans-IO core (``http``, ``routing``, ``binding``, ``types``, ...),
the faces that move bytes (``server``, ``asgi``, ``testing``), the app that owns the
request lifecycle, and above it the capabilities built on the app (``mcp``, ``ml``,
``vector``), the command line and ``conduit.ray`` (Ray Serve deployments). An edge is any import, at module level, inside a
function or under ``TYPE_CHECKING`` (scripts/import_cycles.py reads them all). Pinned:

* ``http`` and ``routing`` never import ``server``, ``asgi`` or ``testing``;
* nothing below the app imports it (nor the root package, which re-exports it);
* nothing below the app imports ``mcp``, ``ml`` or ``vector``; the app reaches ``mcp``
  and ``ml`` only inside its facade methods (``mount_mcp``, ``predict``), so importing
  the app never loads them, and it never reaches ``vector``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SANS_IO = {"http", "routing"}
FACES = {"server", "asgi", "testing"}
ABOVE_CORE = {"mcp", "ml", "vector"}
TOP = {"app", "cli", "bench", "ray", "__init__"} | ABOVE_CORE  # ray: Ray Serve deployments; bench: conduit bench


def _script():
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package_edges(root: Path) -> dict[str, set[str]]:
    """``{package: packages it imports}``; a package is the first name under the root (``conduit.x`` -> ``x``)."""
    runtime, typing_only, _ = _script().graph(root)
    top = root.name

    def package(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "__init__"

    edges: dict[str, set[str]] = {}
    for module in runtime:
        for target in runtime[module] | typing_only[module]:
            if target.split(".")[0] == top and package(target) != package(module):
                edges.setdefault(package(module), set()).add(package(target))
    return edges


def _edges() -> dict[str, set[str]]:
    return package_edges(ROOT / "conduit")


def _below_app(edges: dict[str, set[str]]) -> set[str]:
    every = set(edges) | {p for targets in edges.values() for p in targets}
    return every - TOP


def test_sans_io_packages_never_import_a_face():
    edges = _edges()
    bad = {p: sorted(edges.get(p, set()) & FACES) for p in SANS_IO if edges.get(p, set()) & FACES}
    assert bad == {}, f"sans-IO packages importing a face: {bad}"


def test_nothing_below_the_app_imports_it():
    edges = _edges()
    bad = {p: sorted(edges.get(p, set()) & {"app", "__init__", "cli"}) for p in _below_app(edges)
           if edges.get(p, set()) & {"app", "__init__", "cli"}}
    assert bad == {}, f"packages below the app importing it: {bad}"


def test_mcp_ml_and_vector_sit_above_the_core():
    edges = _edges()
    bad = {p: sorted(edges.get(p, set()) & ABOVE_CORE) for p in _below_app(edges)
           if edges.get(p, set()) & ABOVE_CORE}
    assert bad == {}, f"core packages importing mcp, ml or vector: {bad}"


def test_the_app_reaches_mcp_and_ml_only_inside_its_facade_methods():
    tree = ast.parse((ROOT / "conduit" / "app.py").read_text())
    deferred: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            deferred.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [(node.module or "")]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            package = name.removeprefix("conduit.").lstrip(".").split(".")[0]
            if package in ABOVE_CORE:
                found.append((package, id(node) in deferred, node.lineno))
    assert {package for package, _, _ in found} <= {"mcp", "ml"}, found
    assert all(inside for _, inside, _ in found), f"module-level imports of mcp/ml in app.py: {found}"


def test_the_layer_check_sees_a_violation(tmp_path):
    """The checker itself: ``http`` importing ``server`` inside a function is an edge."""
    package = tmp_path / "pkg"
    for sub in ("http", "server"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "http" / "codec.py").write_text("def f():\n    from ..server import loop\n    return loop\n")
    (package / "server" / "loop.py").write_text("x = 1\n")
    assert package_edges(package) == {"http": {"server"}}
