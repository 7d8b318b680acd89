"""The import graph of ``conduit`` (scripts/import_cycles.py): no new cycle, no private reach.

Module homes (issue 12): helpers moved to the module they belong in, so no two modules
import each other at run time, deferred imports inside functions included. What is
left is pinned here, exactly, so the graph cannot regress:

* runtime cycles: only those in ``PENDING``, each owned by a branch that removes it;
* type-only cycles (``if TYPE_CHECKING:`` imports): none. The last one, the MCP
  dispatcher's, went with issue 21: ``Call`` has its own module (``mcp/protocol/call.py``),
  which the handlers, paging, the task runner and ``Context`` name without importing
  the dispatcher, and ``Context`` no longer names ``MCPServer``;
* no module imports a private module or name of another package.

Which package may import which is pinned beside this, in ``test_package_layers.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Runtime cycles another branch of issue 12 removes. None is left: the ML request
#: prologue lives in ``ml/requests.py``, which serving and streaming both import.
PENDING: list[list[str]] = []


def _script():
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph():
    script = _script()
    runtime, typing_only, private = script.graph(ROOT / "conduit")
    found = script.cycles(runtime)
    both = {m: runtime[m] | typing_only[m] for m in runtime}
    type_only = [g for g in script.cycles(both) if g not in found]
    return found, type_only, private


def test_no_runtime_import_cycle_beyond_the_pending_ones():
    found, _, _ = _graph()
    new = [group for group in found if group not in PENDING]
    assert new == [], "new runtime import cycles: " + "; ".join(" <-> ".join(g) for g in new)


def test_no_type_only_import_cycle():
    _, type_only, _ = _graph()
    assert type_only == [], "type-only import cycles: " + "; ".join(" <-> ".join(g) for g in type_only)


def test_the_script_reports_zero_cycles_of_either_kind():
    """``python scripts/import_cycles.py conduit``, as the issue states the goal."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "import_cycles.py"), str(ROOT / "conduit")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "runtime import cycles: 0" in out.stdout
    assert "type-only import cycles: 0" in out.stdout


def test_no_module_imports_another_packages_private_names():
    _, _, private = _graph()
    assert private == []


def test_the_script_sees_a_cycle_and_a_private_import(tmp_path):
    """The checker itself: a deferred import closing a loop, and ``from ..b._x import``."""
    package = tmp_path / "pkg"
    (package / "b").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .c import g\n    return g\n")
    (package / "c.py").write_text("from .a import f\n")
    (package / "b" / "__init__.py").write_text("")
    (package / "b" / "_x.py").write_text("y = 1\n")
    (package / "d.py").write_text("from .b._x import y\n")
    script = _script()
    runtime, _, private = script.graph(package)
    assert script.cycles(runtime) == [["pkg.a", "pkg.c"]]
    assert private == ["pkg.d imports pkg.b._x"]
