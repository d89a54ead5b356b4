"""The package layout, checked on the source's own syntax trees (Python's ``ast``): no module
reaches into another package's private names, and the packages import one another without
a cycle."""

from __future__ import annotations

import ast
import importlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "opencram"


@dataclass(frozen=True)
class Import:
    """One imported name: the module doing it, where, and what (``target`` is the dotted
    module imported from; ``name`` the imported name, or None for ``import a.b``)."""

    module: str
    file: Path
    line: int
    target: str
    name: str | None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def all_imports() -> list[Import]:
    """Every import of an ``opencram`` module anywhere in ``src/`` (module level, inside
    functions and classes, under ``if TYPE_CHECKING:`` alike)."""
    out: list[Import] = []
    for path in sorted((SRC / ROOT).rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.extend(
                    Import(module, path, node.lineno, a.name, None)
                    for a in node.names
                    if a.name.split(".")[0] == ROOT
                )
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, _is_package(path), node)
                if target.split(".")[0] == ROOT:
                    out.extend(
                        Import(module, path, node.lineno, target, a.name) for a in node.names
                    )
    return out


def package_of(module: str) -> str:
    """The part of opencram a module belongs to: its sub-package (``opencram.track``), or
    the top-level module itself (``opencram.fileio``), or ``opencram`` for the root."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _private_part(imp: Import) -> str | None:
    """The first underscore-named part (module or name) the import reaches, if any."""
    parts = imp.target.split(".")[1:] + ([imp.name] if imp.name and imp.name != "*" else [])
    for part in parts:
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return part
    return None


def _where(imp: Import) -> str:
    what = f"from {imp.target} import {imp.name}" if imp.name else f"import {imp.target}"
    return f"{imp.file.relative_to(SRC.parent)}:{imp.line}: {what}"


def test_no_module_imports_another_packages_private_names():
    """No module imports an underscore name (a private module such as ``_kernels``, or a
    private function or constant such as ``_fit_design``) from another part of opencram;
    within one sub-package it is allowed. Dunder names (``__version__``) are public.
    Imports inside functions count as much as those at the top."""
    offenders = [
        _where(imp)
        for imp in all_imports()
        if _private_part(imp) and package_of(imp.target) != package_of(imp.module)
    ]
    assert not offenders, "imports of another package's private names:\n" + "\n".join(offenders)


Graph = dict[str, dict[str, list[Import]]]
"""part -> part it imports from -> the imports making that edge"""


def package_graph() -> Graph:
    """Directed graph of opencram's parts (sub-packages and top-level modules; see
    :func:`package_of`): an edge A -> B for every import in A of something in B, whether
    the import is at module level, inside a function or under ``TYPE_CHECKING``. Each
    edge keeps the imports that make it. ``from opencram import X`` counts as an import
    of ``opencram.X`` when X is a module or package."""
    graph: Graph = {}
    for imp in all_imports():
        target = imp.target
        if target == ROOT and imp.name and _is_part(imp.name):
            target = f"{ROOT}.{imp.name}"
        a, b = package_of(imp.module), package_of(target)
        graph.setdefault(a, {})
        graph.setdefault(b, {})
        if a != b:
            graph[a].setdefault(b, []).append(imp)
    return graph


def _is_part(name: str) -> bool:
    return (SRC / ROOT / name).is_dir() or (SRC / ROOT / f"{name}.py").is_file()


def _reachable(graph: Graph, start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for b in graph[stack.pop()]:
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def cycle_groups(graph: Graph) -> list[list[str]]:
    """The groups of parts that import one another in a circle (strongly connected
    components of more than one part), each sorted."""
    reach = {a: _reachable(graph, a) for a in graph}
    groups = {frozenset(b for b in reach[a] if a in reach[b]) for a in graph}
    return sorted(sorted(g) for g in groups if len(g) > 1)


def a_cycle(graph: Graph, group: list[str]) -> list[str]:
    """One shortest cycle through the first part of a group, as the parts in order."""
    start = group[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        a = queue.pop(0)
        for b in sorted(graph[a]):
            if b == start:
                return [*paths[a], start]
            if b in group and b not in paths:
                paths[b] = [*paths[a], b]
                queue.append(b)
    raise AssertionError(f"no cycle through {start}")


def test_no_import_cycle_between_packages():
    """The graph of imports between opencram's sub-packages and top-level modules, built
    from every ``import`` in ``src/`` - at module level AND inside functions (a deferred
    import is still a dependency), and under ``TYPE_CHECKING`` - has no cycle. On failure
    every group of parts importing one another in a circle is listed, with one cycle
    through it and the imports making each edge of that cycle."""
    graph = package_graph()
    report = []
    for group in cycle_groups(graph):
        cycle = a_cycle(graph, group)
        report.append(f"cycle among {', '.join(group)}: " + " -> ".join(cycle))
        for a, b in itertools.pairwise(cycle):
            report.extend(f"  {a} -> {b}: {_where(i)}" for i in graph[a][b])
    assert not report, "import cycles between packages:\n" + "\n".join(report)


def test_cycle_finder_on_a_small_graph():
    """The cycle finder itself: a -> b -> c -> a is one group, d (imported only) none."""
    imp = Import("x", Path(), 1, "y", None)
    graph: Graph = {"a": {"b": [imp]}, "b": {"c": [imp]}, "c": {"a": [imp], "d": [imp]}, "d": {}}
    assert cycle_groups(graph) == [["a", "b", "c"]]
    assert a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert cycle_groups({"a": {"b": [imp]}, "b": {}}) == []


@pytest.mark.parametrize(
    "module, target, name, private",
    [
        ("opencram.c2.stages", "opencram.engage.firecontrol", "_fit_design", "_fit_design"),
        ("opencram.c2.stages", "opencram.track", "_kernels", "_kernels"),
        ("opencram.c2.stages", "opencram.track._kernels", None, "_kernels"),
        ("opencram.track.output", "opencram", "__version__", None),
    ],
)
def test_private_part_finds_underscore_modules_and_names(module, target, name, private):
    """The checker itself, on the three spellings of a private import and a dunder."""
    assert _private_part(Import(module, Path(), 1, target, name)) == private


def packages() -> list[str]:
    """Every package of opencram: each folder under ``src/opencram`` holding Python files
    (data and template folders hold none), the root included."""
    folders = [SRC / ROOT, *(p for p in (SRC / ROOT).rglob("*") if p.is_dir())]
    return sorted(
        ".".join(p.relative_to(SRC).parts)
        for p in folders
        if p.name != "__pycache__" and any(p.glob("*.py"))
    )


@pytest.mark.parametrize("package", packages())
def test_every_package_says_what_it_holds_and_exports_its_names(package):
    """Each package has an ``__init__.py`` with a docstring and an ``__all__``, and every
    name in ``__all__`` is an attribute of the imported package."""
    init = SRC.joinpath(*package.split("."), "__init__.py")
    assert init.is_file(), f"{package} has no __init__.py"
    module = importlib.import_module(package)
    assert (module.__doc__ or "").strip(), f"{package}: __init__.py has no docstring"
    names = getattr(module, "__all__", None)
    assert isinstance(names, list), f"{package}: __init__.py defines no __all__ list"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{package}.__all__ names what the package lacks: {missing}"
