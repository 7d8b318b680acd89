"""The lifecycle is below every face: it imports no server, ASGI or testing module, so a face
can only call it, never be called back into, and the request policy cannot depend on one face."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FACES = ("conduit.server", "conduit.asgi", "conduit.testing")


def _runtime_and_typing_imports() -> dict[str, set[str]]:
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    runtime, typing_only, _ = script.graph(ROOT / "conduit")
    return {m: runtime[m] | typing_only[m] for m in runtime}


def test_the_lifecycle_imports_no_face():
    imports = _runtime_and_typing_imports()
    lifecycle = [m for m in imports if m == "conduit.lifecycle" or m.startswith("conduit.lifecycle.")]
    assert lifecycle, "conduit.lifecycle not found"
    reached = {(m, target) for m in lifecycle for target in imports[m]
               if any(target == face or target.startswith(face + ".") for face in FACES)}
    assert reached == set()


def test_every_face_calls_the_lifecycle():
    imports = _runtime_and_typing_imports()
    for face in ("conduit.server.connection", "conduit.asgi.http"):
        assert any(t.startswith("conduit.lifecycle") for t in imports[face]), face
