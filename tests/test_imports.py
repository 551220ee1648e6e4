"""No import cycle anywhere in the package: every module's imports (at module level and inside
functions, relative ones resolved) are read with `ast`, without importing anything, and the
graph must have no cycle. A cycle that is only hidden by a function-level (lazy) import still
counts: it is the layering that is wrong, and the next edit that moves the import up breaks
the app at start. Imports under `if TYPE_CHECKING:` are left out (they never run).

Edges follow the usual rule of import graph tools: `import a.b` and `from a import b` (where
`a.b` is a module) point at `a.b`; `from a import name` points at `a` (its `__init__`). The
package `__init__`s that a submodule import runs first are not edges (a package is already
in `sys.modules` while its submodules load, so re-exports in an `__init__` are no cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = "mmsearch"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

Graph = Mapping[str, Iterable[str]]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every `.py` file of the package at `root`."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except in the body of `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _nearest_module(name: str, modules: Mapping[str, Path]) -> str | None:
    """`name`, or its nearest enclosing package that is one of `modules` (None: not ours)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The modules of `modules` that `module` (the file at `path`) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package that relative imports start from: the module's own package.
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise ValueError(f"{path}: relative import beyond the top-level package")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.append(sub if sub in modules else source)
        for target in targets:
            hit = _nearest_module(target, modules)
            if hit is not None and hit != module:
                found.add(hit)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports, for every module of the package."""
    modules = module_names(root, package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: Graph) -> list[list[str]]:
    """The graph's strongly connected components of more than one module, sorted
    (Tarjan's algorithm, iterative so a deep graph can't hit the recursion limit)."""
    nodes = set(graph) | {t for targets in graph.values() for t in targets}
    edges = {n: sorted(graph.get(n, ())) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:  # returning to the caller: pass the low link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def cycle_in(group: list[str], graph: Graph) -> list[str]:
    """One concrete cycle through the component `group`, as a path that ends where it
    starts: the shortest one back to the component's first module (breadth-first)."""
    members = set(group)
    start = group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target not in members:
                    continue
                if target == start:
                    back = [node]
                    while back[-1] != start:
                        back.append(came_from[back[-1]])
                    return [*reversed(back), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{group} is not strongly connected")


def cycles(graph: Graph) -> list[list[str]]:
    """One named cycle for each strongly connected component of the graph."""
    return [cycle_in(group, graph) for group in strongly_connected(graph)]


def describe(cycle: list[str]) -> str:
    return " -> ".join(cycle)


# ---- the detector can fail ----------------------------------------------------------------


def test_detector_finds_a_cycle_in_a_fake_graph() -> None:
    graph = {
        "p.a": {"p.b"},
        "p.b": {"p.c", "p.d"},
        "p.c": {"p.a"},  # a -> b -> c -> a
        "p.d": set(),
        "p.x": {"p.y"},
        "p.y": {"p.x"},  # x <-> y
    }
    assert strongly_connected(graph) == [["p.a", "p.b", "p.c"], ["p.x", "p.y"]]
    assert [describe(c) for c in cycles(graph)] == [
        "p.a -> p.b -> p.c -> p.a",
        "p.x -> p.y -> p.x",
    ]
    assert cycles({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": set()}) == []


def test_parser_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """A fake package whose only cycle goes through a function-level `from . import x`
    (level 2), and a package `__init__` re-export; a TYPE_CHECKING import makes no edge."""
    pkg = tmp_path / "fake"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .inner import VALUE\n")
    (pkg / "sub" / "inner.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from fake import top\n"
        "VALUE = 1\n"
        "def later():\n    from .. import top\n    return top\n"
    )
    (pkg / "top.py").write_text("import os\nfrom .sub import VALUE\n")
    graph = import_graph(pkg, "fake")
    assert graph == {
        "fake": set(),
        "fake.sub": {"fake.sub.inner"},
        "fake.sub.inner": {"fake.top"},
        "fake.top": {"fake.sub"},
    }
    assert [describe(c) for c in cycles(graph)] == [
        "fake.sub -> fake.sub.inner -> fake.top -> fake.sub"
    ]
    (pkg / "sub" / "inner.py").write_text("VALUE = 1\n")
    assert cycles(import_graph(pkg, "fake")) == []


# ---- the real package -----------------------------------------------------------------------

#: The layers below `services/` that both encoders and the index use; `devices` is the lowest.
LOW_LAYERS = ("mmsearch.encoders", "mmsearch.index")


def _within(module: str, scope: str) -> bool:
    return module == scope or module.startswith(scope + ".")


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "mmsearch.devices" in graph["mmsearch.index.matcher"]
    assert "mmsearch.devices" in graph["mmsearch.encoders.session"]
    assert "mmsearch.encoders.providers" not in graph  # moved to mmsearch.devices
    assert "mmsearch.media.gpu_decode" in graph["mmsearch.media.batch_decode"]  # a lazy import


def test_devices_imports_neither_encoders_nor_index() -> None:
    up = {m for m in import_graph()["mmsearch.devices"] if any(_within(m, s) for s in LOW_LAYERS)}
    assert not up, f"mmsearch.devices imports {sorted(up)}"


def test_no_import_cycle_in_the_package() -> None:
    found = [describe(c) for c in cycles(import_graph())]
    assert not found, "import cycle(s): " + "; ".join(found)
