"""Write docs/api.md: every public name of ``conduit`` and ``conduit_kernels``, from its docstring.

    python scripts/api_reference.py           # rewrite docs/api.md
    python scripts/api_reference.py --check   # exit 1 if it is stale or a public name has no docstring

The public names are each package's ``__all__``. A class, function or kernel is documented
by its docstring (a Numba kernel by its Python function's), a constant or type alias by the
``#:`` comment above its assignment in the module that defines it, a module by its module
docstring. tests/test_api_reference.py runs ``--check``, so a public name without
documentation fails the suite, and so does a reference that no longer matches the code.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"
PACKAGES = ("conduit", "conduit_kernels")

HEADER = """# API reference

Every public name of `conduit` and `conduit_kernels` (their `__all__`), with the first
paragraph of its docstring and the module that defines it. Generated from the code by
`python scripts/api_reference.py`; `tests/test_api_reference.py` fails when a public name
has no documentation or this page is stale. The guides (one page per capability, see
[index.md](index.md)) show how the pieces fit together.
"""


def _target(obj: Any) -> Any:
    """What carries the docstring: a Numba dispatcher's Python function, else the object."""
    return getattr(obj, "py_func", obj)


def _defining_module(package: Any, name: str, obj: Any) -> str:
    lazy = getattr(package, "_LAZY", None) or getattr(package, "_EXPORTS", None) or {}
    if name in lazy:
        where = lazy[name]
        return where if "." in where else f"{package.__name__}.{where}"
    if inspect.ismodule(obj):
        return obj.__name__
    module = getattr(_target(obj), "__module__", None)
    return module or package.__name__


def _comment_doc(module_name: str, name: str) -> str:
    """The ``#:`` comment lines right above ``name = ...`` (or ``name: T = ...``) in the module's source."""
    try:
        source = inspect.getsource(importlib.import_module(module_name))
    except (OSError, TypeError, ImportError):
        return ""
    lines = source.splitlines()
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=")
    for index, line in enumerate(lines):
        if pattern.match(line):
            comments = []
            k = index - 1
            while k >= 0 and lines[k].startswith("#:"):
                comments.insert(0, lines[k][2:].strip())
                k -= 1
            return " ".join(comments)
    return ""


def documentation(package: Any, name: str) -> tuple[str, str, str]:
    """(kind, defining module, text) for one public name; text is empty when undocumented."""
    obj = getattr(package, name)
    module = _defining_module(package, name, obj)
    target = _target(obj)
    if inspect.ismodule(obj):
        return "module", module, inspect.getdoc(obj) or ""
    if inspect.isclass(target):
        return "class", module, (target.__dict__.get("__doc__") or "").strip() and inspect.getdoc(target) or ""
    if inspect.isfunction(target) or inspect.isbuiltin(target) or inspect.ismethod(target):
        return "function", module, inspect.getdoc(target) or ""
    text = _comment_doc(module, name)
    if not text:  # an alias re-exported from a submodule (``Middleware``): find the module that assigns it
        for candidate in sorted(m for m in sys.modules if m.startswith(package.__name__ + ".")):
            text = _comment_doc(candidate, name)
            if text:
                module = candidate
                break
    return "value", module, text


def _signature(package: Any, name: str) -> str:
    target = _target(getattr(package, name))
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        return ""
    try:
        text = str(inspect.signature(target))
    except (TypeError, ValueError):
        return ""
    text = re.sub(r"<(function|class|built-in function) ([\w.]+)[^>]*>", r"\2", text)  # no addresses: stable output
    return text if len(text) <= 160 else text[:157] + "..."


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n")[0].replace("\n", " ").strip()


def build() -> tuple[str, list[str]]:
    """(the page, the public names without documentation)."""
    out, missing = [HEADER], []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        out.append(f"\n## `{package_name}`\n")
        for name in sorted(package.__all__, key=str.lower):
            kind, module, text = documentation(package, name)
            if not text.strip():
                missing.append(f"{package_name}.{name}")
                continue
            out.append(f"\n### `{name}{_signature(package, name)}`\n")
            out.append(f"\n*{kind} in `{module}`*: {_first_paragraph(text)}\n")
    return "".join(out), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is stale or a name lacks docs")
    args = parser.parse_args(argv)
    page, missing = build()
    if missing:
        print("public names without a docstring (or a #: comment): " + ", ".join(missing), file=sys.stderr)
        return 1
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != page:
            print("docs/api.md is stale: run python scripts/api_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(page)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
