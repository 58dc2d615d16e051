"""Seams of the package: private names imported across modules, and import cycles.

Prints one line per problem and exits 1 when there is any (0 otherwise):

- ``PRIVATE a.b imports _name from c.d``: a module uses another module's private name
  (or a private module);
- ``CYCLE a -> b -> a``: modules that import each other, directly or through others
  (imports inside functions count: they are dependencies too).

A package's ``__init__`` is treated as the package itself; importing a submodule of one's
own package through the package is not a cycle unless the submodule imports back.

Run: ``python tools/check_imports.py [package_dir]`` (default: ``naheo_spec``).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, name: str, is_pkg: bool) -> list[tuple[str, str | None]]:
    """(module imported, name imported from it or None) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    base = name if is_pkg else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                mod = ".".join(anchor + ([mod] if mod else []))
            out += [(mod, a.name) for a in node.names]
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "naheo_spec").resolve()
    top = root.name
    modules = {}
    for path in sorted(root.rglob("*.py")):
        modules[module_name(path, root)] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    problems = []
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for target, name in imports(path, mod, is_pkg):
            if not target.startswith(top):
                continue
            full = f"{target}.{name}" if name and f"{target}.{name}" in modules else target
            if full not in modules:
                continue
            private_mod = any(p.startswith("_") and not p.startswith("__")
                              for p in full.split("."))
            private_name = name is not None and name.startswith("_") and not name.startswith("__") \
                and full == target
            if full != mod and (private_mod or private_name):
                problems.append(f"PRIVATE {mod} imports {name or full} from {target}")
            if full != mod:
                graph[mod].add(full)
    # cycles: strongly connected components (Tarjan), packages' __init__ excluded from
    # being a cycle through their own children (importing the package runs its __init__)
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    for comp in sccs:
        problems.append("CYCLE " + " <-> ".join(comp))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
