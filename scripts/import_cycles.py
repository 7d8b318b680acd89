"""Import cycles between the modules of a package: ``python scripts/import_cycles.py [conduit]``.

Every ``import`` and ``from ... import`` is an edge, at module level or inside a
function (a deferred import still ties the two modules together), except those
under ``if TYPE_CHECKING:``, which are listed apart as type-only. A cycle is a
strongly connected group of modules; each group is printed with one cycle through it.
It also lists imports of another package's private names (``from ..pkg._x import``,
``from ..pkg.mod import _name``). Exit status: the number of runtime cycles.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _private_uses(module: str, target: str, names: list[str], modules: dict) -> list[str]:
    """Private parts of ``target`` (a ``_module`` or a ``_name``) used from outside their package."""
    out = []
    parts = target.split(".")
    for i, part in enumerate(parts):
        owner = ".".join(parts[:i])
        if part.startswith("_") and not part.startswith("__") and not _inside(module, owner):
            out.append(f"{module} imports {target}")
    for name in names:
        if name.startswith("_") and not name.startswith("__"):
            owner = target if target + ".__init__" in modules or _is_package(target, modules) else target.rpartition(".")[0]
            if not _inside(module, owner):
                out.append(f"{module} imports {name} from {target}")
    return out


def _is_package(name: str, modules: dict) -> bool:
    return modules.get(name, Path()).name == "__init__.py"


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def graph(root: Path) -> tuple[dict, dict, list]:
    modules = {_module_name(root, p): p for p in root.rglob("*.py")}
    runtime: dict[str, set[str]] = {m: set() for m in modules}
    typing_only: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        guarded = _type_checking_lines(tree)
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Import):
                targets = [(a.name, []) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node)
                subs = [a.name for a in node.names if f"{base}.{a.name}" in modules]
                targets = [(f"{base}.{name}", []) for name in subs]
                if len(subs) < len(node.names):  # names defined in ``base`` itself
                    targets.append((base, [a.name for a in node.names if a.name not in subs]))
            for target, names in targets:
                if target not in modules or target == module:
                    continue
                (typing_only if node.lineno in guarded else runtime)[module].add(target)
                private.extend(_private_uses(module, target, names, modules))
    return runtime, typing_only, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 10_000))
    try:  # restored: a caller's own depth checks (JSON nesting, say) must not see ours
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(previous)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "conduit").resolve()
    runtime, typing_only, private = graph(root)
    found = cycles(runtime)
    both = {m: runtime[m] | typing_only[m] for m in runtime}
    type_only = [g for g in cycles(both) if g not in found]
    lines = sum(len(p.read_text().splitlines()) for p in root.rglob("*.py"))
    print(f"{root.name}: {len(runtime)} modules, {lines} lines")
    print(f"runtime import cycles: {len(found)}")
    for group in found:
        print("  " + " <-> ".join(group))
    print(f"type-only import cycles: {len(type_only)}")
    for group in type_only:
        print("  " + " <-> ".join(group))
    print(f"imports of another package's private names: {len(private)}")
    for line in private:
        print("  " + line)
    return len(found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
